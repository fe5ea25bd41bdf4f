package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gyre-cd/gyre/app"
)

// The CLI's unit tests run its commands in-process against fakeAPI, an
// httptest server that answers in the shapes of the API contract with
// canned data. They test the client, the flags, the output and the exit
// statuses; the server itself is tested in package web.

// fakeToken is the token fakeAPI accepts.
const fakeToken = "s3cret"

// fakeRequest is one request fakeAPI received.
type fakeRequest struct {
	Method, Path, Query string
	Body                []byte
}

// fakeAPI is a canned gyre API.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu sync.Mutex
	// apps are the Applications by "namespace/name"; GET returns the first
	// of the list and drops it while more follow, so a test can script how
	// an Application changes after a request.
	apps map[string][]*app.Application
	// diffs are raw bodies of GET .../diff by "namespace/name"; localDiffs
	// those of POST .../diff, which must send {"objects": [...]}.
	diffs, localDiffs map[string]string
	// revisionDiffs are raw bodies of GET .../diff?revision=REF and
	// manifests of GET .../manifests[?revision=REF], by
	// "namespace/name@REF". A diff without an entry answers with no items.
	revisionDiffs, manifests map[string]string
	// resources and operations are the complete lists GET .../resources
	// and GET .../operation answer with, by "namespace/name"; without an
	// entry, the status's.
	resources  map[string][]app.ResourceStatus
	operations map[string]*app.OperationState
	// trees are the nodes GET .../tree answers with, by "namespace/name";
	// without an entry, the status's resources. live and events are the
	// objects GET .../resource and the events GET .../events answer with,
	// by the object's key (app.ResourceKey.String()); 404 and none without.
	trees  map[string][]app.TreeNode
	live   map[string]map[string]any
	events map[string][]map[string]any
	// after, keyed "POST <path>", replaces an Application's script when that
	// request arrives.
	after map[string][]*app.Application
	// fail, keyed "METHOD <path>", answers with that status and message.
	fail     map[string]fakeFailure
	requests []fakeRequest
	pageSize int
}

type fakeFailure struct {
	status int
	body   string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, apps: map[string][]*app.Application{}, diffs: map[string]string{}, localDiffs: map[string]string{}, after: map[string][]*app.Application{}, fail: map[string]fakeFailure{},
		revisionDiffs: map[string]string{}, manifests: map[string]string{},
		resources: map[string][]app.ResourceStatus{}, operations: map[string]*app.OperationState{},
		trees: map[string][]app.TreeNode{}, live: map[string]map[string]any{}, events: map[string][]map[string]any{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// add sets the script of one Application: the states successive GETs see.
func (f *fakeAPI) add(states ...*app.Application) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := states[0]
	f.apps[a.Namespace+"/"+a.Name] = states
}

// then scripts the states an Application goes through after the request
// "POST <path>".
func (f *fakeAPI) then(request string, states ...*app.Application) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.after[request] = states
}

func (f *fakeAPI) received() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.requests...)
}

func (f *fakeAPI) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Errorf("fake API: encode: %v", err)
	}
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body := new(bytes.Buffer)
	body.ReadFrom(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, fakeRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body.Bytes()})
	if fl, ok := f.fail[r.Method+" "+r.URL.Path]; ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(fl.status)
		fmt.Fprint(w, fl.body)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+fakeToken {
		f.writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized: unknown token"})
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/applications")
	if !ok {
		f.writeJSON(w, http.StatusNotFound, map[string]string{"error": "no route " + r.URL.Path})
		return
	}
	if rest == "" && r.Method == http.MethodPost {
		f.create(w, r, body.Bytes())
		return
	}
	if rest == "" {
		f.list(w, r)
		return
	}
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	key := parts[0] + "/" + parts[1]
	script, ok := f.apps[key]
	if !ok {
		f.writeJSON(w, http.StatusNotFound, map[string]string{"error": "application " + key + " not found"})
		return
	}
	sub := ""
	if len(parts) > 2 {
		sub = parts[2]
	}
	switch {
	case r.Method == http.MethodGet && sub == "":
		a := script[0]
		if len(script) > 1 {
			f.apps[key] = script[1:]
		}
		f.writeJSON(w, http.StatusOK, a)
	case r.Method == http.MethodGet && sub == "diff":
		body := f.diffs[key]
		if rev := r.URL.Query().Get("revision"); rev != "" {
			body = f.revisionDiffs[key+"@"+rev]
		}
		if body == "" {
			body = `{"items":[],"outOfSync":0}`
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	case r.Method == http.MethodGet && sub == "manifests":
		body, ok := f.manifests[key+"@"+r.URL.Query().Get("revision")]
		if !ok {
			f.writeJSON(w, http.StatusBadRequest, map[string]string{"error": "render " + key + ": revision not found"})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	case r.Method == http.MethodGet && sub == "history":
		f.writeJSON(w, http.StatusOK, map[string]any{"items": script[0].Status.History})
	case r.Method == http.MethodGet && sub == "resources":
		items, ok := f.resources[key]
		if !ok {
			items = script[0].Status.Resources
		}
		f.writeJSON(w, http.StatusOK, map[string]any{"items": items, "summary": app.SummarizeResources(items)})
	case r.Method == http.MethodGet && sub == "operation":
		op, ok := f.operations[key]
		if !ok {
			op = script[0].Status.OperationState
		}
		f.writeJSON(w, http.StatusOK, map[string]any{"operationState": op})
	case r.Method == http.MethodGet && sub == "tree":
		nodes, ok := f.trees[key]
		if !ok {
			for _, rs := range script[0].Status.Resources {
				nodes = append(nodes, app.TreeNode{Key: rs.Key(), Version: rs.Version})
			}
		}
		f.writeJSON(w, http.StatusOK, map[string]any{"nodes": nodes})
	case r.Method == http.MethodGet && (sub == "resource" || sub == "events"):
		q := r.URL.Query()
		obj := app.ResourceKey{Group: q.Get("group"), Kind: q.Get("kind"), Namespace: q.Get("namespace"), Name: q.Get("name")}.String()
		live, ok := f.live[obj]
		switch {
		case sub == "events":
			f.writeJSON(w, http.StatusOK, map[string]any{"items": f.events[obj]})
		case !ok:
			f.writeJSON(w, http.StatusNotFound, map[string]string{"error": obj + " not found"})
		default:
			f.writeJSON(w, http.StatusOK, live)
		}
	case r.Method == http.MethodPost && sub == "diff":
		var req struct {
			Objects []map[string]any `json:"objects"`
		}
		if err := json.Unmarshal(body.Bytes(), &req); err != nil || req.Objects == nil {
			f.writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("body: want {\"objects\": [...]}: %v", err)})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, f.localDiffs[key])
	case r.Method == http.MethodDelete && sub == "":
		delete(f.apps, key)
		f.writeJSON(w, http.StatusOK, map[string]bool{"deleted": true, "cascade": r.URL.Query().Get("cascade") != "false"})
	case r.Method == http.MethodPatch && sub == "":
		f.writeJSON(w, http.StatusOK, script[0])
	case r.Method == http.MethodPost:
		if next, ok := f.after["POST "+r.URL.Path]; ok {
			f.apps[key] = next
		}
		f.writeJSON(w, http.StatusAccepted, map[string]bool{"accepted": true})
	default:
		f.writeJSON(w, http.StatusNotFound, map[string]string{"error": "no route " + r.URL.Path})
	}
}

// create answers POST /api/v1/applications: 409 when the Application
// exists (unless upsert=true), else 201 with it, which it adds.
func (f *fakeAPI) create(w http.ResponseWriter, r *http.Request, body []byte) {
	a := &app.Application{}
	if err := json.Unmarshal(body, a); err != nil {
		f.writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()})
		return
	}
	key := a.Namespace + "/" + a.Name
	if _, ok := f.apps[key]; ok && r.URL.Query().Get("upsert") != "true" {
		f.writeJSON(w, http.StatusConflict, map[string]string{"error": "create application " + key + ": already exists"})
		return
	}
	f.apps[key] = []*app.Application{a}
	f.writeJSON(w, http.StatusCreated, a)
}

// list answers GET /api/v1/applications from the first state of each
// Application, pageSize at a time.
func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request) {
	var items []map[string]any
	for _, key := range sortedKeys(f.apps) {
		a := f.apps[key][0]
		if q := r.URL.Query().Get("sync"); q != "" && q != string(a.Status.Sync.Status) {
			continue
		}
		item := map[string]any{
			"namespace": a.Namespace, "name": a.Name, "repoURL": a.Spec.Source.RepoURL, "path": a.Spec.Source.Path,
			"revision": a.Status.Sync.Revision, "syncStatus": a.Status.Sync.Status, "healthStatus": a.Status.Health.Status,
			"automated": a.IsAutomated(), "futureField": "kept",
		}
		if h := a.Status.History; len(h) > 0 {
			item["lastSyncedAt"] = h[len(h)-1].DeployedAt
		}
		items = append(items, item)
	}
	start := 0
	fmt.Sscan(r.URL.Query().Get("continue"), &start)
	end, next := len(items), ""
	if f.pageSize > 0 && start+f.pageSize < len(items) {
		end, next = start+f.pageSize, fmt.Sprint(start+f.pageSize)
	}
	f.writeJSON(w, http.StatusOK, map[string]any{"items": items[start:end], "continue": next, "total": len(items)})
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// testNow is the clock of the commands under test.
func testNow() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// cliRun is the outcome of one command.
type cliRun struct {
	stdout, stderr string
	code           int
}

// runCLI runs the app and login commands in-process, against the fake's
// URL and token unless args say otherwise, with env as the environment and
// a config file in a temporary directory (--config).
func runCLI(t *testing.T, env map[string]string, args ...string) cliRun {
	t.Helper()
	cli := newCLIOptions()
	cli.getenv = func(k string) string { return env[k] }
	cli.now = testNow
	cli.poll = time.Millisecond
	root := &cobra.Command{Use: "gyre", SilenceUsage: true, SilenceErrors: true}
	cli.addFlags(root.PersistentFlags())
	root.AddCommand(newAppCommand(cli), newLoginCommand(cli), newRenderCommand(cli))
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetIn(strings.NewReader("")) // never the terminal go test may run in
	if !hasFlag(args, "--config") {
		args = append(args, "--config", filepath.Join(t.TempDir(), "config.yaml"))
	}
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := exitStatus(root.ExecuteContext(ctx), &stderr)
	return cliRun{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// against returns args with the fake's server and token added.
func (f *fakeAPI) against(args ...string) []string {
	return append(args, "--server", f.srv.URL, "--token", fakeToken)
}

// testApp returns a Synced, Healthy Application with history and three
// managed objects.
func testApp(namespace, name string) *app.Application {
	deployed := metav1.NewTime(testNow().Add(-5 * time.Minute))
	return &app.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: "gyre.dev/v1alpha1", Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: app.Spec{
			Source:      app.Source{RepoURL: "https://git.example/" + name + ".git", Path: name, TargetRevision: "main"},
			Destination: app.Destination{Namespace: "demo-" + name},
			SyncPolicy:  &app.SyncPolicy{Automated: &app.AutomatedSync{Prune: true, SelfHeal: true}},
		},
		Status: app.Status{
			Sync:   app.SyncState{Status: app.Synced, Revision: "0123456789abcdef0123456789abcdef01234567"},
			Health: app.HealthState{Status: app.Healthy},
			Resources: []app.ResourceStatus{
				{Kind: "ConfigMap", Namespace: "demo-" + name, Name: name, Status: app.Synced},
				{Group: "apps", Kind: "Deployment", Namespace: "demo-" + name, Name: name, Status: app.Synced, Health: &app.HealthState{Status: app.Healthy}},
				{Kind: "Service", Namespace: "demo-" + name, Name: name, Status: app.Synced, Health: &app.HealthState{Status: app.Healthy}},
			},
			OperationState: &app.OperationState{
				Operation:  app.Operation{Sync: &app.SyncOperation{}, InitiatedBy: app.InitiatedBy{Automated: true}},
				Phase:      app.OperationSucceeded,
				Message:    "synced 0123456: 3 created",
				StartedAt:  deployed,
				FinishedAt: &deployed,
			},
			History: []app.HistoryEntry{
				{ID: 1, Revision: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", DeployedAt: metav1.NewTime(testNow().Add(-time.Hour)), InitiatedBy: app.InitiatedBy{Username: "admin"}},
				{ID: 2, Revision: "0123456789abcdef0123456789abcdef01234567", DeployedAt: deployed, InitiatedBy: app.InitiatedBy{Automated: true}},
			},
		},
	}
}

func TestAPIErrors(t *testing.T) {
	f := newFakeAPI(t)
	f.fail["GET /api/v1/applications/gyre/proxy"] = fakeFailure{http.StatusBadGateway, "<html>\nbad gateway</html>"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown token", []string{"app", "get", "x", "--server", f.srv.URL, "--token", "wrong"}, "gyre: unauthorized: unknown token (401 Unauthorized"},
		{"no token", []string{"app", "get", "x", "--server", f.srv.URL}, "401"},
		{"server message", f.against("app", "get", "missing"), "gyre: application gyre/missing not found\n"},
		{"not JSON", f.against("app", "get", "proxy"), "gyre: <html>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, tt.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, tt.want)
			}
			if strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr %q: want one line", r.stderr)
			}
		})
	}
}

func TestNormalizeServer(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
		{"127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"https://gyre.example/base/", "https://gyre.example/base"},
		{"ftp://x", ""},
		{"http://", ""},
	}
	for _, tt := range tests {
		got, err := normalizeServer(tt.in)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("normalizeServer(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestListFollowsPages(t *testing.T) {
	f := newFakeAPI(t)
	f.pageSize = 2
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		f.add(testApp("gyre", n))
	}
	cl, err := newAPIClient(f.srv.URL, fakeToken)
	if err != nil {
		t.Fatal(err)
	}
	items, raw, err := cl.listApplications(context.Background(), listQuery{Sync: "Synced"})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 5 || len(raw) != 5 || items[4].Name != "e" {
		t.Fatalf("got %d items (%d raw), want 5 ending in e: %+v", len(items), len(raw), items)
	}
	var lists int
	for _, r := range f.received() {
		if r.Path == "/api/v1/applications" {
			lists++
			if !strings.Contains(r.Query, "sync=Synced") {
				t.Errorf("query %q lacks the sync filter", r.Query)
			}
		}
	}
	if lists != 3 {
		t.Errorf("%d list requests, want 3 pages", lists)
	}
}

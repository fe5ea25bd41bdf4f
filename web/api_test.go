package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// listFixture is 25 apps over two namespaces: every third OutOfSync, every
// fifth Degraded, the even ones labelled team=b.
func listFixture() *fakeBackend {
	b := newFakeBackend()
	for i := range 25 {
		ns := "team-a"
		if i >= 15 {
			ns = "team-b"
		}
		a := testApp(ns, fmt.Sprintf("app-%02d", i), "https://git.example.com/org/repo.git", fmt.Sprintf("apps/%02d", i))
		if i%3 == 0 {
			a.Status.Sync.Status = app.OutOfSync
		}
		if i%5 == 0 {
			a.Status.Health = app.HealthState{Status: app.Degraded, Message: "crash loop"}
		}
		if i%2 == 0 {
			a.Labels["team"] = "b"
		}
		b.apps[a.Key()] = a
	}
	return b
}

func TestListFilters(t *testing.T) {
	ts := newTestServer(t, listFixture(), Options{})
	for _, tc := range []struct {
		name, query string
		want        int
	}{
		{"all", "", 25},
		{"namespace", "namespace=team-b", 10},
		{"name", "name=app-07", 1},
		{"sync", "sync=OutOfSync", 9},
		{"sync lower case", "sync=outofsync", 9},
		{"health", "health=Degraded", 5},
		{"health any of", "health=Degraded,Healthy", 25},
		{"sync and health", "sync=OutOfSync&health=Degraded", 2},
		{"label", "label=team%3Db", 13},
		{"label set", "label=team+in+(a,b)", 25},
		{"two labels", "label=team%3Db&label=team!%3Da", 13},
		{"search", "search=APPS/1", 10},
		{"search repo", "search=git.example", 25},
		{"search nothing", "search=zzz", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got AppList
			ts.getJSON(t, "/api/v1/applications?"+tc.query, &got)
			if got.Total != tc.want || len(got.Items) != tc.want || got.Continue != "" {
				t.Fatalf("total %d, items %d, continue %q; want %d", got.Total, len(got.Items), got.Continue, tc.want)
			}
		})
	}
}

// TestListWaiting: ?waiting=true lists the applications whose syncs wait
// for their dependencies (not ready, or missing or in a cycle), with whom
// they wait for; ?waiting=false the others.
func TestListWaiting(t *testing.T) {
	b := listFixture()
	now := time.Unix(100, 0)
	b.apps[types.NamespacedName{Namespace: "team-a", Name: "app-01"}].Status.SetCondition(app.ConditionDependencyWaiting,
		app.DependencyWaitingMessage([]string{"team-a/db (OutOfSync)", "gyre/cache (Progressing)"}, false), now)
	b.apps[types.NamespacedName{Namespace: "team-b", Name: "app-20"}].Status.SetCondition(app.ConditionDependencyError,
		"dependency cycle: team-b/app-20 → team-b/app-21 → team-b/app-20", now)
	ts := newTestServer(t, b, Options{})

	var got AppList
	ts.getJSON(t, "/api/v1/applications?waiting=true", &got)
	if got.Total != 2 || len(got.Items) != 2 {
		t.Fatalf("waiting=true: total %d, items %d; want 2", got.Total, len(got.Items))
	}
	first, second := got.Items[0], got.Items[1]
	if first.Name != "app-01" || !first.Waiting || !slices.Equal(first.WaitingFor, []string{"team-a/db (OutOfSync)", "gyre/cache (Progressing)"}) {
		t.Errorf("first = %s waiting %v for %q; want app-01 waiting for db and cache", first.Name, first.Waiting, first.WaitingFor)
	}
	if second.Name != "app-20" || !second.Waiting || second.WaitingFor != nil {
		t.Errorf("second = %s waiting %v for %q; want app-20 waiting, for no one ready-able", second.Name, second.Waiting, second.WaitingFor)
	}
	ts.getJSON(t, "/api/v1/applications?waiting=false", &got)
	if got.Total != 23 || slices.ContainsFunc(got.Items, func(s AppSummary) bool { return s.Waiting }) {
		t.Errorf("waiting=false: total %d; want 23, none waiting", got.Total)
	}
	ts.getJSON(t, "/api/v1/applications?waiting=true&namespace=team-b", &got)
	if got.Total != 1 {
		t.Errorf("waiting=true&namespace=team-b: total %d, want 1", got.Total)
	}
	if code, body := ts.do(t, http.MethodGet, "/api/v1/applications?waiting=soon", adminToken, ""); code != http.StatusBadRequest || !strings.Contains(body, "waiting") {
		t.Errorf("waiting=soon: %d %s; want 400 naming waiting", code, body)
	}
}

func TestListPagination(t *testing.T) {
	ts := newTestServer(t, listFixture(), Options{})
	var names []string
	cont, pages := "", 0
	for {
		q := url.Values{"limit": {"10"}, "sync": {"Synced"}}
		if cont != "" {
			q.Set("continue", cont)
		}
		var page AppList
		ts.getJSON(t, "/api/v1/applications?"+q.Encode(), &page)
		if page.Total != 16 {
			t.Fatalf("page %d: total %d, want 16", pages, page.Total)
		}
		for _, it := range page.Items {
			names = append(names, it.Namespace+"/"+it.Name)
		}
		pages++
		if cont = page.Continue; cont == "" {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if pages != 2 || len(names) != 16 {
		t.Fatalf("%d pages, %d items; want 2 pages, 16 items", pages, len(names))
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Fatalf("not sorted or repeated: %s before %s", names[i-1], names[i])
		}
	}

	code, body := ts.do(t, http.MethodGet, "/api/v1/applications?continue=%21%21", adminToken, "")
	wantError(t, code, body, http.StatusBadRequest, "continue")
	code, body = ts.do(t, http.MethodGet, "/api/v1/applications?limit=-1", adminToken, "")
	wantError(t, code, body, http.StatusBadRequest, "limit")
	code, body = ts.do(t, http.MethodGet, "/api/v1/applications?label=%3D%3D", adminToken, "")
	wantError(t, code, body, http.StatusBadRequest, "label")
}

// TestListContinueAfterDelete: the token names the last item, so a page
// boundary survives that item's deletion.
func TestListContinueAfterDelete(t *testing.T) {
	b := listFixture()
	ts := newTestServer(t, b, Options{})
	var first AppList
	ts.getJSON(t, "/api/v1/applications?limit=5", &first)
	last := first.Items[4]
	b.remove(types.NamespacedName{Namespace: last.Namespace, Name: last.Name})
	var second AppList
	ts.getJSON(t, "/api/v1/applications?limit=5&continue="+first.Continue, &second)
	if second.Items[0].Name != "app-05" || second.Total != 24 {
		t.Fatalf("second page starts at %s of %d, want app-05 of 24", second.Items[0].Name, second.Total)
	}
}

// TestListSeesChanges: the API reuses its sorted copy of the applications
// only until the backend reports a change.
func TestListSeesChanges(t *testing.T) {
	b := listFixture()
	ts := newTestServer(t, b, Options{})
	var before AppList
	ts.getJSON(t, "/api/v1/applications?health=Missing", &before)
	changed := *b.apps[types.NamespacedName{Namespace: "team-a", Name: "app-01"}]
	changed.Status.Health = app.HealthState{Status: app.Missing}
	b.put(&changed)
	b.put(testApp("team-a", "new", "https://git.example.com/org/repo.git", ""))
	var after AppList
	ts.getJSON(t, "/api/v1/applications?health=Missing", &after)
	var all AppList
	ts.getJSON(t, "/api/v1/applications", &all)
	if before.Total != 0 || after.Total != 1 || all.Total != 26 {
		t.Fatalf("Missing before %d, after %d, all %d; want 0, 1, 26", before.Total, after.Total, all.Total)
	}
}

func TestSummary(t *testing.T) {
	a := testApp("gyre", "guestbook", "https://git.example.com/org/repo.git", "guestbook")
	a.Spec.SyncPolicy = &app.SyncPolicy{Automated: &app.AutomatedSync{}}
	a.Status.AutomationSuspended = &app.AutomationSuspension{Reason: "rolled back"}
	finished := metav1.Unix(1700000000, 0)
	a.Status.OperationState = &app.OperationState{Phase: app.OperationSucceeded, FinishedAt: &finished}
	ts := newTestServer(t, newFakeBackend(a), Options{})
	var raw map[string]any
	ts.getJSON(t, "/api/v1/applications", &raw)
	item := raw["items"].([]any)[0].(map[string]any)
	for _, k := range []string{"namespace", "name", "repoURL", "path", "targetRevision", "revision", "syncStatus", "healthStatus", "healthMessage", "operationPhase", "lastSyncedAt", "automated", "suspended", "labels"} {
		if _, ok := item[k]; !ok {
			t.Errorf("summary has no %q: %v", k, item)
		}
	}
	if item["automated"] != true || item["suspended"] != true || item["operationPhase"] != "Succeeded" || item["revision"] != strings.Repeat("a", 40) {
		t.Errorf("summary = %v", item)
	}
}

func TestGetApplication(t *testing.T) {
	a := testApp("gyre", "guestbook", "https://git.example.com/org/repo.git", "guestbook")
	a.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "gyre"}}
	a.Status.History = []app.HistoryEntry{{ID: 1, Revision: "abc"}, {ID: 2, Revision: "def"}}
	b := newFakeBackend(a)
	b.trees[a.Key()] = []app.TreeNode{{Key: app.ResourceKey{Group: "apps", Kind: "Deployment", Namespace: "guestbook", Name: "web"}, Version: "v1"}}
	b.diffs = []diff.Result{
		{Key: app.ResourceKey{Kind: "Service", Name: "web"}, Status: diff.OutOfSync, Diff: "--- live\n+++ desired\n"},
		{Key: app.ResourceKey{Kind: "ConfigMap", Name: "cfg"}, Status: diff.InSync},
	}
	ts := newTestServer(t, b, Options{})

	var got map[string]any
	ts.getJSON(t, "/api/v1/applications/gyre/guestbook", &got)
	meta := got["metadata"].(map[string]any)
	if got["apiVersion"] != "gyre.dev/v1alpha1" || got["kind"] != "Application" || meta["name"] != "guestbook" || meta["managedFields"] != nil || got["spec"] == nil || got["status"] == nil {
		t.Errorf("application = %v", got)
	}

	var tree TreeResponse
	ts.getJSON(t, "/api/v1/applications/gyre/guestbook/tree", &tree)
	if len(tree.Nodes) != 1 || tree.Nodes[0].Key.Kind != "Deployment" {
		t.Errorf("tree = %+v", tree)
	}

	var d DiffResponse
	ts.getJSON(t, "/api/v1/applications/gyre/guestbook/diff", &d)
	if d.OutOfSync != 1 || len(d.Items) != 2 || d.Items[0].Diff == "" {
		t.Errorf("diff = %+v", d)
	}

	var h HistoryResponse
	ts.getJSON(t, "/api/v1/applications/gyre/guestbook/history", &h)
	if len(h.Items) != 2 || h.Items[1].ID != 2 {
		t.Errorf("history = %+v", h)
	}
}

func TestUnknownApplication(t *testing.T) {
	ts := newTestServer(t, newFakeBackend(), Options{})
	for _, p := range []string{"", "/tree", "/diff", "/history", "/resource?kind=Pod&name=x", "/events?kind=Pod&name=x"} {
		code, body := ts.do(t, http.MethodGet, "/api/v1/applications/gyre/nope"+p, adminToken, "")
		wantError(t, code, body, http.StatusNotFound, "gyre/nope")
	}
	code, body := ts.do(t, http.MethodPost, "/api/v1/applications/gyre/nope/sync", adminToken, "{}")
	wantError(t, code, body, http.StatusNotFound, "gyre/nope")
}

func TestNoRoute(t *testing.T) {
	ts := newTestServer(t, newFakeBackend(), Options{})
	code, body := ts.do(t, http.MethodGet, "/api/v1/nothing", adminToken, "")
	wantError(t, code, body, http.StatusNotFound, "no route")
	code, body = ts.do(t, http.MethodPut, "/api/v1/applications", adminToken, "")
	wantError(t, code, body, http.StatusMethodNotAllowed, "not allowed")
}

func TestOperations(t *testing.T) {
	a := testApp("gyre", "guestbook", "https://git.example.com/org/repo.git", "guestbook")
	a.Status.History = []app.HistoryEntry{{ID: 3, Revision: "abc"}}
	b := newFakeBackend(a)
	ts := newTestServer(t, b, Options{})
	const base = "/api/v1/applications/gyre/guestbook/"
	for _, tc := range []struct {
		name, path, body string
		wantCode         int
		wantErr          string
	}{
		{"sync empty body", "sync", "", http.StatusAccepted, ""},
		{"sync", "sync", `{"revision": "v2", "prune": true, "dryRun": true, "resources": [{"kind": "Service", "name": "web"}]}`, http.StatusAccepted, ""},
		{"sync unknown field", "sync", `{"revison": "v2"}`, http.StatusBadRequest, `unknown field "revison"`},
		{"sync wrong type", "sync", `{"prune": "yes"}`, http.StatusBadRequest, `field "prune" must be a boolean`},
		{"sync nested wrong type", "sync", `{"resources": [{"kind": 1}]}`, http.StatusBadRequest, `field "resources.kind" must be a string`},
		{"sync resource without name", "sync", `{"resources": [{"kind": "Service"}]}`, http.StatusBadRequest, "resources[0]"},
		{"sync not an object", "sync", `[]`, http.StatusBadRequest, "must be an object"},
		{"sync bad JSON", "sync", `{"prune": tru}`, http.StatusBadRequest, "invalid JSON"},
		{"sync truncated", "sync", `{"prune": true`, http.StatusBadRequest, "invalid JSON"},
		{"sync trailing data", "sync", `{} {}`, http.StatusBadRequest, "after the JSON object"},
		{"rollback", "rollback", `{"id": 3, "prune": true}`, http.StatusAccepted, ""},
		{"rollback unknown id", "rollback", `{"id": 7}`, http.StatusBadRequest, "no history entry with id 7"},
		{"rollback without id", "rollback", `{}`, http.StatusBadRequest, `field "id" is required`},
		{"rollback id not a number", "rollback", `{"id": "3"}`, http.StatusBadRequest, `field "id" must be a number`},
		{"resume", "resume", "", http.StatusAccepted, ""},
		{"resume with a field", "resume", `{"force": true}`, http.StatusBadRequest, `unknown field "force"`},
		{"refresh", "refresh", "", http.StatusAccepted, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := ts.do(t, http.MethodPost, base+tc.path, adminToken, tc.body)
			if tc.wantErr != "" {
				wantError(t, code, body, tc.wantCode, tc.wantErr)
				return
			}
			if code != tc.wantCode || !strings.Contains(body, `"accepted":true`) {
				t.Fatalf("%d %s", code, body)
			}
		})
	}
	requests, refreshed, _, _ := b.snapshot()
	if len(requests) != 4 || len(refreshed) != 1 {
		t.Fatalf("requests %+v, refreshed %v", requests, refreshed)
	}
	sync := requests[1].Sync
	if sync == nil || sync.Revision != "v2" || !sync.Prune || !sync.DryRun || len(sync.Resources) != 1 || requests[1].InitiatedBy.Username != "alice" {
		t.Errorf("sync request = %+v", requests[1])
	}
	if rb := requests[2].Rollback; rb == nil || rb.ID != 3 || !rb.Prune {
		t.Errorf("rollback request = %+v", requests[2])
	}
	if requests[3].Resume == nil {
		t.Errorf("resume request = %+v", requests[3])
	}
}

func TestOperationConflict(t *testing.T) {
	b := newFakeBackend(testApp("gyre", "guestbook", "https://git.example.com/org/repo.git", "guestbook"))
	b.requestErr = fmt.Errorf("application gyre/guestbook: %w", ErrOperationInProgress)
	ts := newTestServer(t, b, Options{})
	code, body := ts.do(t, http.MethodPost, "/api/v1/applications/gyre/guestbook/sync", adminToken, "{}")
	wantError(t, code, body, http.StatusConflict, "already in progress")

	b.requestErr = fmt.Errorf("sync: %w", errors.Join(ErrBadRequest, errors.New("revision must not be empty")))
	code, body = ts.do(t, http.MethodPost, "/api/v1/applications/gyre/guestbook/sync", adminToken, "{}")
	wantError(t, code, body, http.StatusBadRequest, "revision must not be empty")

	b.requestErr = errors.New("apiserver unavailable")
	code, body = ts.do(t, http.MethodPost, "/api/v1/applications/gyre/guestbook/sync", adminToken, "{}")
	wantError(t, code, body, http.StatusInternalServerError, "apiserver unavailable")
}

func TestBodyTooLarge(t *testing.T) {
	ts := newTestServer(t, newFakeBackend(testApp("gyre", "guestbook", "https://git.example.com/org/repo.git", "")), Options{})
	big := `{"revision": "` + strings.Repeat("x", maxAPIBody) + `"}`
	code, body := ts.do(t, http.MethodPost, "/api/v1/applications/gyre/guestbook/sync", adminToken, big)
	wantError(t, code, body, http.StatusRequestEntityTooLarge, "larger than")
}

func TestResourceAndEvents(t *testing.T) {
	a := testApp("gyre", "guestbook", "https://git.example.com/org/repo.git", "guestbook")
	b := newFakeBackend(a)
	secretKey := app.ResourceKey{Kind: "Secret", Namespace: "guestbook", Name: "db"}
	cmKey := app.ResourceKey{Kind: "ConfigMap", Namespace: "guestbook", Name: "cfg"}
	podKey := app.ResourceKey{Kind: "Pod", Namespace: "guestbook", Name: "web-1"}
	b.trees[a.Key()] = []app.TreeNode{{Key: secretKey, Version: "v1"}, {Key: cmKey, Version: "v1"}, {Key: podKey, Version: "v1"}}
	ts := newTestServer(t, b, Options{})
	ts.cluster.objects[secretKey] = &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "db", "namespace": "guestbook", "annotations": map[string]any{
			lastApplied: `{"data":{"password":"aHVudGVyMg=="}}`, "note": "kept",
		}},
		"data":       map[string]any{"password": "aHVudGVyMg==", "user": "YWRtaW4="},
		"stringData": map[string]any{"token": "plain"},
	}}
	ts.cluster.objects[cmKey] = &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "cfg", "namespace": "guestbook"},
		"data": map[string]any{"key": "visible"},
	}}
	older, newer := metav1.Unix(1000, 0), metav1.Unix(2000, 0)
	ts.cluster.events[podKey] = []corev1.Event{
		{Type: "Normal", Reason: "Scheduled", Message: "assigned", LastTimestamp: older},
		{Type: "Warning", Reason: "BackOff", Message: "restarting", Count: 4, LastTimestamp: newer},
	}

	code, body := ts.do(t, http.MethodGet, "/api/v1/applications/gyre/guestbook/resource?kind=Secret&namespace=guestbook&name=db&version=v1", readonlyToken, "")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	for _, secret := range []string{"aHVudGVyMg==", "YWRtaW4=", "plain"} {
		if strings.Contains(body, secret) {
			t.Errorf("secret value %q sent: %s", secret, body)
		}
	}
	var secret map[string]any
	_ = json.Unmarshal([]byte(body), &secret)
	if d := secret["data"].(map[string]any); d["password"] != maskedValue || d["user"] != maskedValue {
		t.Errorf("data = %v", d)
	}
	if !strings.Contains(body, `"note":"kept"`) {
		t.Errorf("other annotations dropped: %s", body)
	}
	if ts.cluster.objects[secretKey].Object["data"].(map[string]any)["password"] != "aHVudGVyMg==" {
		t.Error("masking changed the cluster's object")
	}

	_, body = ts.do(t, http.MethodGet, "/api/v1/applications/gyre/guestbook/resource?kind=ConfigMap&namespace=guestbook&name=cfg", readonlyToken, "")
	if !strings.Contains(body, `"key":"visible"`) {
		t.Errorf("ConfigMap masked: %s", body)
	}

	code, body = ts.do(t, http.MethodGet, "/api/v1/applications/gyre/guestbook/resource?kind=Secret&namespace=kube-system&name=admin", adminToken, "")
	wantError(t, code, body, http.StatusNotFound, "not part of application gyre/guestbook")
	code, body = ts.do(t, http.MethodGet, "/api/v1/applications/gyre/guestbook/resource?name=db", adminToken, "")
	wantError(t, code, body, http.StatusBadRequest, "kind and name are required")

	var ev EventsResponse
	ts.getJSON(t, "/api/v1/applications/gyre/guestbook/events?kind=Pod&namespace=guestbook&name=web-1", &ev)
	if len(ev.Items) != 2 || ev.Items[0].Reason != "BackOff" || ev.Items[0].Count != 4 || ev.Items[1].Count != 1 {
		t.Errorf("events = %+v", ev)
	}
}

func TestAuth(t *testing.T) {
	ts := newTestServer(t, newFakeBackend(testApp("gyre", "guestbook", "https://git.example.com/org/repo.git", "")), Options{})
	for _, tc := range []struct {
		name, method, path, token string
		want                      int
	}{
		{"no token", http.MethodGet, "/api/v1/applications", "", http.StatusUnauthorized},
		{"wrong token", http.MethodGet, "/api/v1/applications", "nope", http.StatusUnauthorized},
		{"token prefix", http.MethodGet, "/api/v1/applications", adminToken[:5], http.StatusUnauthorized},
		{"readonly reads", http.MethodGet, "/api/v1/applications", readonlyToken, http.StatusOK},
		{"readonly reads one", http.MethodGet, "/api/v1/applications/gyre/guestbook", readonlyToken, http.StatusOK},
		{"readonly syncs", http.MethodPost, "/api/v1/applications/gyre/guestbook/sync", readonlyToken, http.StatusForbidden},
		{"readonly refreshes", http.MethodPost, "/api/v1/applications/gyre/guestbook/refresh", readonlyToken, http.StatusForbidden},
		{"wrong token syncs", http.MethodPost, "/api/v1/applications/gyre/guestbook/sync", "nope", http.StatusUnauthorized},
		{"admin syncs", http.MethodPost, "/api/v1/applications/gyre/guestbook/sync", adminToken, http.StatusAccepted},
		{"version", http.MethodGet, "/api/v1/version", readonlyToken, http.StatusOK},
		{"healthz needs no token", http.MethodGet, "/healthz", "", http.StatusOK},
		{"metrics need no token", http.MethodGet, "/metrics", "", http.StatusOK},
		{"UI needs no token", http.MethodGet, "/", "", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := ts.do(t, tc.method, tc.path, tc.token, "")
			if code != tc.want {
				t.Fatalf("%d, want %d: %s", code, tc.want, body)
			}
			if code == http.StatusUnauthorized || code == http.StatusForbidden {
				wantError(t, code, body, tc.want, "")
			}
		})
	}
}

func TestReadyz(t *testing.T) {
	b := newFakeBackend()
	ts := newTestServer(t, b, Options{})
	if code, _ := ts.do(t, http.MethodGet, "/readyz", "", ""); code != http.StatusOK {
		t.Fatalf("ready backend: %d", code)
	}
	b.mu.Lock()
	b.ready = false
	b.mu.Unlock()
	if code, _ := ts.do(t, http.MethodGet, "/readyz", "", ""); code != http.StatusServiceUnavailable {
		t.Fatalf("backend not ready: %d", code)
	}
	if code, _ := ts.do(t, http.MethodGet, "/healthz", "", ""); code != http.StatusOK {
		t.Fatalf("healthz: %d", code)
	}
}

func TestUI(t *testing.T) {
	ts := newTestServer(t, newFakeBackend(), Options{})
	code, body := ts.do(t, http.MethodGet, "/", "", "")
	if code != http.StatusOK || !strings.Contains(strings.ToLower(body), "<html") {
		t.Fatalf("GET /: %d %.200s", code, body)
	}
	if code, _ := ts.do(t, http.MethodGet, "/ui/index.html", "", ""); code != http.StatusMovedPermanently && code != http.StatusOK {
		t.Fatalf("GET /ui/index.html: %d", code)
	}
	if code, _ := ts.do(t, http.MethodGet, "/ui/no-such-file.js", "", ""); code != http.StatusNotFound {
		t.Fatalf("GET /ui/no-such-file.js: %d", code)
	}
	if code, _ := ts.do(t, http.MethodGet, "/nothing-here", "", ""); code != http.StatusNotFound {
		t.Fatalf("GET /nothing-here: %d", code)
	}
}

func TestTokensFromSecret(t *testing.T) {
	good := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "gyre", Name: "tokens"}, Data: map[string][]byte{
		"admin.ci":           []byte("tok-ci\n"),
		"readonly.dashboard": []byte("tok-dash"),
	}}
	tokens, err := TokensFromSecret(good)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := tokens.Lookup("tok-ci"); !ok || id.Name != "ci" || id.Role != RoleAdmin || id.Projects != nil {
		t.Errorf("tok-ci = %+v, %v", id, ok)
	}
	if id, ok := tokens.Lookup("tok-dash"); !ok || id.Role != RoleReadonly {
		t.Errorf("tok-dash = %+v, %v", id, ok)
	}
	if _, ok := tokens.Lookup(""); ok {
		t.Error("empty token accepted")
	}
	for name, data := range map[string]map[string][]byte{
		"unknown role": {"root.me": []byte("x")},
		"no name":      {"admin": []byte("x")},
		"empty token":  {"admin.ci": []byte(" \n")},
		"same token":   {"admin.ci": []byte("x"), "readonly.d": []byte("x")},
	} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "gyre", Name: "tokens"}, Data: data}
		if _, err := TokensFromSecret(s); err == nil || !strings.HasPrefix(err.Error(), "secret gyre/tokens: key") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestKubeVerb(t *testing.T) {
	for _, tc := range []struct{ method, url, contentType, want string }{
		{"GET", "/api/v1/namespaces/x/pods", "", "list"},
		{"GET", "/api/v1/namespaces/x/pods/p", "", "get"},
		{"GET", "/api/v1/namespaces", "", "list"},
		{"GET", "/api/v1/namespaces/x", "", "get"},
		{"GET", "/apis/apps/v1/deployments?watch=true", "", "watch"},
		{"GET", "/apis/apps/v1/namespaces/x/deployments/d/status", "", "get"},
		{"GET", "/apis", "", "get"},
		{"GET", "/version", "", "get"},
		{"POST", "/api/v1/namespaces/x/configmaps", "", "create"},
		{"PUT", "/apis/gyre.dev/v1alpha1/namespaces/x/applications/a/status", "", "update"},
		{"PATCH", "/apis/apps/v1/namespaces/x/deployments/d?fieldManager=gyre", "application/apply-patch+yaml", "apply"},
		{"PATCH", "/apis/apps/v1/namespaces/x/deployments/d?dryRun=All&fieldManager=gyre", "application/apply-patch+yaml", "apply-dry-run"},
		{"PATCH", "/apis/apps/v1/namespaces/x/deployments/d", "application/merge-patch+json", "patch"},
		{"DELETE", "/api/v1/namespaces/x/pods/p", "", "delete"},
		{"DELETE", "/api/v1/namespaces/x/pods", "", "deletecollection"},
	} {
		req, _ := http.NewRequest(tc.method, "https://k8s"+tc.url, nil)
		req.Header.Set("Content-Type", tc.contentType)
		if got := kubeVerb(req); got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.method, tc.url, got, tc.want)
		}
	}
}

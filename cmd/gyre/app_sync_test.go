package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gyre-cd/gyre/app"
)

// operationStates scripts an Application through a sync that started at
// testNow: the state before the request (still served once, as a lagging
// cache would), pending, Running with the change set growing, and finally
// phase with all of changes.
func operationStates(before *app.Application, phase app.OperationPhase, message string, dryRun bool, changes ...app.Change) []*app.Application {
	pending := before.DeepCopy()
	pending.Operation = &app.Operation{Sync: &app.SyncOperation{}}
	states := []*app.Application{before, pending}
	start := metav1.NewTime(testNow())
	for i := 1; i <= len(changes); i++ {
		a := before.DeepCopy()
		a.Status.OperationState = &app.OperationState{
			Phase: app.OperationRunning, Message: "syncing", StartedAt: start,
			SyncResult: &app.ChangeSet{Revision: "feed", DryRun: dryRun, Resources: changes[:i]},
		}
		if i == len(changes) {
			fin := metav1.NewTime(testNow().Add(time.Second))
			a.Status.OperationState.Phase, a.Status.OperationState.Message, a.Status.OperationState.FinishedAt = phase, message, &fin
		}
		states = append(states, a)
	}
	return states
}

func guestbookChanges() []app.Change {
	return []app.Change{
		{Kind: "ConfigMap", Namespace: "demo-guestbook", Name: "guestbook", Action: app.ActionCreated, SyncPhase: app.SyncPhaseSync},
		{Kind: "Service", Namespace: "demo-guestbook", Name: "guestbook", Action: app.ActionConfigured, SyncPhase: app.SyncPhaseSync},
		{Group: "apps", Kind: "Deployment", Namespace: "demo-guestbook", Name: "guestbook", Action: app.ActionCreated, SyncPhase: app.SyncPhaseSync, Wave: 1},
	}
}

func lastBody(t *testing.T, f *fakeAPI, path string, v any) {
	t.Helper()
	for _, r := range f.received() {
		if r.Method == http.MethodPost && r.Path == path {
			if err := json.Unmarshal(r.Body, v); err != nil {
				t.Fatalf("POST %s body %s: %v", path, r.Body, err)
			}
			return
		}
	}
	t.Fatalf("no POST %s", path)
}

func TestAppSyncFollowsToTheEnd(t *testing.T) {
	f := newFakeAPI(t)
	before := testApp("gyre", "guestbook")
	f.add(before)
	f.then("POST /api/v1/applications/gyre/guestbook/sync", operationStates(before, app.OperationSucceeded, "synced feed: 2 created, 1 configured", false, guestbookChanges()...)...)

	r := runCLI(t, nil, f.against("app", "sync", "guestbook", "--prune", "--revision", "v2",
		"--resource", "Deployment/guestbook", "--resource", "Widget/w", "--resource", "example.com/Widget/x")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s\n%s", r.code, r.stderr, r.stdout)
	}
	want := []string{
		"gyre/guestbook: sync requested",
		"waiting for the reconciler",
		"  Sync wave 0: ConfigMap demo-guestbook/guestbook created",
		"gyre/guestbook: Running: syncing",
		"  Sync wave 0: Service demo-guestbook/guestbook configured",
		"  Sync wave 1: Deployment demo-guestbook/guestbook created",
		"gyre/guestbook: Succeeded: synced feed",
		"KIND", "ACTION",
		"Deployment  demo-guestbook  guestbook  created",
	}
	rest := r.stdout
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("stdout lacks %q after the earlier lines:\n%s", w, r.stdout)
		}
		rest = rest[i+len(w):]
	}
	if strings.Count(r.stdout, "ConfigMap demo-guestbook/guestbook created") != 1 {
		t.Errorf("progress lines repeated:\n%s", r.stdout)
	}

	var body syncRequest
	lastBody(t, f, "/api/v1/applications/gyre/guestbook/sync", &body)
	wantRes := []app.ResourceKey{
		{Group: "apps", Kind: "Deployment", Namespace: "demo-guestbook", Name: "guestbook"},
		{Kind: "Widget", Namespace: "demo-guestbook", Name: "w"},
		{Group: "example.com", Kind: "Widget", Namespace: "demo-guestbook", Name: "x"},
	}
	if body.Revision != "v2" || !body.Prune || body.DryRun || len(body.Resources) != 3 {
		t.Fatalf("body %+v", body)
	}
	for i := range wantRes {
		if body.Resources[i] != wantRes[i] {
			t.Errorf("resource %d = %+v, want %+v", i, body.Resources[i], wantRes[i])
		}
	}
}

func TestAppSyncFailedExitsOne(t *testing.T) {
	f := newFakeAPI(t)
	before := testApp("gyre", "guestbook")
	f.add(before)
	changes := guestbookChanges()
	changes[2].Action, changes[2].Message = app.ActionFailed, "Deployment/demo-guestbook/guestbook: field is immutable"
	f.then("POST /api/v1/applications/gyre/guestbook/sync", operationStates(before, app.OperationFailed, "1 object(s) failed", false, changes...)...)
	r := runCLI(t, nil, f.against("app", "sync", "guestbook")...)
	if r.code != 1 || r.stderr != "gyre: application gyre/guestbook: sync failed: 1 object(s) failed\n" {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(strings.Join(strings.Fields(r.stdout), " "), "Deployment demo-guestbook guestbook failed Deployment/demo-guestbook/guestbook: field is immutable") {
		t.Errorf("table lacks the failure:\n%s", r.stdout)
	}
}

func TestAppSyncDryRunJSON(t *testing.T) {
	f := newFakeAPI(t)
	before := testApp("gyre", "guestbook")
	f.add(before)
	f.then("POST /api/v1/applications/gyre/guestbook/sync", operationStates(before, app.OperationSucceeded, "dry run feed", true, guestbookChanges()...)...)
	r := runCLI(t, nil, f.against("app", "sync", "guestbook", "--dry-run", "-o", "json")...)
	var op app.OperationState
	if err := json.Unmarshal([]byte(r.stdout), &op); r.code != 0 || err != nil {
		t.Fatalf("exit %d, %v: stdout is not only the operation state:\n%s", r.code, err, r.stdout)
	}
	if !op.SyncResult.DryRun || len(op.SyncResult.Resources) != 3 {
		t.Errorf("operation state %+v", op)
	}
	var body syncRequest
	lastBody(t, f, "/api/v1/applications/gyre/guestbook/sync", &body)
	if !body.DryRun {
		t.Errorf("body %+v: want dryRun", body)
	}

	f.then("POST /api/v1/applications/gyre/guestbook/sync", operationStates(before, app.OperationSucceeded, "dry run feed", true, guestbookChanges()...)...)
	r = runCLI(t, nil, f.against("app", "sync", "guestbook", "--dry-run")...)
	if !strings.Contains(r.stdout, "Dry run: nothing was changed") {
		t.Errorf("table output does not say it was a dry run:\n%s", r.stdout)
	}
}

func TestAppSyncConflict(t *testing.T) {
	f := newFakeAPI(t)
	f.add(testApp("gyre", "guestbook"))
	f.fail["POST /api/v1/applications/gyre/guestbook/sync"] = fakeFailure{http.StatusConflict, `{"error":"application gyre/guestbook: an operation is in progress"}`}
	r := runCLI(t, nil, f.against("app", "sync", "guestbook")...)
	if r.code != 1 || r.stderr != "gyre: application gyre/guestbook: an operation is in progress\n" {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestAppRollback(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		history int
		wantID  int64
		wantErr string
	}{
		{name: "previous entry", args: nil, history: 2, wantID: 1},
		{name: "named entry", args: []string{"2"}, history: 2, wantID: 2},
		{name: "no earlier entry", args: nil, history: 1, wantErr: "no earlier history entry"},
		{name: "bad id", args: []string{"x"}, history: 2, wantErr: `history id "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			before := testApp("gyre", "guestbook")
			before.Status.History = before.Status.History[2-tt.history:]
			f.add(before)
			f.then("POST /api/v1/applications/gyre/guestbook/rollback", operationStates(before, app.OperationSucceeded, "synced aaaaaaa", false, guestbookChanges()...)...)
			r := runCLI(t, nil, f.against(append([]string{"app", "rollback", "guestbook"}, tt.args...)...)...)
			if tt.wantErr != "" {
				if r.code != 1 || !strings.Contains(r.stderr, tt.wantErr) {
					t.Errorf("exit %d, stderr %q; want %q", r.code, r.stderr, tt.wantErr)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var body rollbackRequest
			lastBody(t, f, "/api/v1/applications/gyre/guestbook/rollback", &body)
			if body.ID != tt.wantID {
				t.Errorf("rolled back to %d, want %d", body.ID, tt.wantID)
			}
			if !strings.Contains(r.stdout, "Succeeded") {
				t.Errorf("stdout:\n%s", r.stdout)
			}
		})
	}
}

func TestParseResource(t *testing.T) {
	a := testApp("gyre", "guestbook")
	a.Status.Resources = append(a.Status.Resources, app.ResourceStatus{Kind: "Namespace", Name: "demo-guestbook"})
	tests := []struct {
		in   string
		want app.ResourceKey
		err  bool
	}{
		{in: "deployment/guestbook", want: app.ResourceKey{Group: "apps", Kind: "Deployment", Namespace: "demo-guestbook", Name: "guestbook"}},
		{in: "Namespace/demo-guestbook", want: app.ResourceKey{Kind: "Namespace", Name: "demo-guestbook"}},
		{in: "apps/Deployment/other", want: app.ResourceKey{Group: "apps", Kind: "Deployment", Namespace: "demo-guestbook", Name: "other"}},
		{in: "/Service/guestbook", want: app.ResourceKey{Kind: "Service", Namespace: "demo-guestbook", Name: "guestbook"}},
		{in: "guestbook", err: true},
		{in: "a/b/c/d", err: true},
		{in: "Deployment/", err: true},
	}
	for _, tt := range tests {
		got, err := parseResource(tt.in, a)
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("parseResource(%q) = %+v, %v; want %+v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

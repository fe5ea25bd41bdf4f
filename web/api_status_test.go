package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestFullListsBehindABoundedStatus: the status of a large application
// lists only some of its objects and some of its last operation's change
// set; .../resources and .../operation answer with all of them.
func TestFullListsBehindABoundedStatus(t *testing.T) {
	a := testApp("gyre", "big", "https://git.example.com/org/repo.git", "big")
	var all []app.ResourceStatus
	var changes []app.Change
	for i := range 1200 {
		r := app.ResourceStatus{Version: "v1", Kind: "ConfigMap", Namespace: "big", Name: fmt.Sprintf("cm-%04d", i), Status: app.Synced}
		if i%100 == 0 {
			r.Status = app.OutOfSync
		}
		all = append(all, r)
		changes = append(changes, app.Change{Version: "v1", Kind: "ConfigMap", Namespace: "big", Name: r.Name, Action: app.ActionCreated})
	}
	limits := app.StatusLimits{Objects: 50}
	a.Status.SetResources(all, limits)
	a.Status.OperationState = &app.OperationState{
		Phase:      app.OperationSucceeded,
		Message:    "fetched https://bob:hunter2@git.example.com/org/repo.git",
		StartedAt:  metav1.Unix(1700000000, 0),
		SyncResult: (&app.ChangeSet{Revision: "abc", Resources: changes}).Bounded(limits),
	}
	if len(a.Status.Resources) != 50 || !a.Status.Summary.Resources.Truncated || !a.Status.OperationState.SyncResult.Summary.Truncated {
		t.Fatalf("fixture: status lists %d objects, summary %+v", len(a.Status.Resources), a.Status.Summary.Resources)
	}
	b := newFakeBackend(a)
	b.full[a.Key()] = all
	b.results[a.Key()] = &app.ChangeSet{Revision: "abc", Resources: changes}
	ts := newTestServer(t, b, Options{})

	var res ResourcesResponse
	ts.getJSON(t, "/api/v1/applications/gyre/big/resources", &res)
	if len(res.Items) != 1200 || res.Summary == nil || res.Summary.Total != 1200 || res.Summary.Truncated || res.Summary.Sync[app.OutOfSync] != 12 {
		t.Errorf("resources: %d items, summary %+v; want all 1200, 12 out of sync", len(res.Items), res.Summary)
	}

	var op OperationResponse
	ts.getJSON(t, "/api/v1/applications/gyre/big/operation", &op)
	st := op.OperationState
	if st == nil || st.SyncResult == nil || len(st.SyncResult.Resources) != 1200 || st.SyncResult.Summary.Total != 1200 || st.SyncResult.Summary.Truncated {
		t.Fatalf("operation: %+v; want the change set of 1200 objects", st)
	}
	if st.Phase != app.OperationSucceeded || strings.Contains(st.Message, "hunter2") {
		t.Errorf("operation phase %s, message %q; want Succeeded without the password", st.Phase, st.Message)
	}

	// Where the backend no longer holds the change set (a restart, another
	// replica), the answer is the status's, and says it is truncated.
	delete(b.results, a.Key())
	ts.getJSON(t, "/api/v1/applications/gyre/big/operation", &op)
	if cs := op.OperationState.SyncResult; len(cs.Resources) != 50 || !cs.Summary.Truncated || cs.Summary.Total != 1200 {
		t.Errorf("operation from the status: %d entries, summary %+v; want 50 of 1200, truncated", len(cs.Resources), cs.Summary)
	}

	// Before the first operation: null, not an error.
	fresh := testApp("gyre", "fresh", "https://git.example.com/org/repo.git", "fresh")
	b.put(fresh)
	code, body := ts.do(t, http.MethodGet, "/api/v1/applications/gyre/fresh/operation", readonlyToken, "")
	if code != http.StatusOK || strings.TrimSpace(body) != `{"operationState":null}` {
		t.Errorf("operation of a fresh application: %d %s", code, body)
	}
	code, body = ts.do(t, http.MethodGet, "/api/v1/applications/gyre/fresh/resources", readonlyToken, "")
	if code != http.StatusOK || !strings.Contains(body, `"items":[]`) {
		t.Errorf("resources of a fresh application: %d %s", code, body)
	}
}

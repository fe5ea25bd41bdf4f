package sync

import (
	"fmt"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// operate asks for op and waits until it has succeeded and its request is
// gone, returning the Application then.
func operate(t *testing.T, key types.NamespacedName, op app.Operation) *app.Application {
	t.Helper()
	before := getApp(t, key).Status.OperationState
	request(t, key, op)
	return waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		st := a.Status.OperationState
		// Each request changes the Application's generation, which its
		// operation state records (StartedAt has only seconds).
		if a.Operation != nil || st == nil || (before != nil && st.Generation == before.Generation) {
			return false, "operation not finished"
		}
		return st.Phase == app.OperationSucceeded, fmt.Sprintf("operation %s: %s", st.Phase, st.Message)
	})
}

// configMapValue reads ConfigMap name's value, "" when it does not exist.
func configMapValue(t *testing.T, ns, name string) string {
	t.Helper()
	cm, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data["value"]
}

// TestRequestFieldsDoWhatTheySay drives a manual app through the fields of
// an operation request: sync.revision, sync.prune, sync.syncOptions,
// rollback.dryRun and rollback.prune, and checks initiatedBy.automated on
// an automated app's operations.
func TestRequestFieldsDoWhatTheySay(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	v1 := r.commit(map[string]*string{"a.yaml": s(configMap("a", "1")), "b.yaml": s(configMap("b", "1"))})
	v2 := r.commit(map[string]*string{"a.yaml": s(configMap("a", "2")), "b.yaml": nil})
	key := newApp(t, ns, "requests", r, "", func(a *app.Application) { a.Spec.SyncPolicy = nil })
	who := app.InitiatedBy{Username: "tester"}

	// sync.revision: the commit asked for, though main is further on.
	a := operate(t, key, app.Operation{Sync: &app.SyncOperation{Revision: v1}, InitiatedBy: who})
	if got := a.Status.OperationState.SyncResult.Revision; got != v1 {
		t.Fatalf("synced %s, want the requested %s", app.ShortRevision(got), app.ShortRevision(v1))
	}
	if a.Status.OperationState.Operation.InitiatedBy.Automated {
		t.Errorf("a requested sync is recorded as automated")
	}
	if configMapValue(t, ns, "a") != "1" || configMapValue(t, ns, "b") != "1" {
		t.Fatalf("v1 not applied: a=%q b=%q", configMapValue(t, ns, "a"), configMapValue(t, ns, "b"))
	}

	// sync.prune false: b, gone from git, stays.
	operate(t, key, app.Operation{Sync: &app.SyncOperation{}, InitiatedBy: who})
	if configMapValue(t, ns, "a") != "2" || configMapValue(t, ns, "b") != "1" {
		t.Fatalf("after a sync without prune: a=%q b=%q, want 2 and the kept 1", configMapValue(t, ns, "a"), configMapValue(t, ns, "b"))
	}
	// sync.prune true: b goes.
	a = operate(t, key, app.Operation{Sync: &app.SyncOperation{Prune: true}, InitiatedBy: who})
	if configMapValue(t, ns, "b") != "" {
		t.Fatalf("a sync with prune left b")
	}
	if a.Status.OperationState.SyncResult.Revision != v2 {
		t.Fatalf("synced %s, want the head %s", app.ShortRevision(a.Status.OperationState.SyncResult.Revision), app.ShortRevision(v2))
	}

	// sync.syncOptions: Replace=true drops a label another manager added;
	// a plain apply leaves it to its owner.
	label := func() {
		t.Helper()
		patch := []byte(`{"metadata":{"labels":{"added-by":"someone"}}}`)
		if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Patch(ctx, "a", types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "someone"}); err != nil {
			t.Fatal(err)
		}
	}
	labelled := func() bool {
		cm, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.Labels["added-by"] == "someone"
	}
	label()
	operate(t, key, app.Operation{Sync: &app.SyncOperation{}, InitiatedBy: who})
	if !labelled() {
		t.Fatalf("a plain sync removed another manager's label")
	}
	operate(t, key, app.Operation{Sync: &app.SyncOperation{SyncOptions: app.SyncOptions{"Replace=true"}}, InitiatedBy: who})
	if labelled() {
		t.Fatalf("a sync with the request's Replace=true kept another manager's label")
	}

	// rollback.dryRun: reports, changes nothing, records nothing.
	v3 := r.commit(map[string]*string{"c.yaml": s(configMap("c", "3"))})
	a = operate(t, key, app.Operation{Sync: &app.SyncOperation{}, InitiatedBy: who})
	if a.Status.OperationState.SyncResult.Revision != v3 || configMapValue(t, ns, "c") != "3" {
		t.Fatalf("v3 not synced")
	}
	first := a.Status.History[0]
	if first.Revision != v1 {
		t.Fatalf("first history entry at %s, want v1", app.ShortRevision(first.Revision))
	}
	entries := len(a.Status.History)
	a = operate(t, key, app.Operation{Rollback: &app.RollbackOperation{ID: first.ID, DryRun: true, Prune: true}, InitiatedBy: who})
	if configMapValue(t, ns, "a") != "2" || configMapValue(t, ns, "b") != "" || configMapValue(t, ns, "c") != "3" {
		t.Fatalf("a dry-run rollback changed the cluster")
	}
	if len(a.Status.History) != entries || a.Status.AutomationSuspended != nil {
		t.Fatalf("a dry-run rollback was recorded: %d history entries (was %d), suspension %+v", len(a.Status.History), entries, a.Status.AutomationSuspended)
	}

	// rollback.prune: back to v1 deletes c, which v1 does not declare.
	operate(t, key, app.Operation{Rollback: &app.RollbackOperation{ID: first.ID, Prune: true}, InitiatedBy: who})
	if configMapValue(t, ns, "a") != "1" || configMapValue(t, ns, "b") != "1" || configMapValue(t, ns, "c") != "" {
		t.Fatalf("rollback with prune: a=%q b=%q c=%q, want 1, 1 and gone", configMapValue(t, ns, "a"), configMapValue(t, ns, "b"), configMapValue(t, ns, "c"))
	}

	// initiatedBy.automated: what automation starts says so.
	auto := newRepo(t)
	sha := auto.commit(map[string]*string{"d.yaml": s(configMap("d", "1"))})
	autoKey := newApp(t, ns, "automated", auto, "", nil)
	if a := syncedAt(t, autoKey, sha); a.Status.OperationState == nil || !a.Status.OperationState.Operation.InitiatedBy.Automated {
		t.Fatalf("an automated sync is not recorded as automated: %+v", a.Status.OperationState)
	}
}

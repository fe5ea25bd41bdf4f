package sync

import (
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// writeStatus replaces an Application's status, as a gyre that was killed
// would have left it.
func writeStatus(t testing.TB, key types.NamespacedName, mutate func(*app.Status)) {
	t.Helper()
	for attempt := 0; attempt < 10; attempt++ {
		a := getApp(t, key)
		mutate(&a.Status)
		u, err := a.ToUnstructured()
		if err != nil {
			t.Fatal(err)
		}
		_, err = cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(key.Namespace).UpdateStatus(ctx, u, metav1.UpdateOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			t.Fatal(err)
		}
	}
	t.Fatalf("could not write the status of %s", key)
}

const presyncJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox}]
`

// TestInterruptedOperationResumes: a gyre killed during a sync leaves the
// operation state Running. Whoever works next resumes it — it does not
// stay Running, a manual app can be synced again afterwards — and a hook
// the interrupted run had finished is not run again.
func TestInterruptedOperationResumes(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{"app/job.yaml": s(presyncJob), "app/c.yaml": s(configMap("c", "1"))})
	key := newApp(t, ns, "manual", r, "app", func(a *app.Application) { a.Spec.SyncPolicy = nil })
	waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Status == app.OutOfSync, "not compared yet"
	})

	// What a kill after the PreSync wave leaves behind.
	op := app.Operation{Sync: &app.SyncOperation{Revision: sha}, InitiatedBy: app.InitiatedBy{Username: "alice"}}
	writeStatus(t, key, func(st *app.Status) {
		st.OperationState = &app.OperationState{Operation: op, Phase: app.OperationRunning, Message: "PreSync wave 0 healthy",
			StartedAt: metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second)),
			SyncResult: &app.ChangeSet{Revision: sha, Resources: []app.Change{{Group: "batch", Version: "v1", Kind: "Job", Namespace: ns, Name: "migrate",
				Action: app.ActionCreated, HookType: app.SyncPhasePreSync, HookPhase: app.OperationSucceeded, SyncPhase: app.SyncPhasePreSync}}}}
	})
	a := waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		st := a.Status.OperationState
		return st != nil && st.Phase == app.OperationSucceeded && a.Status.Sync.Status == app.Synced, "not resumed"
	})
	var hook *app.Change
	for i, c := range a.Status.OperationState.SyncResult.Resources {
		if c.Kind == "Job" {
			hook = &a.Status.OperationState.SyncResult.Resources[i]
		}
	}
	if hook == nil || !strings.Contains(hook.Message, "not run again") {
		t.Errorf("hook entry %+v, want it carried over from the interrupted run", hook)
	}
	if _, err := cluster.Client.BatchV1().Jobs(ns).Get(ctx, "migrate", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the hook the interrupted run finished ran again (get: %v)", err)
	}
	if n := len(a.Status.History); n != 1 {
		t.Errorf("%d history entries, want exactly one for the one operation", n)
	}
	// Not stuck: a manual sync is accepted and runs.
	if err := reconciler.Request(ctx, key, app.Operation{Sync: &app.SyncOperation{}, InitiatedBy: app.InitiatedBy{Username: "bob"}}); err != nil {
		t.Fatalf("request after the resumed operation: %v", err)
	}
	waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		st := a.Status.OperationState
		return st != nil && st.Phase == app.OperationSucceeded && st.Operation.InitiatedBy.Username == "bob" && a.Operation == nil, "second sync not done"
	})
}

// TestFinishedRequestIsNotRunTwice: when gyre dies after recording an
// operation's outcome but before removing the request, the request found
// on restart is removed, not carried out a second time.
func TestFinishedRequestIsNotRunTwice(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{"app/c.yaml": s(configMap("c", "1"))})
	key := newApp(t, ns, "manual", r, "app", func(a *app.Application) { a.Spec.SyncPolicy = nil })
	waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Status == app.OutOfSync, "not compared yet"
	})
	op := app.Operation{Sync: &app.SyncOperation{Revision: sha}, InitiatedBy: app.InitiatedBy{Username: "alice"}}
	next := getApp(t, key).Generation + 1 // setting the request bumps it
	finished := metav1.NewTime(time.Now().Truncate(time.Second))
	writeStatus(t, key, func(st *app.Status) {
		st.OperationState = &app.OperationState{Operation: op, Phase: app.OperationSucceeded, Message: "synced", Generation: next,
			StartedAt: finished, FinishedAt: &finished, SyncResult: &app.ChangeSet{Revision: sha}}
	})
	request(t, key, op)
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		return getApp(t, key).Operation == nil, "request not removed"
	})
	a := getApp(t, key)
	if st := a.Status.OperationState; st == nil || !st.StartedAt.Equal(&finished) || len(a.Status.History) != 0 {
		t.Errorf("the finished request ran again: state %+v, %d history entries", st, len(a.Status.History))
	}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "c", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the finished request was carried out again (get: %v)", err)
	}
}

package sync

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apimachinery/pkg/watch"
)

// hookJob is a Job hook; command `false` makes the simulated kubelet fail
// it.
func hookJob(name, annotations, command string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  annotations: {%s}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, command: [%s]}]
`, name, annotations, command)
}

// deleteApp deletes an Application (it has the resources finalizer).
func deleteApp(t testing.TB, key types.NamespacedName) {
	t.Helper()
	if err := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(key.Namespace).Delete(ctx, key.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

// appGone waits until the Application no longer exists.
func appGone(t testing.TB, key types.NamespacedName) {
	t.Helper()
	clustertest.Eventually(t, 60*time.Second, func() (bool, string) {
		_, err := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("application still there (get: %v)", err)
	})
}

// event is one change the API server reported, in resource-version order.
type event struct {
	rv   int64
	what string // "<kind>/<name> <added|deleting|deleted|complete|failed>"
}

// watchLifecycle records, for ConfigMaps and Jobs in ns, from now on, when
// each was added, began to be deleted, was deleted, and (Jobs) succeeded
// (SuccessCriteriaMet or Complete, which health counts alike) or failed.
func watchLifecycle(t *testing.T, ns string) func() []event {
	t.Helper()
	// Watch from now on: what exists already is not reported as added.
	cmList, err := cluster.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cms, err := cluster.Client.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: cmList.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	jobList, err := cluster.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := cluster.Client.BatchV1().Jobs(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: jobList.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan event, 1000)
	for _, w := range []watch.Interface{cms, jobs} {
		go func() {
			seen := map[string]bool{}
			for ev := range w.ResultChan() {
				m, err := objectMeta(ev.Object)
				if err != nil || m.GetName() == "kube-root-ca.crt" {
					continue
				}
				var rv int64
				fmt.Sscan(m.GetResourceVersion(), &rv)
				kind := "ConfigMap"
				var job *batchv1.Job
				if j, ok := ev.Object.(*batchv1.Job); ok {
					kind, job = "Job", j
				}
				id := kind + "/" + m.GetName()
				emit := func(what string) {
					// Once per object and state; a run replaced by another
					// of the same name shows again under its uid.
					k := string(m.GetUID()) + what
					if !seen[k] {
						seen[k] = true
						ch <- event{rv, id + " " + what}
					}
				}
				switch {
				case ev.Type == watch.Added:
					emit("added")
				case ev.Type == watch.Deleted:
					emit("deleted")
				case m.GetDeletionTimestamp() != nil:
					emit("deleting")
				}
				if job != nil {
					for _, c := range job.Status.Conditions {
						// Succeeded: SuccessCriteriaMet comes a moment
						// before Complete, and is Healthy already.
						if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobSuccessCriteriaMet) {
							emit("complete")
						}
						if c.Status == corev1.ConditionTrue && c.Type == batchv1.JobFailed {
							emit("failed")
						}
					}
				}
			}
		}()
	}
	t.Cleanup(func() { cms.Stop(); jobs.Stop() })
	return func() []event {
		var all []event
		for {
			select {
			case e := <-ch:
				all = append(all, e)
				continue
			default:
			}
			break
		}
		// Resource versions come from one etcd revision counter, so they
		// order changes across kinds.
		slices.SortStableFunc(all, func(x, y event) int { return cmp.Compare(x.rv, y.rv) })
		return all
	}
}

// at returns the position of what among events, or -1.
func at(events []event, what string) int {
	for i, e := range events {
		if e.what == what {
			return i
		}
	}
	return -1
}

// count returns how many events are what.
func count(events []event, what string) int {
	n := 0
	for _, e := range events {
		if e.what == what {
			n++
		}
	}
	return n
}

// TestDeleteHooksRunAroundDeletion: an Application deleted with the
// resources finalizer runs its PreDelete hook to completion before any of
// its objects is deleted, its PostDelete hook once they are all gone, then
// removes both hooks (their default policy) and goes. Syncs never run
// them.
func TestDeleteHooksRunAroundDeletion(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"data.yaml":     s(configMap("data", "1")),
		"settings.yaml": s(configMap("settings", "1")),
		"backup.yaml":   s(hookJob("backup", "argocd.argoproj.io/hook: PreDelete", "backup")),
		"farewell.yaml": s(hookJob("farewell", "gyre.dev/hook: PostDelete", "notify")),
	})
	key := newApp(t, ns, "hooked", r, "", func(a *app.Application) { a.Finalizers = []string{ResourcesFinalizer} })
	a := syncedAt(t, key, sha)
	for _, name := range []string{"backup", "farewell"} {
		if _, err := cluster.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("delete hook %s ran in a sync (get: %v)", name, err)
		}
		if changeIndex(a.Status.OperationState.SyncResult, "Job", name, app.ActionSkipped) < 0 {
			t.Errorf("sync change set %+v lacks %s as skipped", a.Status.OperationState.SyncResult.Resources, name)
		}
	}

	events := watchLifecycle(t, ns)
	deleteApp(t, key)
	appGone(t, key)
	got := events()
	backupDone, farewellAdded := at(got, "Job/backup complete"), at(got, "Job/farewell added")
	dataDeleted, settingsDeleted := at(got, "ConfigMap/data deleted"), at(got, "ConfigMap/settings deleted")
	if backupDone < 0 || dataDeleted < 0 || settingsDeleted < 0 || farewellAdded < 0 {
		t.Fatalf("missing steps in %v", got)
	}
	for _, d := range []int{dataDeleted, settingsDeleted, at(got, "ConfigMap/data deleting"), at(got, "ConfigMap/settings deleting")} {
		if d >= 0 && d < backupDone {
			t.Errorf("an object was deleted before the PreDelete hook completed: %v", got)
		}
	}
	if farewellAdded < dataDeleted || farewellAdded < settingsDeleted {
		t.Errorf("the PostDelete hook started before every object was gone: %v", got)
	}
	for _, name := range []string{"backup", "farewell"} {
		if n := count(got, "Job/"+name+" added"); n != 1 {
			t.Errorf("%s ran %d times: %v", name, n, got)
		}
		clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
			_, err := cluster.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), fmt.Sprintf("succeeded hook %s not cleaned up (%v)", name, err)
		})
	}
}

// TestFailingPreDeleteHookBlocksDeletion: a PreDelete hook that fails
// stops the deletion: the Application says why in a DeletionError
// condition, and it and its objects stay.
func TestFailingPreDeleteHookBlocksDeletion(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"data.yaml":   s(configMap("data", "1")),
		"backup.yaml": s(hookJob("backup", "argocd.argoproj.io/hook: PreDelete", "\"false\"")),
	})
	key := newApp(t, ns, "blocked", r, "", func(a *app.Application) { a.Finalizers = []string{ResourcesFinalizer} })
	syncedAt(t, key, sha)
	deleteApp(t, key)
	hasCondition(t, key, app.ConditionDeletionError, "PreDelete hook batch/Job/"+ns+"/backup failed", "stay until it succeeds")
	if cm := getConfigMap(t, ns, "data"); cm.DeletionTimestamp != nil {
		t.Fatal("an object is being deleted although the PreDelete hook failed")
	}
	if getApp(t, key).DeletionTimestamp == nil {
		t.Fatal("the Application is not being deleted")
	}

	// Let the test namespace go: drop the finalizer as a person would.
	updateApp(t, key, func(a *app.Application) { a.Finalizers = nil })
	appGone(t, key)
	getConfigMap(t, ns, "data") // without the finalizer, objects stay
}

// TestSucceededPreDeleteHookIsNotRunAgain: a gyre killed during a deletion
// left the PreDelete hook's run, succeeded, behind. Whoever finalizes next
// finds it by name and tracking id and does not run the hook again.
func TestSucceededPreDeleteHookIsNotRunAgain(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	hook := hookJob("backup", "argocd.argoproj.io/hook: PreDelete, argocd.argoproj.io/hook-delete-policy: HookFailed", "backup")
	sha := r.commit(map[string]*string{"data.yaml": s(configMap("data", "1")), "backup.yaml": s(hook)})
	key := newApp(t, ns, "restarted", r, "", func(a *app.Application) { a.Finalizers = []string{ResourcesFinalizer} })
	a := syncedAt(t, key, sha)

	// What the killed gyre had created: the hook's run, marked as such.
	run := &batchv1.Job{}
	if err := yaml.Unmarshal([]byte(hook), run); err != nil {
		t.Fatal(err)
	}
	run.Namespace = ns
	run.Annotations[app.TrackingAnnotation] = a.TrackingID(app.ResourceKey{Group: "batch", Kind: "Job", Namespace: ns, Name: "backup"})
	run.Annotations[deleteRunAnnotation] = string(PreDelete)
	run.Labels = map[string]string{app.AppLabel: a.AppLabelValue(), "run": "before-the-restart"}
	created, err := cluster.Client.BatchV1().Jobs(ns).Create(ctx, run, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		j, err := cluster.Client.BatchV1().Jobs(ns).Get(ctx, "backup", metav1.GetOptions{})
		return err == nil && j.Status.Succeeded > 0, "the earlier run has not succeeded"
	})

	events := watchLifecycle(t, ns)
	deleteApp(t, key)
	appGone(t, key)
	got := events()
	if n := count(got, "Job/backup added"); n != 0 {
		t.Errorf("the PreDelete hook ran again: %v", got)
	}
	if at(got, "ConfigMap/data deleted") < 0 {
		t.Errorf("the Application's object was not deleted: %v", got)
	}
	// HookFailed only: the succeeded run stays, and it is the earlier one.
	j, err := cluster.Client.BatchV1().Jobs(ns).Get(ctx, "backup", metav1.GetOptions{})
	if err != nil || j.UID != created.UID || j.Labels["run"] != "before-the-restart" {
		t.Fatalf("hook run after the deletion: %v (err %v), want the earlier run %s", j.UID, err, created.UID)
	}
	if strings.Contains(fmt.Sprint(got), "Job/backup deleted") {
		t.Errorf("a succeeded run with policy HookFailed was deleted: %v", got)
	}
}

// TestFinalizeAfterRestartFindsEveryKind: a gyre that has just started
// finalizes a deleting Application before anything made its live cache
// watch the app's kinds; the finalizer must still find and delete the
// app's objects, not remove itself and leave them behind.
func TestFinalizeAfterRestartFindsEveryKind(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{"c.yaml": s(configMap("c", "1"))})
	key := newApp(t, ns, "restarted", r, "", func(a *app.Application) {
		a.Spec.SyncPolicy = nil // the shared loop must not bring the object back
		a.Finalizers = []string{ResourcesFinalizer}
	})
	request(t, key, app.Operation{Sync: &app.SyncOperation{}})
	syncedAt(t, key, sha)

	started := boundedReconciler(t, 0) // a new process: its live cache watches nothing yet
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		wait, err := started.finalize(ctx, getApp(t, key))
		switch {
		case err != nil:
			return false, err.Error() // a conflict with the shared loop's writes: again
		case wait > 0:
			return false, "objects still being deleted"
		}
		return true, ""
	})
	if v := configMapValue(t, ns, "c"); v != "" {
		t.Fatalf("the finalizer of a restarted gyre left the app's ConfigMap behind")
	}
	if a := getApp(t, key); slices.Contains(a.Finalizers, ResourcesFinalizer) {
		t.Fatalf("finalizer still on the Application after its objects went")
	}
}

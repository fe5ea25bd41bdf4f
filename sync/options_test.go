package sync

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// The behaviour of each sync option, against the embedded API server. Each
// test pairs an Application that sets the option with one that does not,
// where that shows the difference.

// manual makes an Application sync only on request, with sync options opts.
func manual(opts ...string) func(*app.Application) {
	return func(a *app.Application) { a.Spec.SyncPolicy = &app.SyncPolicy{SyncOptions: opts} }
}

// automated makes an Application sync on its own (prune, selfHeal), with
// sync options opts.
func automated(opts ...string) func(*app.Application) {
	return func(a *app.Application) {
		a.Spec.SyncPolicy = &app.SyncPolicy{Automated: &app.AutomatedSync{Prune: true, SelfHeal: true}, SyncOptions: opts}
	}
}

// syncNow requests a sync as user and waits for its outcome.
func syncNow(t testing.TB, key types.NamespacedName, user string) *app.OperationState {
	t.Helper()
	request(t, key, app.Operation{Sync: &app.SyncOperation{Prune: true}, InitiatedBy: app.InitiatedBy{Username: user}})
	a := waitApp(t, key, 60*time.Second, func(a *app.Application) (bool, string) {
		st := a.Status.OperationState
		return a.Operation == nil && st != nil && st.Operation.InitiatedBy.Username == user && st.Phase.Completed(), "sync by " + user + " not finished"
	})
	return a.Status.OperationState
}

// withAnnotation adds annotation k: v to the first metadata of doc.
func withAnnotation(doc, k, v string) string {
	return strings.Replace(doc, "metadata:\n", fmt.Sprintf("metadata:\n  annotations: {%s: %q}\n", k, v), 1)
}

// applyAs server-side applies patch (JSON) to the named object as another
// field manager, forcing conflicts, as kubectl apply --server-side would.
func applyAs(t testing.TB, manager string, gvr schema.GroupVersionResource, ns, name, patch string) {
	t.Helper()
	_, err := cluster.Dynamic.Resource(gvr).Namespace(ns).Patch(ctx, name, types.ApplyPatchType, []byte(patch), metav1.PatchOptions{FieldManager: manager, Force: ptr.To(true)})
	if err != nil {
		t.Fatalf("%s applies to %s/%s: %v", manager, ns, name, err)
	}
}

var configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

func getConfigMap(t testing.TB, ns, name string) *corev1.ConfigMap {
	t.Helper()
	cm, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

// gone waits until the ConfigMap ns/name does not exist.
func gone(t testing.TB, ns, name string) {
	t.Helper()
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		_, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("ConfigMap %s still there (%v)", name, err)
	})
}

// gatePod is a Pod that the simulated kubelet keeps Running: with
// restartPolicy Never it counts as Progressing, so the wave it is in waits
// until the test opens it (see openGate).
const gatePod = `apiVersion: v1
kind: Pod
metadata:
  name: gate
spec:
  restartPolicy: Never
  containers: [{name: main, image: busybox}]
`

// openGate reports the gate pod Succeeded, as a kubelet would once its
// container finished; the wave it is in becomes healthy.
func openGate(t testing.TB, ns string) {
	t.Helper()
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		pod, err := cluster.Client.CoreV1().Pods(ns).Get(ctx, "gate", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		pod.Status.Phase = corev1.PodSucceeded
		_, err = cluster.Client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err == nil, fmt.Sprintf("update gate pod status: %v", err)
	})
}

// changeIndex returns the position of the change-set entry for kind/name
// with action, or -1.
func changeIndex(cs *app.ChangeSet, kind, name string, action app.Action) int {
	if cs == nil {
		return -1
	}
	return slices.IndexFunc(cs.Resources, func(c app.Change) bool { return c.Kind == kind && c.Name == name && c.Action == action })
}

// TestReplaceRemovesFieldsGitDoesNotDeclare: with Replace=true (on the
// object, or for the whole Application) a sync writes the whole object, so a
// field another manager added and git does not declare disappears; a
// server-side apply leaves it. A replace of an object that does not exist
// creates it.
func TestReplaceRemovesFieldsGitDoesNotDeclare(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	r.commit(map[string]*string{
		"apply/cm.yaml":     s(configMap("applied", "1")),
		"annotated/cm.yaml": s(withAnnotation(configMap("annotated", "1"), ArgoSyncOptionsAnnotation, "Replace=true")),
		"app-wide/cm.yaml":  s(configMap("app-wide", "1")),
	})
	keys := []types.NamespacedName{
		newApp(t, ns, "apply", r, "apply", manual()),
		newApp(t, ns, "annotated", r, "annotated", manual()),
		newApp(t, ns, "app-wide", r, "app-wide", manual("Replace=true")),
	}
	for _, key := range keys {
		if st := syncNow(t, key, "first"); st.Phase != app.OperationSucceeded {
			t.Fatalf("%s: first sync %s: %s", key.Name, st.Phase, st.Message)
		}
	}
	for _, name := range []string{"applied", "annotated", "app-wide"} {
		applyAs(t, "someone", configMapsGVR, ns, name, fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"labels":{"edited":"by-hand"}},"data":{"extra":"by hand"}}`, name))
	}
	for _, key := range keys {
		if st := syncNow(t, key, "second"); st.Phase != app.OperationSucceeded {
			t.Fatalf("%s: second sync %s: %s", key.Name, st.Phase, st.Message)
		}
	}
	if cm := getConfigMap(t, ns, "applied"); cm.Data["extra"] != "by hand" || cm.Labels["edited"] != "by-hand" {
		t.Errorf("server-side apply removed another manager's fields: data %v, labels %v", cm.Data, cm.Labels)
	}
	for _, name := range []string{"annotated", "app-wide"} {
		cm := getConfigMap(t, ns, name)
		if _, ok := cm.Data["extra"]; ok || cm.Labels["edited"] != "" {
			t.Errorf("%s: Replace kept fields git does not declare: data %v, labels %v", name, cm.Data, cm.Labels)
		}
		if cm.Data["value"] != "1" || !strings.HasPrefix(cm.Annotations[app.TrackingAnnotation], ns+"/") {
			t.Errorf("%s: replaced object lost what git declares: data %v, annotations %v", name, cm.Data, cm.Annotations)
		}
	}
}

// TestReplaceIsWhatThePreflightDryRuns: the pre-flight dry run uses the
// verb the sync will use. A Job cannot be replaced by its manifest (its
// selector and template are set by the API server and immutable), though
// applying the same manifest changes nothing: with Replace=true the sync
// fails before it writes anything; without, it succeeds.
func TestReplaceIsWhatThePreflightDryRuns(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	job := func(name string) string {
		return fmt.Sprintf("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: %s\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: main, image: busybox}]\n", name)
	}
	r.commit(map[string]*string{
		"replace/job.yaml": s(withAnnotation(job("replaced"), SyncOptionsAnnotation, "Replace=true")),
		"apply/job.yaml":   s(job("applied")),
	})
	replace := newApp(t, ns, "replace", r, "replace", manual())
	apply := newApp(t, ns, "apply", r, "apply", manual())
	for _, key := range []types.NamespacedName{replace, apply} {
		if st := syncNow(t, key, "first"); st.Phase != app.OperationSucceeded {
			t.Fatalf("%s: first sync (the Job is created) %s: %s", key.Name, st.Phase, st.Message)
		}
	}
	r.commit(map[string]*string{"replace/cm.yaml": s(configMap("after-replace", "1")), "apply/cm.yaml": s(configMap("after-apply", "1"))})
	st := syncNow(t, replace, "second")
	if st.Phase != app.OperationFailed || !strings.Contains(st.Message, "nothing was applied") || !strings.Contains(st.Message, "Job/"+ns+"/replaced") {
		t.Fatalf("sync replacing a Job: %s: %q, want a failed pre-flight naming the Job", st.Phase, st.Message)
	}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "after-replace", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an object was written although the pre-flight failed (get: %v)", err)
	}
	if st := syncNow(t, apply, "second"); st.Phase != app.OperationSucceeded {
		t.Fatalf("sync applying the same Job: %s: %s", st.Phase, st.Message)
	}
	getConfigMap(t, ns, "after-apply")
}

// TestPruneLastPrunesAfterEveryWave: an object marked PruneLast=true is
// pruned after every Sync wave is applied and healthy, in a wave of its own;
// another pruned object goes at the start of its wave. While a wave waits
// on health, the first is gone and the second still there, and the change
// set records them in that order.
func TestPruneLastPrunesAfterEveryWave(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"early.yaml": s(configMap("early", "1")),
		"late.yaml":  s(withAnnotation(configMap("late", "1"), ArgoSyncOptionsAnnotation, "PruneLast=true")),
	})
	key := newApp(t, ns, "prunelast", r, "", automated())
	syncedAt(t, key, sha)

	sha2 := r.commit(map[string]*string{"early.yaml": nil, "late.yaml": nil, "gate.yaml": s(gatePod)})
	r.push()
	a := waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		st := a.Status.OperationState
		if st == nil || st.Phase != app.OperationRunning || st.SyncResult == nil || st.SyncResult.Revision != sha2 {
			return false, "second sync not running"
		}
		return changeIndex(st.SyncResult, "Pod", "gate", app.ActionCreated) >= 0, "gate not applied yet"
	})
	cs := a.Status.OperationState.SyncResult
	if changeIndex(cs, "ConfigMap", "early", app.ActionPruned) < 0 || changeIndex(cs, "ConfigMap", "late", app.ActionPruned) >= 0 {
		t.Fatalf("while wave 0 waits: change set %+v, want early pruned and late not", cs.Resources)
	}
	gone(t, ns, "early")
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "late", metav1.GetOptions{}); err != nil {
		t.Fatalf("the PruneLast object went while a wave still waited on health: %v", err)
	}

	openGate(t, ns)
	a = waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		st := a.Status.OperationState
		return st != nil && st.Phase == app.OperationSucceeded && st.SyncResult.Revision == sha2, "second sync not done"
	})
	gone(t, ns, "late")
	cs = a.Status.OperationState.SyncResult
	early, gate, late := changeIndex(cs, "ConfigMap", "early", app.ActionPruned), changeIndex(cs, "Pod", "gate", app.ActionCreated), changeIndex(cs, "ConfigMap", "late", app.ActionPruned)
	if early < 0 || gate < 0 || late < 0 || !(early < gate && gate < late) {
		t.Fatalf("change set order: early %d, gate %d, late %d; want early < gate < late: %+v", early, gate, late, cs.Resources)
	}
	if w := cs.Resources[late].Wave; w != 1 {
		t.Errorf("PruneLast object pruned in wave %d, want 1 (after the last wave, 0)", w)
	}
}

// TestRespectIgnoreDifferencesKeepsLiveValues: replicas are ignored, and
// someone scales the Deployments to 3. The next sync (git changes the
// image) leaves 3 with RespectIgnoreDifferences=true, and sets git's 1
// without it.
func TestRespectIgnoreDifferencesKeepsLiveValues(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"respect/d.yaml": s(deployment("respect", "nginx:1", 1)),
		"plain/d.yaml":   s(deployment("plain", "nginx:1", 1)),
	})
	ignoreReplicas := func(opts ...string) func(*app.Application) {
		return func(a *app.Application) {
			automated(opts...)(a)
			a.Spec.IgnoreDifferences = []app.IgnoreDifference{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}}
		}
	}
	respect := newApp(t, ns, "respect", r, "respect", ignoreReplicas("RespectIgnoreDifferences=true"))
	plain := newApp(t, ns, "plain", r, "plain", ignoreReplicas())
	syncedAt(t, respect, sha)
	syncedAt(t, plain, sha)
	for _, name := range []string{"respect", "plain"} {
		scale, err := cluster.Client.AppsV1().Deployments(ns).GetScale(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		scale.Spec.Replicas = 3
		if _, err := cluster.Client.AppsV1().Deployments(ns).UpdateScale(ctx, name, scale, metav1.UpdateOptions{FieldManager: "kubectl-scale"}); err != nil {
			t.Fatal(err)
		}
	}
	sha2 := r.commit(map[string]*string{
		"respect/d.yaml": s(deployment("respect", "nginx:2", 1)),
		"plain/d.yaml":   s(deployment("plain", "nginx:2", 1)),
	})
	r.push()
	syncedAt(t, respect, sha2)
	syncedAt(t, plain, sha2)
	for name, want := range map[string]int32{"respect": 3, "plain": 1} {
		d := getDeployment(t, ns, name)
		if got := *d.Spec.Replicas; got != want || d.Spec.Template.Spec.Containers[0].Image != "nginx:2" {
			t.Errorf("%s: replicas %d, image %s; want %d and git's new image", name, got, d.Spec.Template.Spec.Containers[0].Image, want)
		}
	}
}

// TestFailOnSharedResourceNamesTheOtherApp: gyre never writes an object
// another Application tracks; FailOnSharedResource=true is accepted and the
// sync fails naming the owner, which keeps the object.
func TestFailOnSharedResourceNamesTheOtherApp(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"owner/cm.yaml":  s(configMap("shared", "owner's")),
		"second/cm.yaml": s(configMap("shared", "second's")),
	})
	owner := newApp(t, ns, "owner", r, "owner", nil)
	syncedAt(t, owner, sha)
	second := newApp(t, ns, "second", r, "second", manual("FailOnSharedResource=true"))
	st := syncNow(t, second, "alice")
	if st.Phase != app.OperationFailed || !strings.Contains(st.Message, "tracked by Application "+ns+"/owner") {
		t.Fatalf("sync of a shared object: %s: %q, want a failure naming %s/owner", st.Phase, st.Message, ns)
	}
	cm := getConfigMap(t, ns, "shared")
	if cm.Data["value"] != "owner's" || !strings.HasPrefix(cm.Annotations[app.TrackingAnnotation], ns+"/owner:") {
		t.Errorf("the shared object changed hands: data %v, tracking %q", cm.Data, cm.Annotations[app.TrackingAnnotation])
	}
}

// TestUnknownSyncOptionIsInvalidSpec: an option in
// spec.syncPolicy.syncOptions that gyre does not know is an InvalidSpecError
// condition, and nothing syncs until it is fixed; a request with a bad
// option is rejected the same way.
func TestUnknownSyncOptionIsInvalidSpec(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{"cm.yaml": s(configMap("c", "1"))})
	key := newApp(t, ns, "typo", r, "", automated("CreateNamespace=true", "PruneLastt=true"))
	a := hasCondition(t, key, app.ConditionInvalidSpecError, `spec.syncPolicy.syncOptions[1] "PruneLastt=true": unknown sync option PruneLastt`)
	if a.Status.OperationState != nil {
		t.Fatalf("an invalid spec was synced: %+v", a.Status.OperationState)
	}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "c", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("an invalid spec wrote objects (get: %v)", err)
	}
	updateApp(t, key, func(a *app.Application) { a.Spec.SyncPolicy.SyncOptions = app.SyncOptions{"PruneLast=true"} })
	a = syncedAt(t, key, sha)
	if c := a.Status.FindCondition(app.ConditionInvalidSpecError); c != nil {
		t.Errorf("condition stays after the fix: %+v", c)
	}

	request(t, key, app.Operation{Sync: &app.SyncOperation{SyncOptions: app.SyncOptions{"Replace=maybe"}}})
	hasCondition(t, key, app.ConditionInvalidSpecError, "operation rejected", `"Replace=maybe"`)
}

// TestUnknownObjectSyncOptionRefusesTheSync: an object whose sync-options
// annotation gyre does not understand fails the sync, naming the object,
// before anything is written.
func TestUnknownObjectSyncOptionRefusesTheSync(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	r.commit(map[string]*string{
		"a.yaml": s(configMap("a", "1")),
		"b.yaml": s(withAnnotation(configMap("b", "1"), ArgoSyncOptionsAnnotation, "Prune=confirm")),
	})
	key := newApp(t, ns, "confirm", r, "", automated())
	a := waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		st := a.Status.OperationState
		return st != nil && st.Phase == app.OperationFailed, "sync not failed"
	})
	msg := a.Status.OperationState.Message
	for _, want := range []string{"nothing was applied", "ConfigMap/" + ns + "/b", "Prune=confirm is not supported"} {
		if !strings.Contains(msg, want) {
			t.Errorf("sync failure %q lacks %q", msg, want)
		}
	}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused sync wrote another object (get: %v)", err)
	}
}

// TestFieldValidationIsStrictAndValidateFalseRefused: gyre writes with
// strict field validation, whether it applies or replaces, so a field the
// schema does not declare fails the sync before anything is written, never
// dropped quietly. Validate=false, which server-side apply cannot honour, is
// refused with a reason.
func TestFieldValidationIsStrictAndValidateFalseRefused(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	typo := func(name string) string { return configMap(name, "1") + "extra: not a ConfigMap field\n" }
	r.commit(map[string]*string{
		"apply/cm.yaml":   s(typo("applied")),
		"apply/ok.yaml":   s(configMap("applied-ok", "1")),
		"replace/cm.yaml": s(withAnnotation(typo("replaced"), SyncOptionsAnnotation, "Replace=true")),
		"lenient/cm.yaml": s(withAnnotation(configMap("lenient", "1"), SyncOptionsAnnotation, "Validate=false")),
	})
	failure := func(key types.NamespacedName) string {
		t.Helper()
		a := waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
			st := a.Status.OperationState
			return st != nil && st.Phase == app.OperationFailed, "sync not failed"
		})
		return a.Status.OperationState.Message
	}
	for _, tt := range []struct{ path, object, want string }{
		{"apply", "applied", "extra"},
		{"replace", "replaced", "extra"},
		{"lenient", "lenient", "Validate=false is not supported"},
	} {
		key := newApp(t, ns, tt.path, r, tt.path, automated())
		if msg := failure(key); !strings.Contains(msg, "nothing was applied") || !strings.Contains(msg, "ConfigMap/"+ns+"/"+tt.object) || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: sync failure %q, want the object and %q named, nothing applied", tt.path, msg, tt.want)
		}
		if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, tt.object, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: the object was written (get: %v)", tt.path, err)
		}
	}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "applied-ok", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the failed sync wrote another object (get: %v)", err)
	}
}

// TestApplyOutOfSyncOnlySkipsInSyncObjects: a sync with
// ApplyOutOfSyncOnly=true applies only what differs. An object whose only
// change is ignored (ignoreDifferences) counts as in sync and keeps its
// live value; without the option the sync applies it and git's value wins.
func TestApplyOutOfSyncOnlySkipsInSyncObjects(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"only/a.yaml": s(configMap("only-a", "1")), "only/b.yaml": s(configMap("only-b", "1")),
		"all/a.yaml": s(configMap("all-a", "1")), "all/b.yaml": s(configMap("all-b", "1")),
	})
	ignoreValue := func(opts ...string) func(*app.Application) {
		return func(a *app.Application) {
			automated(opts...)(a)
			a.Spec.IgnoreDifferences = []app.IgnoreDifference{{Kind: "ConfigMap", Name: a.Name + "-a", JSONPointers: []string{"/data/value"}}}
		}
	}
	only := newApp(t, ns, "only", r, "only", ignoreValue("ApplyOutOfSyncOnly=true"))
	all := newApp(t, ns, "all", r, "all", ignoreValue())
	syncedAt(t, only, sha)
	syncedAt(t, all, sha)
	for _, name := range []string{"only-a", "all-a"} {
		applyAs(t, "someone", configMapsGVR, ns, name, fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q},"data":{"value":"live"}}`, name))
	}
	sha2 := r.commit(map[string]*string{"only/b.yaml": s(configMap("only-b", "2")), "all/b.yaml": s(configMap("all-b", "2"))})
	r.push()
	a := syncedAt(t, only, sha2)
	syncedAt(t, all, sha2)
	if got := getConfigMap(t, ns, "only-a").Data["value"]; got != "live" {
		t.Errorf("ApplyOutOfSyncOnly applied an in-sync object: value %q", got)
	}
	if i := changeIndex(a.Status.OperationState.SyncResult, "ConfigMap", "only-a", app.ActionUnchanged); i < 0 {
		t.Errorf("change set %+v lacks only-a as unchanged", a.Status.OperationState.SyncResult.Resources)
	}
	if got := getConfigMap(t, ns, "all-a").Data["value"]; got != "1" {
		t.Errorf("without ApplyOutOfSyncOnly the object was not applied: value %q", got)
	}
	for _, name := range []string{"only-b", "all-b"} {
		if got := getConfigMap(t, ns, name).Data["value"]; got != "2" {
			t.Errorf("%s: out-of-sync object not applied: value %q", name, got)
		}
	}
}

// TestPrunePropagationPolicy: a pruned Deployment's ReplicaSet is deleted
// with it by default (foreground), and stays, orphaned, with
// PrunePropagationPolicy=orphan.
func TestPrunePropagationPolicy(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"orphan/d.yaml": s(deployment("orphaned", "nginx", 1)), "orphan/cm.yaml": s(configMap("orphan-keep", "1")),
		"default/d.yaml": s(deployment("cascaded", "nginx", 1)), "default/cm.yaml": s(configMap("default-keep", "1")),
	})
	orphan := newApp(t, ns, "orphan", r, "orphan", automated("PrunePropagationPolicy=orphan"))
	cascade := newApp(t, ns, "default", r, "default", automated())
	syncedAt(t, orphan, sha)
	syncedAt(t, cascade, sha)
	replicaSets := func(app string) []string {
		list, err := cluster.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, rs := range list.Items {
			if rs.DeletionTimestamp == nil {
				names = append(names, rs.Name)
			}
		}
		return names
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		return len(replicaSets("orphaned")) == 1 && len(replicaSets("cascaded")) == 1, "ReplicaSets not made yet"
	})
	sha2 := r.commit(map[string]*string{"orphan/d.yaml": nil, "default/d.yaml": nil})
	r.push()
	syncedAt(t, orphan, sha2)
	syncedAt(t, cascade, sha2)
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		_, err1 := cluster.Client.AppsV1().Deployments(ns).Get(ctx, "orphaned", metav1.GetOptions{})
		_, err2 := cluster.Client.AppsV1().Deployments(ns).Get(ctx, "cascaded", metav1.GetOptions{})
		return apierrors.IsNotFound(err1) && apierrors.IsNotFound(err2) && len(replicaSets("cascaded")) == 0,
			fmt.Sprintf("deployments %v / %v, cascaded ReplicaSets %v", err1, err2, replicaSets("cascaded"))
	})
	if rs := replicaSets("orphaned"); len(rs) != 1 {
		t.Fatalf("orphan propagation: ReplicaSets %v, want the one left behind", rs)
	}
}

// TestForceFalseFailsOnConflict: another field manager takes over a field
// git declares. gyre's default (Force=true) takes it back; with Force=false
// the apply conflicts and the sync fails, leaving the other manager's value.
func TestForceFalseFailsOnConflict(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{"force/cm.yaml": s(configMap("forced", "git")), "noforce/cm.yaml": s(configMap("polite", "git"))})
	force := newApp(t, ns, "force", r, "force", automated())
	noForce := newApp(t, ns, "noforce", r, "noforce", automated("Force=false"))
	syncedAt(t, force, sha)
	syncedAt(t, noForce, sha)
	for _, name := range []string{"forced", "polite"} {
		applyAs(t, "other-controller", configMapsGVR, ns, name, fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q},"data":{"value":"theirs"}}`, name))
	}
	a := waitApp(t, noForce, 30*time.Second, func(a *app.Application) (bool, string) {
		st := a.Status.OperationState
		return st != nil && st.Phase == app.OperationFailed, "self-heal sync did not fail"
	})
	if msg := a.Status.OperationState.Message; !strings.Contains(msg, "conflict") || !strings.Contains(msg, "other-controller") {
		t.Errorf("Force=false failure %q, want a conflict naming the other manager", msg)
	}
	if got := getConfigMap(t, ns, "polite").Data["value"]; got != "theirs" {
		t.Errorf("Force=false overwrote the other manager's value: %q", got)
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		got := getConfigMap(t, ns, "forced").Data["value"]
		return got == "git", "forced value " + got
	})
}

// TestSkipDryRunOnMissingResource: a custom resource whose CRD is not
// installed fails the comparison, unless it is marked
// SkipDryRunOnMissingResource=true: then it is not dry-run, and it is
// applied in its wave once something else has installed the CRD.
func TestSkipDryRunOnMissingResource(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	group := strings.ReplaceAll(ns, "-", "") + ".gyre.test"
	gadget := func(name string) string {
		return fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata:\n  name: %s\n  annotations: {gyre.dev/sync-wave: \"1\"}\nspec: {size: 3}\n", group, name)
	}
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"skip/gate.yaml":    s(gatePod),
		"skip/gadget.yaml":  s(strings.Replace(gadget("skipped"), "annotations: {", "annotations: {gyre.dev/sync-options: SkipDryRunOnMissingResource=true, ", 1)),
		"plain/gadget.yaml": s(gadget("plain")),
	})
	plain := newApp(t, ns, "plain", r, "plain", automated())
	hasCondition(t, plain, app.ConditionComparisonError, "Gadget", "SkipDryRunOnMissingResource=true")

	skip := newApp(t, ns, "skip", r, "skip", automated())
	waitApp(t, skip, 30*time.Second, func(a *app.Application) (bool, string) {
		st := a.Status.OperationState
		return st != nil && st.Phase == app.OperationRunning && changeIndex(st.SyncResult, "Pod", "gate", app.ActionCreated) >= 0, "wave 0 not applied"
	})
	crd := &unstructured.Unstructured{}
	crdJSON := fmt.Sprintf(`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"gadgets.%[1]s"},
"spec":{"group":%[1]q,"scope":"Namespaced","names":{"plural":"gadgets","singular":"gadget","kind":"Gadget"},
"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`, group)
	if err := json.Unmarshal([]byte(crdJSON), &crd.Object); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Dynamic.Resource(crdResource).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Dynamic.Resource(crdResource).Delete(ctx, crd.GetName(), metav1.DeleteOptions{}) })
	gadgets := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "gadgets"}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		_, err := cluster.Dynamic.Resource(gadgets).Namespace(ns).List(ctx, metav1.ListOptions{})
		return err == nil, fmt.Sprintf("CRD not served: %v", err)
	})
	openGate(t, ns)
	a := waitApp(t, skip, 30*time.Second, func(a *app.Application) (bool, string) {
		st := a.Status.OperationState
		return st != nil && st.Phase.Completed() && st.SyncResult.Revision == sha, "sync not finished"
	})
	if st := a.Status.OperationState; st.Phase != app.OperationSucceeded {
		t.Fatalf("sync %s: %s", st.Phase, st.Message)
	}
	if _, err := cluster.Dynamic.Resource(gadgets).Namespace(ns).Get(ctx, "skipped", metav1.GetOptions{}); err != nil {
		t.Fatalf("the custom resource was not applied: %v", err)
	}
}

// TestPruneFalseKeepsTheObject: an object marked Prune=false stays when git
// no longer declares it; its neighbour is pruned.
func TestPruneFalseKeepsTheObject(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"kept.yaml":   s(withAnnotation(configMap("kept", "1"), SyncOptionsAnnotation, "Prune=false")),
		"pruned.yaml": s(configMap("pruned", "1")),
		"stays.yaml":  s(configMap("stays", "1")),
	})
	key := newApp(t, ns, "prunefalse", r, "", automated())
	syncedAt(t, key, sha)
	sha2 := r.commit(map[string]*string{"kept.yaml": nil, "pruned.yaml": nil})
	r.push()
	a := waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		st := a.Status.OperationState
		return st != nil && st.Phase == app.OperationSucceeded && st.SyncResult.Revision == sha2, "second sync not done"
	})
	gone(t, ns, "pruned")
	getConfigMap(t, ns, "kept")
	if i := changeIndex(a.Status.OperationState.SyncResult, "ConfigMap", "kept", app.ActionSkipped); i < 0 {
		t.Errorf("change set %+v lacks kept as skipped", a.Status.OperationState.SyncResult.Resources)
	}
}

package sync

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func deployment(name, image string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[3]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: main
        image: %[2]s
        ports:
        - containerPort: 8080
`, name, image, replicas)
}

func service(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector: {app: %[1]s}
  ports:
  - port: 80
    targetPort: 8080
`, name)
}

func configMap(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  value: %q\n", name, value)
}

func getDeployment(t testing.TB, ns, name string) *appsv1.Deployment {
	t.Helper()
	d, err := cluster.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// treeHasChain checks the resource tree for Deployment → ReplicaSet → Pod.
func treeHasChain(t testing.TB, key types.NamespacedName, deploy string, pods int) {
	t.Helper()
	clustertest.Eventually(t, 20*time.Second, func() (bool, string) {
		nodes := reconciler.Tree(getApp(t, key))
		byUID := map[types.UID]app.TreeNode{}
		for _, n := range nodes {
			if n.UID != "" {
				byUID[n.UID] = n
			}
		}
		found := 0
		for _, n := range nodes {
			if n.Key.Kind != "Pod" || len(n.ParentUIDs) == 0 {
				continue
			}
			rs, ok := byUID[n.ParentUIDs[0]]
			if !ok || rs.Key.Kind != "ReplicaSet" || len(rs.ParentUIDs) == 0 {
				continue
			}
			d, ok := byUID[rs.ParentUIDs[0]]
			if ok && d.Key.Kind == "Deployment" && d.Key.Name == deploy && n.Health != nil && n.Health.Status == app.Healthy {
				found++
			}
		}
		return found == pods, fmt.Sprintf("%d healthy pods under Deployment %s in the tree, want %d (%d nodes)", found, deploy, pods, len(nodes))
	})
}

func TestDirectoryAppSyncsAndPrunes(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"app/deploy.yaml":  s(deployment("web", "nginx:1.27", 2)),
		"app/service.yaml": s(service("web")),
		"app/config.yaml":  s(configMap("settings", "one")),
		"README.md":        s("not a manifest, and not in the path"),
	})
	key := newApp(t, ns, "web", r, "app", nil)
	a := syncedAt(t, key, sha)
	if len(a.Status.History) != 1 || a.Status.History[0].Revision != sha {
		t.Fatalf("history %+v, want one entry at %s", a.Status.History, sha)
	}
	if a.Status.Resources == nil || len(a.Status.Resources) != 3 {
		t.Fatalf("resources %+v", a.Status.Resources)
	}
	d := getDeployment(t, ns, "web")
	if got := d.Annotations[app.TrackingAnnotation]; got != ns+"/web:apps/Deployment:"+ns+"/web" {
		t.Fatalf("tracking annotation %q", got)
	}
	if d.Labels[app.AppLabel] == "" {
		t.Fatal("no app label")
	}
	treeHasChain(t, key, "web", 2)

	// A new commit updates the cluster; a removed file is pruned.
	sha2 := r.commit(map[string]*string{
		"app/deploy.yaml": s(deployment("web", "nginx:1.28", 2)),
		"app/config.yaml": nil,
	})
	r.push()
	syncedAt(t, key, sha2)
	if img := getDeployment(t, ns, "web").Spec.Template.Spec.Containers[0].Image; img != "nginx:1.28" {
		t.Fatalf("image %s after the new commit", img)
	}
	clustertest.Eventually(t, 10*time.Second, func() (bool, string) {
		_, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("config map not pruned: %v", err)
	})
}

func TestPruneOffShowsExtraneous(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"a.yaml": s(configMap("kept", "1")),
		"b.yaml": s(configMap("dropped", "2")),
	})
	key := newApp(t, ns, "noprune", r, "", func(a *app.Application) { a.Spec.SyncPolicy.Automated.Prune = false })
	syncedAt(t, key, sha)
	sha2 := r.commit(map[string]*string{"b.yaml": nil})
	r.push()
	a := waitApp(t, key, 20*time.Second, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Revision == sha2 && a.Status.Sync.Status == app.OutOfSync, "not OutOfSync at the new commit"
	})
	var extraneous bool
	for _, res := range a.Status.Resources {
		if res.Name == "dropped" && res.RequiresPruning && res.Status == app.OutOfSync {
			extraneous = true
		}
	}
	if !extraneous {
		t.Fatalf("dropped config map not shown as requiring pruning: %+v", a.Status.Resources)
	}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "dropped", metav1.GetOptions{}); err != nil {
		t.Fatalf("config map was pruned with prune off: %v", err)
	}
}

func TestDriftIsSeenAndHealed(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{"d.yaml": s(deployment("api", "nginx:1.27", 1))})
	watched := newApp(t, ns, "watched", r, "", func(a *app.Application) {
		a.Spec.SyncPolicy.Automated.SelfHeal = false
		a.Spec.Destination.Namespace = ns
	})
	syncedAt(t, watched, sha)

	// Without selfHeal, an edit shows as OutOfSync (from the watch, not a poll).
	d := getDeployment(t, ns, "api")
	d.Spec.Template.Spec.Containers[0].Image = "nginx:edited"
	if _, err := cluster.Client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	edited := time.Now()
	waitApp(t, watched, 5*time.Second, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Status == app.OutOfSync, "edit not seen"
	})
	t.Logf("drift seen %v after the edit", time.Since(edited))
	if img := getDeployment(t, ns, "api").Spec.Template.Spec.Containers[0].Image; img != "nginx:edited" {
		t.Fatalf("edit reverted without selfHeal: %s", img)
	}

	// With selfHeal, it is reverted.
	updateApp(t, watched, func(a *app.Application) { a.Spec.SyncPolicy.Automated.SelfHeal = true })
	clustertest.Eventually(t, 10*time.Second, func() (bool, string) {
		img := getDeployment(t, ns, "api").Spec.Template.Spec.Containers[0].Image
		return img == "nginx:1.27", "image still " + img
	})
	syncedAt(t, watched, sha)
}

func TestBrokenCommitKeepsLastGoodState(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	good := r.commit(map[string]*string{
		"d.yaml": s(deployment("api", "nginx:1.27", 1)),
		"c.yaml": s(configMap("c", "good")),
	})
	key := newApp(t, ns, "broken", r, "", nil)
	syncedAt(t, key, good)

	bad := r.commit(map[string]*string{
		"c.yaml": s(configMap("c", "bad")),
		"x.yaml": s("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\ndata: [unclosed\n"),
	})
	r.push()
	a := waitApp(t, key, 20*time.Second, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Revision == bad && a.Status.FindCondition(app.ConditionComparisonError) != nil, "no comparison error"
	})
	if a.Status.Sync.Status != app.OutOfSync || a.Status.Health.Status != app.Degraded {
		t.Fatalf("broken commit: sync %s health %s", a.Status.Sync.Status, a.Status.Health.Status)
	}
	if msg := a.Status.FindCondition(app.ConditionComparisonError).Message; !strings.Contains(msg, "x.yaml") {
		t.Fatalf("error does not name the file: %s", msg)
	}
	cm, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "c", metav1.GetOptions{})
	if err != nil || cm.Data["value"] != "good" {
		t.Fatalf("part of the broken commit was applied: %v %v", cm.Data, err)
	}

	fixed := r.commit(map[string]*string{"x.yaml": s(configMap("x", "fixed"))})
	r.push()
	a = syncedAt(t, key, fixed)
	if a.Status.FindCondition(app.ConditionComparisonError) != nil {
		t.Fatal("comparison error not cleared")
	}
	if cm, _ := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "c", metav1.GetOptions{}); cm.Data["value"] != "bad" {
		t.Fatalf("fixed commit not applied: %v", cm.Data)
	}
}

func TestInvalidObjectAppliesNothing(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"c.yaml": s(configMap("fine", "1")),
		"d.yaml": s(strings.Replace(deployment("bad", "nginx", 1), "replicas: 1", "replicas: -3", 1)),
	})
	key := newApp(t, ns, "invalid", r, "", nil)
	a := waitApp(t, key, 20*time.Second, func(a *app.Application) (bool, string) {
		op := a.Status.OperationState
		return op != nil && op.Phase == app.OperationFailed && op.SyncResult != nil && op.SyncResult.Revision == sha, "no failed operation"
	})
	var failed *app.Change
	for i, c := range a.Status.OperationState.SyncResult.Resources {
		if c.Action == app.ActionFailed {
			failed = &a.Status.OperationState.SyncResult.Resources[i]
		}
	}
	if failed == nil || failed.Name != "bad" || !strings.Contains(failed.Message, "replicas") {
		t.Fatalf("per-object failure missing: %+v", a.Status.OperationState.SyncResult)
	}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "fine", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("an object of a failing sync was applied: %v", err)
	}
	if a.Status.FindCondition(app.ConditionSyncError) == nil {
		t.Fatal("no SyncError condition")
	}
}

func TestMissingNamespaceFailsUnlessCreateNamespace(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{"c.yaml": s(configMap("c", "1"))})
	target := ns + "-target"
	t.Cleanup(func() { cluster.Client.CoreV1().Namespaces().Delete(ctx, target, metav1.DeleteOptions{}) })
	key := newApp(t, ns, "nons", r, "", func(a *app.Application) { a.Spec.Destination.Namespace = target })
	a := waitApp(t, key, 20*time.Second, func(a *app.Application) (bool, string) {
		op := a.Status.OperationState
		return op != nil && op.Phase == app.OperationFailed, "no failed operation"
	})
	if !strings.Contains(a.Status.OperationState.Message, target) {
		t.Fatalf("failure does not name the namespace: %s", a.Status.OperationState.Message)
	}
	updateApp(t, key, func(a *app.Application) { a.Spec.SyncPolicy.SyncOptions = app.SyncOptions{"CreateNamespace=true"} })
	// The failure stands for this revision until something changes; ask again.
	request(t, key, app.Operation{Sync: &app.SyncOperation{}})
	syncedAt(t, key, sha)
	if _, err := cluster.Client.CoreV1().ConfigMaps(target).Get(ctx, "c", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestNeverPrunesWhatIsNotItsOwn(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"one/c.yaml": s(configMap("one", "1")),
		"two/c.yaml": s(configMap("two", "2")),
	})
	one := newApp(t, ns, "one", r, "one", nil)
	two := newApp(t, ns, "two", r, "two", nil)
	syncedAt(t, one, sha)
	syncedAt(t, two, sha)
	// An object made by hand, carrying the app label but no tracking id.
	hand := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "by-hand", Labels: map[string]string{app.AppLabel: app.AppLabelValue(ns, "one")}}}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, hand, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sha2 := r.commit(map[string]*string{"one/c.yaml": s(configMap("one", "changed"))})
	r.push()
	syncedAt(t, one, sha2)
	syncedAt(t, two, sha2)
	for _, name := range []string{"two", "by-hand"} {
		if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Fatalf("%s was pruned by app one: %v", name, err)
		}
	}
}

func TestDeletedAppLeavesObjectsUnlessFinalizer(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"keep/c.yaml":    s(configMap("keep", "1")),
		"gone/c.yaml":    s(configMap("gone", "1")),
		"gone/kept.yaml": s("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  annotations:\n    argocd.argoproj.io/sync-options: Delete=false\n"),
	})
	keep := newApp(t, ns, "keep", r, "keep", nil)
	gone := newApp(t, ns, "gone", r, "gone", func(a *app.Application) { a.Finalizers = []string{ResourcesFinalizer} })
	syncedAt(t, keep, sha)
	syncedAt(t, gone, sha)
	apps := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns)
	for _, name := range []string{"keep", "gone"} {
		if err := apps.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	clustertest.Eventually(t, 20*time.Second, func() (bool, string) {
		_, err1 := apps.Get(ctx, "gone", metav1.GetOptions{})
		_, err2 := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "gone", metav1.GetOptions{})
		return apierrors.IsNotFound(err1) && apierrors.IsNotFound(err2), fmt.Sprintf("app: %v, object: %v", err1, err2)
	})
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "keep", metav1.GetOptions{}); err != nil {
		t.Fatalf("object of an app deleted without the finalizer went too: %v", err)
	}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Fatalf("object marked Delete=false went with its Application: %v", err)
	}
	// Its tracking id names an app that is gone: another app may adopt it.
	heir := newApp(t, ns, "heir", r, "keep", nil)
	syncedAt(t, heir, sha)
	cm, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "keep", metav1.GetOptions{})
	if err != nil || !strings.HasPrefix(cm.Annotations[app.TrackingAnnotation], ns+"/heir:") {
		t.Fatalf("orphan not adopted: %v %v", cm.Annotations, err)
	}
}

// TestRefreshMovesReconciledAt: a requested comparison of an unchanged
// Application records reconciledAt, and one asked for within the same
// second moves it on too, so that a caller waiting for it (gyre app
// refresh) sees each of its requests answered.
func TestRefreshMovesReconciledAt(t *testing.T) {
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{"app/cm.yaml": s(configMap("c", "v1"))})
	key := newApp(t, ns, "refreshed", r, "app", nil)
	prev := syncedAt(t, key, sha).Status.ReconciledAt
	for i := range 3 {
		reconciler.Refresh(key)
		a := waitApp(t, key, 10*time.Second, func(a *app.Application) (bool, string) {
			at := a.Status.ReconciledAt
			return at != nil && prev != nil && at.After(prev.Time), "reconciledAt did not move"
		})
		t.Logf("refresh %d: reconciledAt %s", i, a.Status.ReconciledAt.UTC().Format(time.RFC3339))
		prev = a.Status.ReconciledAt
	}
}

package sync

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

func TestKustomizeAndHelmAppsSync(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"kust/base/kustomization.yaml":    s("resources: [deploy.yaml, svc.yaml]\n"),
		"kust/base/deploy.yaml":           s(deployment("shop", "nginx:1.27", 2)),
		"kust/base/svc.yaml":              s(service("shop")),
		"kust/overlay/kustomization.yaml": s("resources: [../base]\nnamePrefix: prod-\nimages:\n- name: nginx\n  newTag: \"1.29\"\n"),
		"chart/Chart.yaml":                s("apiVersion: v2\nname: hello\nversion: 0.1.0\n"),
		"chart/values.yaml":               s("replicas: 1\nimage: nginx:1.26\n"),
		"chart/templates/deploy.yaml":     s(strings.Replace(strings.Replace(deployment("hello", "{{ .Values.image }}", 0), "replicas: 0", "replicas: {{ .Values.replicas }}", 1), "name: hello", "name: {{ .Release.Name }}", 1)),
	})
	kust := newApp(t, ns, "shop", r, "kust/overlay", nil)
	helm := newApp(t, ns, "hello", r, "chart", func(a *app.Application) {
		a.Spec.Source.Helm = &app.HelmSource{Parameters: []app.HelmParameter{{Name: "replicas", Value: "3"}}}
	})
	syncedAt(t, kust, sha)
	a := syncedAt(t, helm, sha)
	if a.Status.SourceType != app.SourceType("Helm") {
		t.Errorf("source type %q", a.Status.SourceType)
	}
	if img := getDeployment(t, ns, "prod-shop").Spec.Template.Spec.Containers[0].Image; img != "nginx:1.29" {
		t.Fatalf("kustomize image override: %s", img)
	}
	if n := *getDeployment(t, ns, "hello").Spec.Replicas; n != 3 {
		t.Fatalf("helm parameter: %d replicas", n)
	}
	treeHasChain(t, kust, "prod-shop", 2)
	treeHasChain(t, helm, "hello", 3)
}

// TestWavesAndHooksRunInOrder records the order in which objects appear in
// the cluster through a watch (events arrive in the order the API server
// stored them) and checks it against phases and waves.
func TestWavesAndHooksRunInOrder(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	job := func(name, hook, extra string) string {
		return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  annotations:
    %s
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox}]
`, name, hook+extra)
	}
	wave := func(doc, w string) string {
		return strings.Replace(doc, "metadata:\n", "metadata:\n  annotations: {gyre.dev/sync-wave: \""+w+"\"}\n", 1)
	}
	sha := r.commit(map[string]*string{
		"pre.yaml":  s(job("migrate", "argocd.argoproj.io/hook: PreSync", "")),
		"post.yaml": s(job("smoke", "helm.sh/hook: post-install,post-upgrade", "\n    helm.sh/hook-delete-policy: hook-succeeded")),
		"w-1.yaml":  s(wave(configMap("first", "1"), "-1")),
		"w0.yaml":   s(deployment("api", "nginx", 2)),
		"w5.yaml":   s(wave(configMap("last", "1"), "5")),
		"w5-d.yaml": s(wave(deployment("worker", "nginx", 1), "5")),
	})
	events := watchOrder(t, ns)
	key := newApp(t, ns, "ordered", r, "", nil)
	a := syncedAt(t, key, sha)

	order := events()
	pos := func(name string) int {
		for i, n := range order {
			if n == name {
				return i
			}
		}
		t.Fatalf("%s never appeared; order %v", name, order)
		return -1
	}
	for _, pair := range [][2]string{{"migrate", "first"}, {"first", "api"}, {"api", "last"}, {"api", "worker"}, {"last", "smoke"}, {"worker", "smoke"}} {
		if pos(pair[0]) > pos(pair[1]) {
			t.Errorf("%s appeared after %s; order %v", pair[0], pair[1], order)
		}
	}
	// The post-sync hook asked to be deleted when it succeeded.
	clustertest.Eventually(t, 10*time.Second, func() (bool, string) {
		_, err := cluster.Client.BatchV1().Jobs(ns).Get(ctx, "smoke", metav1.GetOptions{})
		return err != nil, "smoke job not deleted after success"
	})
	var hooks []string
	for _, c := range a.Status.OperationState.SyncResult.Resources {
		if c.HookType != "" {
			hooks = append(hooks, fmt.Sprintf("%s:%s:%s", c.Name, c.HookType, c.HookPhase))
		}
	}
	sort.Strings(hooks)
	if want := "migrate:PreSync:Succeeded smoke:PostSync:Succeeded"; strings.Join(hooks, " ") != want {
		t.Fatalf("hooks in the change set: %v, want %s", hooks, want)
	}
	// Hooks are not part of the app's inventory or sync status.
	for _, res := range a.Status.Resources {
		if res.Kind == "Job" {
			t.Fatalf("hook listed as a resource: %+v", res)
		}
	}
}

// watchOrder records the names of ConfigMaps, Deployments and Jobs created
// in ns, in the order the API server reports them.
func watchOrder(t *testing.T, ns string) func() []string {
	t.Helper()
	var watches []watch.Interface
	for _, w := range []func() (watch.Interface, error){
		func() (watch.Interface, error) {
			return cluster.Client.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{})
		},
		func() (watch.Interface, error) {
			return cluster.Client.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{})
		},
		func() (watch.Interface, error) {
			return cluster.Client.BatchV1().Jobs(ns).Watch(ctx, metav1.ListOptions{})
		},
	} {
		wi, err := w()
		if err != nil {
			t.Fatal(err)
		}
		watches = append(watches, wi)
	}
	type seen struct {
		rv   int64
		name string
	}
	ch := make(chan seen, 1000)
	for _, w := range watches {
		go func() {
			for ev := range w.ResultChan() {
				if ev.Type != watch.Added {
					continue
				}
				m, err := objectMeta(ev.Object)
				if err != nil || m.GetName() == "kube-root-ca.crt" {
					continue
				}
				var rv int64
				fmt.Sscan(m.GetResourceVersion(), &rv)
				ch <- seen{rv, m.GetName()}
			}
		}()
	}
	t.Cleanup(func() {
		for _, w := range watches {
			w.Stop()
		}
	})
	return func() []string {
		var all []seen
		for {
			select {
			case s := <-ch:
				all = append(all, s)
				continue
			default:
			}
			break
		}
		// Resource versions come from one etcd revision counter, so they order
		// creations across kinds.
		sort.Slice(all, func(i, j int) bool { return all[i].rv < all[j].rv })
		var names []string
		for _, s := range all {
			names = append(names, s.name)
		}
		return names
	}
}

func objectMeta(obj any) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T is not an object", obj)
	}
	return m, nil
}

func TestRollbackRestoresAndSuspends(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	v1 := r.commit(map[string]*string{"d.yaml": s(deployment("api", "nginx:1.0", 1)), "old.yaml": s(configMap("old", "1"))})
	key := newApp(t, ns, "rb", r, "", nil)
	syncedAt(t, key, v1)
	v2 := r.commit(map[string]*string{"d.yaml": s(deployment("api", "nginx:2.0", 1)), "old.yaml": nil})
	r.push()
	a := syncedAt(t, key, v2)
	if len(a.Status.History) != 2 {
		t.Fatalf("history %+v", a.Status.History)
	}
	first := a.Status.History[0]

	request(t, key, app.Operation{Rollback: &app.RollbackOperation{ID: first.ID, Prune: true}, InitiatedBy: app.InitiatedBy{Username: "tester"}})
	a = waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		op := a.Status.OperationState
		return op != nil && op.Operation.Rollback != nil && op.Phase == app.OperationSucceeded, "rollback not done"
	})
	if img := getDeployment(t, ns, "api").Spec.Template.Spec.Containers[0].Image; img != "nginx:1.0" {
		t.Fatalf("rollback left image %s", img)
	}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "old", metav1.GetOptions{}); err != nil {
		t.Fatalf("rollback did not restore the old object: %v", err)
	}
	if a.Status.AutomationSuspended == nil || a.IsAutomated() || a.Status.FindCondition(app.ConditionAutomationSuspended) == nil {
		t.Fatalf("automation not suspended: %+v", a.Status.AutomationSuspended)
	}
	// git still says v2: the app is OutOfSync and stays rolled back.
	a = waitApp(t, key, 10*time.Second, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Status == app.OutOfSync && a.Status.Sync.Revision == v2, "not OutOfSync against v2"
	})
	if last := a.Status.History[len(a.Status.History)-1]; last.Revision != v1 || last.InitiatedBy.Username != "tester" {
		t.Fatalf("rollback not in history: %+v", last)
	}

	// Resume returns the app to tracking main, at the head main has when
	// the resume is asked for: a commit made a moment before, not yet seen
	// by any poll or webhook, is what gets synced.
	v3 := r.commit(map[string]*string{"d.yaml": s(deployment("api", "nginx:3.0", 1))})
	request(t, key, app.Operation{Resume: &app.ResumeOperation{}})
	syncedAt(t, key, v3)
	if img := getDeployment(t, ns, "api").Spec.Template.Spec.Containers[0].Image; img != "nginx:3.0" {
		t.Fatalf("resume left image %s", img)
	}
}

// TestManualSyncResolvesHead: a sync asked for by hand syncs the branch's
// head as it is when the sync starts, though the last poll (whose listing
// stands for the poll interval) saw an older commit.
func TestManualSyncResolvesHead(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	v1 := r.commit(map[string]*string{"c.yaml": s(configMap("c", "1"))})
	key := newApp(t, ns, "manual-head", r, "", func(a *app.Application) { a.Spec.SyncPolicy = nil })
	request(t, key, app.Operation{Sync: &app.SyncOperation{}})
	syncedAt(t, key, v1)

	v2 := r.commit(map[string]*string{"c.yaml": s(configMap("c", "2"))}) // no push, no webhook
	request(t, key, app.Operation{Sync: &app.SyncOperation{}})
	a := waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		op := a.Status.OperationState
		return a.Operation == nil && op != nil && op.Phase == app.OperationSucceeded && op.SyncResult != nil && op.SyncResult.Revision != v1, "second sync not done"
	})
	if got := a.Status.OperationState.SyncResult.Revision; got != v2 {
		t.Fatalf("manual sync synced %s, want the head %s", app.ShortRevision(got), app.ShortRevision(v2))
	}
	cm, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "c", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["value"] != "2" {
		t.Fatalf("ConfigMap data %v, want the head's", cm.Data)
	}
}

func TestRollbackToUnknownIDIsRejected(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{"c.yaml": s(configMap("c", "1"))})
	key := newApp(t, ns, "rb404", r, "", nil)
	syncedAt(t, key, sha)
	request(t, key, app.Operation{Rollback: &app.RollbackOperation{ID: 42}})
	// The rejection is recorded first, then the request removed.
	waitApp(t, key, 10*time.Second, func(a *app.Application) (bool, string) {
		c := a.Status.FindCondition(app.ConditionInvalidSpecError)
		return c != nil && strings.Contains(c.Message, "42") && a.Operation == nil, "no rejection, or the rejected request left on the object"
	})
}

// TestRefreshAnnotationSeesPush: the annotation a follower replica (or a
// person) sets makes the worker look at the repository now, though its
// cached ref listing would otherwise stand for the poll interval.
func TestRefreshAnnotationSeesPush(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	v1 := r.commit(map[string]*string{"c.yaml": s(configMap("c", "1"))})
	key := newApp(t, ns, "poke", r, "", nil)
	syncedAt(t, key, v1)
	v2 := r.commit(map[string]*string{"c.yaml": s(configMap("c", "2"))})
	updateApp(t, key, func(a *app.Application) {
		if a.Annotations == nil {
			a.Annotations = map[string]string{}
		}
		a.Annotations[RefreshAnnotation] = "now"
	})
	syncedAt(t, key, v2)
	waitApp(t, key, 10*time.Second, func(a *app.Application) (bool, string) {
		_, still := a.Annotations[RefreshAnnotation]
		return !still, "refresh annotation not removed"
	})
}

// TestDryRunFirstSyncWithCreateNamespace: a dry run before the first sync
// reports what would be created, though the namespace does not exist yet,
// and changes nothing.
func TestDryRunFirstSyncWithCreateNamespace(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	r.commit(map[string]*string{"c.yaml": s(configMap("c", "1"))})
	target := ns + "-new"
	t.Cleanup(func() { cluster.Client.CoreV1().Namespaces().Delete(ctx, target, metav1.DeleteOptions{}) })
	key := newApp(t, ns, "dry", r, "", func(a *app.Application) {
		a.Spec.SyncPolicy = &app.SyncPolicy{SyncOptions: app.SyncOptions{"CreateNamespace=true"}}
		a.Spec.Destination.Namespace = target
	})
	waitApp(t, key, 20*time.Second, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Status == app.OutOfSync, "not compared"
	})
	request(t, key, app.Operation{Sync: &app.SyncOperation{DryRun: true}})
	a := waitApp(t, key, 20*time.Second, func(a *app.Application) (bool, string) {
		op := a.Status.OperationState
		return op != nil && op.Phase.Completed(), "dry run not finished"
	})
	op := a.Status.OperationState
	if op.Phase != app.OperationSucceeded || op.SyncResult == nil || op.SyncResult.Count(app.ActionCreated) != 1 {
		t.Fatalf("dry run: %s %s %+v", op.Phase, op.Message, op.SyncResult)
	}
	if _, err := cluster.Client.CoreV1().Namespaces().Get(ctx, target, metav1.GetOptions{}); err == nil {
		t.Fatal("a dry run created the namespace")
	}
	if len(a.Status.History) != 0 {
		t.Fatalf("a dry run was recorded in history: %+v", a.Status.History)
	}
}

// TestFailingHookStopsTheSync: a PreSync hook Job that fails fails the
// operation before anything of the Sync phase is applied, and the SyncFail
// hook runs.
func TestFailingHookStopsTheSync(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	hook := func(name, phase, command string) string {
		return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  annotations: {gyre.dev/hook: %s}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, command: [sh, -c, %q]}]
`, name, phase, command)
	}
	sha := r.commit(map[string]*string{
		"pre.yaml":     s(hook("migrate", "PreSync", "migrate; exit 1")),
		"cleanup.yaml": s(hook("cleanup", "SyncFail", "cleanup")),
		"c.yaml":       s(configMap("app-config", "1")),
	})
	key := newApp(t, ns, "hookfail", r, "", nil)
	a := waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		op := a.Status.OperationState
		return op != nil && op.Phase == app.OperationFailed && op.SyncResult != nil && op.SyncResult.Revision == sha, "no failed operation"
	})
	if !strings.Contains(a.Status.OperationState.Message, "migrate") {
		t.Fatalf("failure does not name the hook: %s", a.Status.OperationState.Message)
	}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "app-config", metav1.GetOptions{}); err == nil {
		t.Fatal("the Sync phase ran after its PreSync hook failed")
	}
	phases := map[string]app.OperationPhase{}
	for _, c := range a.Status.OperationState.SyncResult.Resources {
		if c.HookType != "" {
			phases[c.Name] = c.HookPhase
		}
	}
	if phases["migrate"] != app.OperationFailed || phases["cleanup"] != app.OperationSucceeded {
		t.Fatalf("hook phases %v, want migrate Failed and cleanup Succeeded", phases)
	}
}

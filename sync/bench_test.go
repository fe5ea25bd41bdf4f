package sync

import (
	"fmt"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// appFiles returns n objects for an app under dir: a Deployment, a Service
// and n-2 ConfigMaps.
func appFiles(dir, name string, n int) map[string]*string {
	files := map[string]*string{
		dir + "/deploy.yaml": s(deployment(name, "nginx:1.27", 1)),
		dir + "/svc.yaml":    s(service(name)),
	}
	for i := range n - 2 {
		files[fmt.Sprintf("%s/cm-%d.yaml", dir, i)] = s(configMap(fmt.Sprintf("%s-%d", name, i), fmt.Sprint(i)))
	}
	return files
}

// BenchmarkReconcileUnchanged reconciles a synced 50-object app whose git
// and cluster do not change, and reports the API requests each look costs:
// there must be no writes and no dry runs.
func BenchmarkReconcileUnchanged(b *testing.B) {
	ns := cluster.Namespace(b)
	r := newRepo(b)
	sha := r.commit(appFiles("app", "steady", 50))
	key := newApp(b, ns, "steady", r, "app", nil)
	syncedAt(b, key, sha)
	// Settle: the looks right after the sync still record health moving to
	// Healthy; wait until a look writes nothing.
	deadline := time.Now().Add(30 * time.Second)
	for {
		requests.take()
		_, err := reconciler.reconcile(ctx, key)
		c := requests.take()
		if err == nil && c["PUT"]+c["PATCH"]+c["POST"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("app still changing after 30s: %v %v", err, c)
		}
	}
	for b.Loop() {
		if _, err := reconciler.reconcile(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
	counts := requests.take()
	writes := counts["POST"] + counts["PUT"] + counts["PATCH"] + counts["DELETE"]
	b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
	b.ReportMetric(float64(counts["DRYRUN"])/float64(b.N), "dryruns/op")
	b.ReportMetric(float64(counts["GET"])/float64(b.N), "gets/op")
}

// BenchmarkColdSync100Apps creates 100 Applications of 10 objects each
// (one Deployment, one Service, eight ConfigMaps) from one repository and
// measures until every one is Synced and Healthy. Run with -benchtime=1x.
func BenchmarkColdSync100Apps(b *testing.B) {
	const apps, objects = 100, 10
	for b.Loop() {
		b.StopTimer()
		ns := cluster.Namespace(b)
		r := newRepo(b)
		files := map[string]*string{}
		for i := range apps {
			for k, v := range appFiles(fmt.Sprintf("apps/%d", i), fmt.Sprintf("a%d", i), objects) {
				files[k] = v
			}
		}
		sha := r.commit(files)
		b.StartTimer()
		keys := make([]types.NamespacedName, apps)
		for i := range apps {
			keys[i] = newApp(b, ns, fmt.Sprintf("a%d", i), r, fmt.Sprintf("apps/%d", i), nil)
		}
		for _, key := range keys {
			waitApp(b, key, 5*time.Minute, func(a *app.Application) (bool, string) {
				return a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == sha && a.Status.Health.Status == app.Healthy, "not synced and healthy"
			})
		}
	}
}

// BenchmarkDriftToRevert edits a managed Deployment behind gyre's back and
// measures until selfHeal has put it back, with no webhook and no poll: the
// live watch sees the edit.
func BenchmarkDriftToRevert(b *testing.B) {
	ns := cluster.Namespace(b)
	r := newRepo(b)
	sha := r.commit(map[string]*string{"d.yaml": s(deployment("api", "nginx:1.27", 1))})
	key := newApp(b, ns, "heal", r, "", nil)
	syncedAt(b, key, sha)
	deployments := cluster.Client.AppsV1().Deployments(ns)
	for b.Loop() {
		w, err := deployments.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=api"})
		if err != nil {
			b.Fatal(err)
		}
		patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"nginx:drifted"}]}}}}`)
		if _, err := deployments.Patch(ctx, "api", types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: "someone"}); err != nil {
			b.Fatal(err)
		}
		timeout := time.After(30 * time.Second)
	wait:
		for {
			select {
			case ev := <-w.ResultChan():
				if got, ok := ev.Object.(*appsv1.Deployment); ok && ev.Type == watch.Modified && got.Spec.Template.Spec.Containers[0].Image == "nginx:1.27" {
					break wait
				}
			case <-timeout:
				b.Fatal("drift not reverted within 30s")
			}
		}
		w.Stop()
	}
}

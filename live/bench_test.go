package live

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// BenchmarkOnChangeLatency measures a managed Deployment edit (a merge
// patch of an annotation) until OnChange reports its Application with the
// edit in the cache (ns/op), and the patch request alone (write-ns/op): the
// difference is the watch-to-callback latency.
func BenchmarkOnChangeLatency(b *testing.B) {
	ctx := context.Background()
	ns := cluster.Namespace(b)
	demo := types.NamespacedName{Namespace: ns, Name: "demo"}
	c, rec := newCache(b)
	startWatches(b, c, ns, deploymentGVK, serviceGVK)
	createWeb(b, demo, ns, 1)
	clustertest.Eventually(b, 30*time.Second, func() (bool, string) {
		return webTreeReady(c.Tree(ns, "demo", declared(c, demo)), 1)
	})
	key := app.ResourceKey{Group: "apps", Kind: "Deployment", Namespace: ns, Name: "web"}
	var write time.Duration
	i := 0
	for b.Loop() {
		i++
		v := strconv.Itoa(i)
		mark := rec.mark()
		start := time.Now()
		patch := []byte(`{"metadata":{"annotations":{"example.com/bench":"` + v + `"}}}`)
		if _, err := cluster.Client.AppsV1().Deployments(ns).Patch(ctx, "web", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			b.Fatal(err)
		}
		write += time.Since(start)
		rec.waitFor(b, 5*time.Second, "OnChange after the edit", func() bool {
			live, ok := c.Get(key)
			return ok && live.GetAnnotations()["example.com/bench"] == v && rec.calledSince(mark, demo)
		})
	}
	b.ReportMetric(float64(write.Nanoseconds())/float64(b.N), "write-ns/op")
}

// BenchmarkTree50 measures Tree for an Application of 50 objects: 20
// Deployments of 2 replicas, 20 Services and 10 ConfigMaps, 130 nodes with
// their ReplicaSets, Pods and EndpointSlices.
func BenchmarkTree50(b *testing.B) {
	ctx := context.Background()
	ns := cluster.Namespace(b)
	demo := types.NamespacedName{Namespace: ns, Name: "demo"}
	c, _ := newCache(b)
	startWatches(b, c, ns, deploymentGVK, serviceGVK, configMapGVK)
	for i := range 20 {
		name := fmt.Sprintf("web-%02d", i)
		d := &appsv1.Deployment{
			ObjectMeta: tracked(demo, deploymentGVK.GroupKind(), ns, name),
			Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: selector(name), Template: podTemplate(name)},
		}
		if _, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		svc := &corev1.Service{
			ObjectMeta: tracked(demo, serviceGVK.GroupKind(), ns, name),
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Port: 80}}},
		}
		if _, err := cluster.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 10 {
		cm := &corev1.ConfigMap{ObjectMeta: tracked(demo, configMapGVK.GroupKind(), ns, fmt.Sprintf("cfg-%02d", i)), Data: map[string]string{"k": "v"}}
		if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	const wantNodes = 50 + 20 + 40 + 20
	var in []TreeInput
	clustertest.Eventually(b, 60*time.Second, func() (bool, string) {
		in = declared(c, demo)
		tree := c.Tree(ns, "demo", in)
		healthy := 0
		for _, p := range nodesOfKind(tree, "Pod") {
			if p.Health != nil && p.Health.Status == app.Healthy && len(p.ParentUIDs) == 2 {
				healthy++
			}
		}
		if len(in) != 50 || len(tree) != wantNodes || healthy != 40 {
			return false, fmt.Sprintf("%d declared, %d nodes (want %d), %d healthy pods behind Services", len(in), len(tree), wantNodes, healthy)
		}
		return true, ""
	})
	for b.Loop() {
		if tree := c.Tree(ns, "demo", in); len(tree) != wantNodes {
			b.Fatalf("%d nodes", len(tree))
		}
	}
	b.ReportMetric(wantNodes, "nodes")
}

// BenchmarkWatchNamespaces200 watches the descendants of 200 namespaces,
// each holding a ReplicaSet scaled to zero, a suspended Job and an
// EndpointSlice, in each mode. It reports the time to watch them all
// (ns/op) and, once they have synced, the descendant watches running
// (watches) and the live heap and the goroutines they add (heap-MiB,
// goroutines). The API server runs in the test process, so its side of the
// watches counts too.
func BenchmarkWatchNamespaces200(b *testing.B) {
	const n = 200
	namespaces := benchNamespaces(b, n)
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			var watches, goroutines int
			var heap uint64
			for b.Loop() {
				w, h, g := watchNamespaces(b, m, namespaces)
				watches, heap, goroutines = watches+w, heap+h, goroutines+g
			}
			b.ReportMetric(float64(watches)/float64(b.N), "watches")
			b.ReportMetric(float64(heap)/float64(b.N)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(goroutines)/float64(b.N), "goroutines")
		})
	}
}

// watchNamespaces starts a cache in mode m, watches namespaces and returns
// the descendant watches it runs, and the live heap and goroutines it adds
// once synced. It stops the cache and waits for its goroutines to end
// before returning.
func watchNamespaces(b *testing.B, m mode, namespaces []string) (watches int, heap uint64, goroutines int) {
	b.Helper()
	b.StopTimer()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	base := runtime.NumGoroutine()
	c, err := New(cluster.Config, Options{
		Logger:                slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		NamespacedDescendants: m.namespaced,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.Start(ctx)
	b.StartTimer()
	for _, ns := range namespaces {
		if err := c.WatchNamespace(ctx, ns); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	watches = len(descendantWatches(c))
	runtime.GC()
	runtime.ReadMemStats(&after)
	goroutines = runtime.NumGoroutine() - base
	runtime.KeepAlive(c)
	cancel()
	// Let the informers end before the next round measures. Idle HTTP/2
	// connections may outlive them: give up waiting after a while.
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for n := runtime.NumGoroutine(); n > base+10; n = runtime.NumGoroutine() {
		if time.Now().After(deadline) {
			b.Logf("%d goroutines 30s after the cache stopped, %d before it started", n, base)
			break
		}
		<-tick.C
	}
	b.StartTimer()
	return watches, after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc), goroutines
}

// benchNamespaces creates n namespaces, each with a ReplicaSet scaled to
// zero (its pod template with env and a volume), a suspended Job and an
// EndpointSlice, deleted when the benchmark ends.
func benchNamespaces(b *testing.B, n int) []string {
	b.Helper()
	ctx := context.Background()
	prefix := fmt.Sprintf("bench-ns-%d-", time.Now().UnixNano()%1e6)
	tmpl := podTemplate("web")
	tmpl.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "PORT", Value: "8080"}}
	tmpl.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	tmpl.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	jobTmpl := podTemplate("job")
	jobTmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	out := make([]string, n)
	for i := range out {
		ns := fmt.Sprintf("%s%03d", prefix, i)
		out[i] = ns
		if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cluster.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
		rs := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Annotations: map[string]string{"deployment.kubernetes.io/revision": "1"}},
			Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](0), Selector: selector("web"), Template: tmpl},
		}
		if _, err := cluster.Client.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: ns},
			Spec:       batchv1.JobSpec{Suspend: ptr.To(true), Template: jobTmpl},
		}
		if _, err := cluster.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		slice := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "web", Namespace: ns, Labels: map[string]string{serviceNameLabel: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
			Ports:       []discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}},
		}
		if _, err := cluster.Client.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	return out
}

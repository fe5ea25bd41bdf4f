package live

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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

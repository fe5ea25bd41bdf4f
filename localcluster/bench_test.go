package localcluster_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/localcluster"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

// BenchmarkColdStart measures a start on an empty data dir until /readyz
// answers ok (ready-ms) and until Start returns with the nodes registered
// and the controllers running (ns/op). Run with -benchtime=3x.
func BenchmarkColdStart(b *testing.B) {
	cluster.Stop()
	defer func() {
		if err := cluster.Restart(); err != nil {
			b.Fatal(err)
		}
	}()
	var ready time.Duration
	for b.Loop() {
		c, err := localcluster.Start(ctx, localcluster.Options{DataDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		ready += c.ReadyAfter()
		b.StopTimer()
		c.Stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(ready.Milliseconds())/float64(b.N), "ready-ms")
}

// BenchmarkDeploymentAvailable measures a 3-replica Deployment from create
// to Available with all replicas ready, seen through a watch.
func BenchmarkDeploymentAvailable(b *testing.B) {
	ns := cluster.Namespace(b)
	deployments := cluster.Client.AppsV1().Deployments(ns)
	i := 0
	for b.Loop() {
		i++
		name := fmt.Sprintf("web-%d", i)
		w, err := deployments.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
		if err != nil {
			b.Fatal(err)
		}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: selector(name), Template: podTemplate(name, "nginx")},
		}
		if _, err := deployments.Create(ctx, d, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		timeout := time.After(30 * time.Second)
	wait:
		for {
			select {
			case ev := <-w.ResultChan():
				if got, ok := ev.Object.(*appsv1.Deployment); ok && ev.Type != watch.Deleted && deploymentAvailable(got) {
					break wait
				}
			case <-timeout:
				b.Fatalf("deployment %s not available after 30s", name)
			}
		}
		w.Stop()
		b.StopTimer()
		deployments.Delete(ctx, name, metav1.DeleteOptions{})
		b.StartTimer()
	}
}

// BenchmarkIdleRSS reports the resident memory of the process running the
// whole control plane (etcd, kube-apiserver, controllers, simulated nodes)
// while it is idle, and its goroutine count.
func BenchmarkIdleRSS(b *testing.B) {
	runtime.GC()
	for b.Loop() {
		time.Sleep(100 * time.Millisecond) // idle time is what is measured, not a wait for a condition
	}
	b.ReportMetric(float64(rssBytes(b))/(1<<20), "RSS-MB")
	b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
}

func rssBytes(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status on this system:", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}

package appset

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkListGenerator300 measures one ApplicationSet of 300 list
// elements from creation to its 300 Applications written and listed in its
// status, against the embedded API server: the ApplicationSet half of the
// issue's "3 clusters × 300 apps" benchmark (the sync of the Applications
// is the reconcile loop's).
func BenchmarkListGenerator300(b *testing.B) {
	const n = 300
	elems := make([]string, n)
	for i := range elems {
		elems[i] = fmt.Sprintf("app-%03d", i)
	}
	manifest := listSet("bench", "", true, "", elems...)
	for b.Loop() {
		b.StopTimer()
		ns := kube.Namespace(b)
		c, err := New(kube.Config, Options{Namespace: ns, Logger: slog.New(slog.DiscardHandler), Workers: 2})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if err := c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() { c.Work(ctx); close(done) }()
		b.StartTimer()

		applyManifest(b, ns, manifest)
		testsupport.Eventually(b, 5*time.Minute, func() (bool, string) {
			u, err := kube.Dynamic.Resource(GroupVersionResource()).Namespace(ns).Get(ctx, "bench", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			s, err := FromUnstructured(u)
			if err != nil {
				return false, err.Error()
			}
			return len(s.Status.Resources) == n && cond(s, ConditionResourcesUpToDate).Status == "True", fmt.Sprintf("%d of %d listed", len(s.Status.Resources), n)
		})

		b.StopTimer()
		list, err := kube.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != n {
			b.Fatalf("%d Applications, %v", len(list.Items), err)
		}
		cancel()
		<-done
		b.StartTimer()
	}
	b.ReportMetric(float64(n), "apps/op")
}

package live

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/localcluster/clustertest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// manualClock is a clock that moves only when told to.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// watchedNamespaces returns the namespaces with descendant watches, from
// Stats.
func watchedNamespaces(c *Cache) []string {
	var out []string
	for _, st := range c.Stats() {
		if st.Namespace != "" && !st.Managed && !slices.Contains(out, st.Namespace) {
			out = append(out, st.Namespace)
		}
	}
	slices.Sort(out)
	return out
}

// Descendants watched per namespace. Not parallel: it counts the process's
// goroutines.
func TestRetainNamespacesStopsIdleWatches(t *testing.T) {
	ctx := context.Background()
	kept, idle := cluster.Namespace(t), cluster.Namespace(t)
	clock := &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c, err := New(cluster.Config, Options{
		IdleTimeout:           10 * time.Minute,
		Now:                   clock.Now,
		Logger:                slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		NamespacedDescendants: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	c.Start(runCtx)
	startWatches(t, c, kept, configMapGVK)

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: idle},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "nginx:1.27"}}},
	}
	pod, err = cluster.Client.CoreV1().Pods(idle).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	if err := c.WatchNamespace(ctx, idle); err != nil {
		t.Fatal(err)
	}
	if c.descendantByUID(idle, pod.UID) == nil {
		t.Fatal("the pod is not cached after WatchNamespace")
	}
	grown := runtime.NumGoroutine()
	if grown <= base {
		t.Fatalf("watching a namespace started no goroutines (%d before, %d after)", base, grown)
	}

	// Left out, but just asked for: kept. Asked for again before the
	// timeout: the idle time starts over.
	if got := c.RetainNamespaces([]string{kept}); len(got) != 0 {
		t.Fatalf("RetainNamespaces stopped %v at once; want nothing before IdleTimeout", got)
	}
	clock.Advance(9 * time.Minute)
	if err := c.WatchNamespace(ctx, idle); err != nil {
		t.Fatal(err)
	}
	clock.Advance(9 * time.Minute)
	if got := c.RetainNamespaces([]string{kept}); len(got) != 0 {
		t.Fatalf("RetainNamespaces stopped %v 9m after a WatchNamespace; want nothing", got)
	}
	// The kept namespace was named all along, so its idle time never grew.
	clock.Advance(time.Minute)
	if got := c.RetainNamespaces([]string{kept}); !slices.Equal(got, []string{idle}) {
		t.Fatalf("RetainNamespaces stopped %v, want [%s]", got, idle)
	}
	if got := watchedNamespaces(c); !slices.Equal(got, []string{kept}) {
		t.Errorf("namespaces watched after the release: %v, want [%s]", got, kept)
	}
	if got := c.Namespaces(); !slices.Equal(got, []string{kept}) {
		t.Errorf("Namespaces after the release = %v, want [%s]", got, kept)
	}
	if c.descendantByUID(idle, pod.UID) != nil {
		t.Error("the pod of a released namespace is still cached")
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		n := runtime.NumGoroutine()
		return n <= base+2, fmt.Sprintf("%d goroutines; %d before watching the namespace, %d while watching", n, base, grown)
	})

	// Asked for again, the namespace is watched afresh.
	if err := c.WatchNamespace(ctx, idle); err != nil {
		t.Fatal(err)
	}
	if c.descendantByUID(idle, pod.UID) == nil {
		t.Error("the pod is not cached after watching the namespace again")
	}
}

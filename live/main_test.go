package live

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var cluster *clustertest.Cluster

func TestMain(m *testing.M) { os.Exit(clustertest.Run(m, &cluster)) }

// The kinds the tests watch.
var (
	deploymentGVK  = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	statefulSetGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}
	serviceGVK     = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	configMapGVK   = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	cronJobGVK     = schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}
)

// recorder records every OnChange call and wakes waiters.
type recorder struct {
	mu   sync.Mutex
	keys []types.NamespacedName
	wake chan struct{}
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{}, 1)} }

func (r *recorder) record(k types.NamespacedName) {
	r.mu.Lock()
	r.keys = append(r.keys, k)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// mark returns the number of calls so far.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.keys)
}

// all returns every recorded call.
func (r *recorder) all() []types.NamespacedName {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]types.NamespacedName(nil), r.keys...)
}

// calledSince reports whether OnChange was called with k after mark.
func (r *recorder) calledSince(mark int, k types.NamespacedName) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, got := range r.keys[mark:] {
		if got == k {
			return true
		}
	}
	return false
}

// waitFor waits, woken by OnChange calls, until cond holds or timeout passes.
func (r *recorder) waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-r.wake:
		case <-deadline.C:
			t.Fatalf("%s: not seen within %s", what, timeout)
		}
	}
}

// mode is a way of watching descendants, for tests that run in each.
type mode struct {
	name string
	// namespaced sets Options.NamespacedDescendants.
	namespaced bool
}

// modes are the cluster-wide mode (the default) and the per-namespace one.
var modes = []mode{{name: "cluster-wide"}, {name: "per-namespace", namespaced: true}}

// newCache starts a cache that records OnChange calls, stopped when the test
// ends. It watches descendants cluster-wide.
func newCache(t testing.TB) (*Cache, *recorder) {
	t.Helper()
	return newCacheIn(t, modes[0])
}

// newCacheIn is newCache with descendants watched in mode m.
func newCacheIn(t testing.TB, m mode) (*Cache, *recorder) {
	t.Helper()
	rec := newRecorder()
	c, err := New(cluster.Config, Options{
		OnChange:              rec.record,
		Logger:                slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		NamespacedDescendants: m.namespaced,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c.Start(ctx)
	return c, rec
}

// startWatches makes c watch ns and the given kinds.
func startWatches(t testing.TB, c *Cache, ns string, gvks ...schema.GroupVersionKind) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Watch(ctx, gvks...); err != nil {
		t.Fatal(err)
	}
	if err := c.WatchNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
}

// tracked returns object metadata that marks an object named name of kind
// gk in ns as managed by the Application appKey.
func tracked(appKey types.NamespacedName, gk schema.GroupKind, ns, name string) metav1.ObjectMeta {
	k := app.ResourceKey{Group: gk.Group, Kind: gk.Kind, Namespace: ns, Name: name}
	return metav1.ObjectMeta{
		Name:        name,
		Namespace:   ns,
		Labels:      map[string]string{app.AppLabel: app.AppLabelValue(appKey.Namespace, appKey.Name)},
		Annotations: map[string]string{app.TrackingAnnotation: app.TrackingID(appKey.Namespace, appKey.Name, k)},
	}
}

func podTemplate(name string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "main", Image: "nginx:1.27",
			Ports: []corev1.ContainerPort{{ContainerPort: 80}},
		}}},
	}
}

func selector(name string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}
}

// declared returns the tree inputs for the Application's managed objects,
// all Synced.
func declared(c *Cache, appKey types.NamespacedName) []TreeInput {
	var in []TreeInput
	for _, u := range c.Managed(appKey.Namespace, appKey.Name) {
		in = append(in, TreeInput{Key: app.KeyOf(u), Version: u.GroupVersionKind().Version, Live: u, Sync: app.Synced})
	}
	return in
}

// treeIndex indexes a tree by uid and checks that every node's parents
// come before it.
func treeIndex(tree []app.TreeNode) (map[types.UID]app.TreeNode, error) {
	pos := map[types.UID]int{}
	byUID := map[types.UID]app.TreeNode{}
	for i, n := range tree {
		for _, p := range n.ParentUIDs {
			j, ok := pos[p]
			if !ok {
				return nil, fmt.Errorf("%s: parent %s is not before it", n.Key, p)
			}
			if j >= i {
				return nil, fmt.Errorf("%s: parent %s after it", n.Key, p)
			}
		}
		if n.UID != "" {
			pos[n.UID] = i
			byUID[n.UID] = n
		}
	}
	return byUID, nil
}

// nodesOfKind returns the nodes of kind in tree.
func nodesOfKind(tree []app.TreeNode, kind string) []app.TreeNode {
	var out []app.TreeNode
	for _, n := range tree {
		if n.Key.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

// infoValue returns the value of the info item name of n.
func infoValue(n app.TreeNode, name string) string {
	for _, i := range n.Info {
		if i.Name == name {
			return i.Value
		}
	}
	return ""
}

// hasParent reports whether n has parent uid p.
func hasParent(n app.TreeNode, p types.UID) bool {
	for _, u := range n.ParentUIDs {
		if u == p {
			return true
		}
	}
	return false
}

// describe renders a tree for failure messages.
func describe(tree []app.TreeNode) string {
	s := ""
	for _, n := range tree {
		h := ""
		if n.Health != nil {
			h = string(n.Health.Status)
		}
		s += fmt.Sprintf("\n  %s uid=%s parents=%v health=%s info=%v", n.Key, n.UID, n.ParentUIDs, h, n.Info)
	}
	return s
}

package live

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

func TestWatchUnknownKind(t *testing.T) {
	t.Parallel()
	c, _ := newCache(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.Watch(ctx, schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}, configMapGVK)
	if err == nil || !strings.Contains(err.Error(), `no resource "Widget" in group "example.com"`) {
		t.Fatalf("Watch of an unknown kind: err = %v, want one naming the kind", err)
	}
	// The known kind in the same call is watched all the same.
	if st := c.Stats(); len(st) != 1 || st[0].Resource.Resource != "configmaps" || !st[0].Managed {
		t.Errorf("Stats after the Watch = %+v, want the configmaps watch", st)
	}
}

func TestWatchBeforeStart(t *testing.T) {
	t.Parallel()
	c, err := New(cluster.Config, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Watch(context.Background(), configMapGVK); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("Watch before Start: err = %v", err)
	}
}

func TestWatchNewCRD(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := cluster.Namespace(t)
	demo := types.NamespacedName{Namespace: ns, Name: "demo"}
	c, rec := newCache(t)
	group := ns + ".example.com"
	gvk := schema.GroupVersionKind{Group: group, Version: "v1", Kind: "Widget"}

	// Discovery is read before the CRD exists and cached.
	if _, err := c.Mapping(configMapGVK); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Mapping(gvk); err == nil {
		t.Fatal("Mapping of Widget before its CRD exists: no error")
	}

	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "widgets." + group},
		"spec": map[string]any{
			"group": group,
			"scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true,
				}},
			}},
		},
	}}
	if _, err := cluster.Dynamic.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cluster.Dynamic.Resource(crdGVR).Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{})
	})
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		got, err := cluster.Dynamic.Resource(crdGVR).Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
				return true, ""
			}
		}
		return false, "CRD not Established"
	})

	c.ResetMapping()
	m, err := c.Mapping(gvk)
	if err != nil {
		t.Fatalf("Mapping after ResetMapping: %v", err)
	}
	if m.Resource.Resource != "widgets" || m.Scope.Name() != "namespace" {
		t.Errorf("Mapping = %v scope %s", m.Resource, m.Scope.Name())
	}
	startWatches(t, c, ns, gvk)

	w := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"size": int64(3)}}}
	w.SetGroupVersionKind(gvk)
	meta := tracked(demo, gvk.GroupKind(), ns, "w1")
	w.SetName(meta.Name)
	w.SetLabels(meta.Labels)
	w.SetAnnotations(meta.Annotations)
	mark := rec.mark()
	if _, err := cluster.Dynamic.Resource(m.Resource).Namespace(ns).Create(ctx, w, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, 5*time.Second, "OnChange(demo) for the new Widget", func() bool {
		_, ok := c.Get(app.ResourceKey{Group: group, Kind: "Widget", Namespace: ns, Name: "w1"})
		return ok && rec.calledSince(mark, demo)
	})
	if got := c.Managed(ns, "demo"); len(got) != 1 || got[0].GetKind() != "Widget" {
		t.Errorf("Managed = %d objects, want the Widget", len(got))
	}
}

// TestWatchFindsNewCRDWithoutReset shows that Watch itself retries with
// fresh discovery when a kind is unknown to the cached one.
func TestWatchFindsNewCRDWithoutReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := cluster.Namespace(t)
	c, _ := newCache(t)
	group := ns + ".example.com"
	if _, err := c.Mapping(configMapGVK); err != nil { // discovery cached
		t.Fatal(err)
	}
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "gadgets." + group},
		"spec": map[string]any{
			"group": group,
			"scope": "Cluster",
			"names": map[string]any{"plural": "gadgets", "kind": "Gadget"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object"}},
			}},
		},
	}}
	if _, err := cluster.Dynamic.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cluster.Dynamic.Resource(crdGVR).Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{})
	})
	gvk := schema.GroupVersionKind{Group: group, Version: "v1", Kind: "Gadget"}
	// Until the CRD is Established its kind may be unknown; Watch must find
	// it as soon as discovery serves it, without an explicit ResetMapping.
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Watch(ctx, gvk); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	m, err := c.Mapping(gvk)
	if err != nil || m.Scope.Name() != "root" {
		t.Fatalf("Mapping of the cluster-scoped Gadget = %v, %v", m, err)
	}
}

// TestWatchLimitedToNamespaces: with Options.Namespaces the managed objects
// of namespaced kinds are watched in those namespaces only, one watch each,
// which is all namespace-scoped RBAC allows.
func TestWatchLimitedToNamespaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	allowed, other := cluster.Namespace(t), cluster.Namespace(t)
	c, err := New(cluster.Config, Options{Namespaces: []string{allowed}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.Start(runCtx)
	for _, ns := range []string{allowed, other} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tracked", Namespace: ns, Labels: map[string]string{app.AppLabel: "x"}}}
		if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Watch(ctx, configMapGVK); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(app.ResourceKey{Kind: "ConfigMap", Namespace: allowed, Name: "tracked"}); !ok {
		t.Error("object in the allowed namespace not cached")
	}
	if _, ok := c.Get(app.ResourceKey{Kind: "ConfigMap", Namespace: other, Name: "tracked"}); ok {
		t.Error("object outside the allowed namespaces cached")
	}
	for _, st := range c.Stats() {
		if st.Resource.Resource == "configmaps" && st.Managed && st.Namespace != allowed {
			t.Errorf("a configmaps watch outside %s: %+v", allowed, st)
		}
	}
	// Descendants too are watched in the namespace alone, never
	// cluster-wide.
	if err := c.WatchNamespace(ctx, allowed); err != nil {
		t.Fatal(err)
	}
	got := descendantWatches(c)
	if len(got) != len(descendants()) {
		t.Errorf("%d descendant watches, want %d: %+v", len(got), len(descendants()), got)
	}
	for _, st := range got {
		if st.Namespace != allowed {
			t.Errorf("a descendant watch outside %s: %+v", allowed, st)
		}
	}
}

// TestWatchRefusedFailsAtOnce: a watch the API server refuses (403, as with
// --namespaces and RBAC that grants less) ends the wait with the refusal
// at once, rather than holding the caller until SyncTimeout.
func TestWatchRefusedFailsAtOnce(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	if _, err := cluster.Client.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nobody"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":nobody"}
	c, err := New(cfg, Options{Namespaces: []string{ns}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.Start(runCtx)
	start := time.Now()
	err = c.Watch(context.Background(), configMapGVK)
	if err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Fatalf("Watch without RBAC: err = %v, want the refusal", err)
	}
	if d := time.Since(start); d > SyncTimeout/2 {
		t.Errorf("refusal took %s to surface", d)
	}
}

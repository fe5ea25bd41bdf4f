package localcluster_test

import (
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

func mustObject(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestServerSideApply(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	cms := cluster.Dynamic.Resource(configMaps).Namespace(ns)
	desired := mustObject(t, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: blue
  size: large
`)
	applied, err := cms.Apply(ctx, "settings", desired, metav1.ApplyOptions{FieldManager: "gyre"})
	if err != nil {
		t.Fatal(err)
	}
	if applied.GetResourceVersion() == "" || applied.Object["data"].(map[string]any)["color"] != "blue" {
		t.Fatalf("apply returned %v", applied.Object)
	}

	// Re-applying the same object changes nothing, not even the resourceVersion.
	again, err := cms.Apply(ctx, "settings", desired, metav1.ApplyOptions{FieldManager: "gyre"})
	if err != nil {
		t.Fatal(err)
	}
	if again.GetResourceVersion() != applied.GetResourceVersion() {
		t.Fatalf("unchanged re-apply moved resourceVersion %s -> %s", applied.GetResourceVersion(), again.GetResourceVersion())
	}

	// A dry run returns the would-be object and stores nothing.
	changed := desired.DeepCopy()
	unstructured.SetNestedField(changed.Object, "red", "data", "color")
	dry, err := cms.Apply(ctx, "settings", changed, metav1.ApplyOptions{FieldManager: "gyre", DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := unstructured.NestedString(dry.Object, "data", "color"); got != "red" {
		t.Fatalf("dry run predicted color %q, want red", got)
	}
	live, err := cms.Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := unstructured.NestedString(live.Object, "data", "color"); got != "blue" || live.GetResourceVersion() != applied.GetResourceVersion() {
		t.Fatalf("dry run changed the live object: color %q rv %s", got, live.GetResourceVersion())
	}

	// Another manager changing a field gyre owns is a conflict, unless forced.
	_, err = cms.Apply(ctx, "settings", changed, metav1.ApplyOptions{FieldManager: "someone-else"})
	if !apierrors.IsConflict(err) {
		t.Fatalf("want a conflict, got %v", err)
	}
	forced, err := cms.Apply(ctx, "settings", changed, metav1.ApplyOptions{FieldManager: "someone-else", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := unstructured.NestedString(forced.Object, "data", "color"); got != "red" {
		t.Fatalf("forced apply left color %q", got)
	}
}

package diff

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gyre-cd/gyre/app"
)

func TestKeepIgnored(t *testing.T) {
	deployment := func(replicas int64, images ...string) *unstructured.Unstructured {
		var containers []any
		for i, img := range images {
			containers = append(containers, map[string]any{"name": []string{"app", "x"}[i], "image": img})
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "api", "namespace": "prod"},
			"spec":     map[string]any{"replicas": replicas, "template": map[string]any{"spec": map[string]any{"containers": containers}}},
		}}
	}
	replicas := app.IgnoreDifference{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}
	images := app.IgnoreDifference{Group: "*", Kind: "*", JQPathExpressions: []string{`.spec.template.spec.containers[] | select(.name == "x") | .image`}}
	tests := []struct {
		name       string
		desired    *unstructured.Unstructured
		live       *unstructured.Unstructured
		rules      []app.IgnoreDifference
		want       *unstructured.Unstructured
		wantShared bool // the desired object itself comes back
	}{
		{"pointer takes the live value", deployment(1, "app:1"), deployment(3, "app:1"), []app.IgnoreDifference{replicas}, deployment(3, "app:1"), false},
		{"no live object: desired as it is", deployment(1, "app:1"), nil, []app.IgnoreDifference{replicas}, deployment(1, "app:1"), true},
		{"rule for the core group only", deployment(1, "app:1"), deployment(3, "app:1"), []app.IgnoreDifference{{Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}}, deployment(1, "app:1"), true},
		{"jq takes the live value of the selected item only", deployment(1, "app:2", "x:2"), deployment(1, "app:1", "x:1"), []app.IgnoreDifference{images}, deployment(1, "app:2", "x:1"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.desired.DeepCopy()
			got, err := KeepIgnored(context.Background(), tt.desired, tt.live, tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got.Object, tt.want.Object) {
				t.Errorf("got %v\nwant %v", got.Object, tt.want.Object)
			}
			if (got == tt.desired) != tt.wantShared {
				t.Errorf("returned the desired object itself: %v, want %v", got == tt.desired, tt.wantShared)
			}
			if !equal(tt.desired.Object, before.Object) {
				t.Error("KeepIgnored modified the desired object")
			}
		})
	}

	t.Run("field live does not have is left out", func(t *testing.T) {
		live := deployment(1, "app:1")
		unstructured.RemoveNestedField(live.Object, "spec", "replicas")
		got, err := KeepIgnored(context.Background(), deployment(2, "app:1"), live, []app.IgnoreDifference{replicas})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := unstructured.NestedFieldNoCopy(got.Object, "spec", "replicas"); ok {
			t.Errorf("spec.replicas kept: %v", got.Object["spec"])
		}
	})
}

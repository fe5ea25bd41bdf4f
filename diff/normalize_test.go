package diff

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"int64 and float64", int64(3), float64(3), true},
		{"float64 and int64", float64(8080), int64(8080), true},
		{"int and int64", 3, int64(3), true},
		{"json.Number and float64", json.Number("2"), 2.0, true},
		{"fraction", 2.5, int64(2), false},
		{"different ints", int64(2), int64(3), false},
		{"huge float", 1e300, int64(1), false},
		{"string and number", "3", int64(3), false},
		{"nested", map[string]any{"a": []any{int64(1), "x"}}, map[string]any{"a": []any{1.0, "x"}}, true},
		{"extra key", map[string]any{"a": nil}, map[string]any{}, false},
		{"null and absent are not equal", map[string]any{"a": nil}, map[string]any{"b": nil}, false},
		{"list order matters", []any{"a", "b"}, []any{"b", "a"}, false},
		{"bools", true, true, true},
		{"nil", nil, nil, true},
		{"nil and empty map", nil, map[string]any{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := equal(tt.a, tt.b); got != tt.want {
				t.Errorf("equal(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := equal(tt.b, tt.a); got != tt.want {
				t.Errorf("equal(%v, %v) = %v, want %v (symmetry)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata": map[string]any{
			"name":                       "x",
			"uid":                        "u",
			"resourceVersion":            "1",
			"generation":                 2,
			"creationTimestamp":          "2026-01-01T00:00:00Z",
			"selfLink":                   "/api/v1/x",
			"managedFields":              []any{},
			"deletionTimestamp":          "2026-01-02T00:00:00Z",
			"deletionGracePeriodSeconds": int32(30),
			"annotations":                map[string]any{lastAppliedAnnotation: "{}"},
		},
		"data":   map[string]any{"n": json.Number("1.5")},
		"status": map[string]any{"x": "y"},
	}}
	got, err := normalize(obj)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata": map[string]any{
			"name":                       "x",
			"deletionTimestamp":          "2026-01-02T00:00:00Z",
			"deletionGracePeriodSeconds": int64(30),
		},
		"data": map[string]any{"n": 1.5},
	}
	if !equal(got.Object, want) {
		t.Errorf("normalize = %v, want %v", got.Object, want)
	}
	if _, ok := obj.Object["status"]; !ok {
		t.Error("normalize modified its input")
	}
	if _, err := normalize(&unstructured.Unstructured{Object: map[string]any{"x": struct{}{}}}); err == nil {
		t.Error("normalize accepted a value that is not JSON")
	}
}

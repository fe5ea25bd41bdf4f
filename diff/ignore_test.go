package diff

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gyre-cd/gyre/app"
)

func TestParsePointer(t *testing.T) {
	tests := []struct {
		pointer string
		want    []string
		wantErr bool
	}{
		{"/spec/replicas", []string{"spec", "replicas"}, false},
		{"/metadata/annotations/gyre.dev~1tracking-id", []string{"metadata", "annotations", "gyre.dev/tracking-id"}, false},
		{"/a~0b/~01", []string{"a~b", "~1"}, false},
		{"/spec/containers/0/image", []string{"spec", "containers", "0", "image"}, false},
		{"", nil, true},
		{"/", nil, true},
		{"spec", nil, true},
		{"/a~2", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.pointer, func(t *testing.T) {
			got, err := parsePointer(tt.pointer)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !equal(toAny(got), toAny(tt.want)) {
				t.Errorf("tokens = %q, want %q", got, tt.want)
			}
		})
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func TestApplyIgnores(t *testing.T) {
	obj := func() map[string]any {
		return map[string]any{
			"metadata": map[string]any{"annotations": map[string]any{"a/b": "1", "c": "2"}},
			"spec": map[string]any{
				"replicas": int64(3),
				"containers": []any{
					map[string]any{"name": "app", "image": "app:1"},
					map[string]any{"name": "x", "image": "x:1"},
				},
			},
		}
	}
	tests := []struct {
		name string
		rule app.IgnoreDifference
		want func(map[string]any)
	}{
		{"pointer to a field", app.IgnoreDifference{JSONPointers: []string{"/spec/replicas"}}, func(m map[string]any) {
			delete(m["spec"].(map[string]any), "replicas")
		}},
		{"escaped pointer", app.IgnoreDifference{JSONPointers: []string{"/metadata/annotations/a~1b"}}, func(m map[string]any) {
			delete(m["metadata"].(map[string]any)["annotations"].(map[string]any), "a/b")
		}},
		{"pointer to a list item", app.IgnoreDifference{JSONPointers: []string{"/spec/containers/0"}}, func(m map[string]any) {
			s := m["spec"].(map[string]any)
			s["containers"] = s["containers"].([]any)[1:]
		}},
		{"pointers that do not exist", app.IgnoreDifference{JSONPointers: []string{"/spec/nope/x", "/spec/containers/7", "/spec/containers/01", "/spec/replicas/x"}}, func(map[string]any) {}},
		{"jq select", app.IgnoreDifference{JQPathExpressions: []string{`.spec.containers[] | select(.name == "x") | .image`}}, func(m map[string]any) {
			delete(m["spec"].(map[string]any)["containers"].([]any)[1].(map[string]any), "image")
		}},
		{"jq several paths", app.IgnoreDifference{JQPathExpressions: []string{`.spec.containers[].image`}}, func(m map[string]any) {
			for _, c := range m["spec"].(map[string]any)["containers"].([]any) {
				delete(c.(map[string]any), "image")
			}
		}},
		{"jq on a missing list removes nothing", app.IgnoreDifference{JQPathExpressions: []string{`.spec.initContainers[].image`}}, func(map[string]any) {}},
		{"jq sees no environment", app.IgnoreDifference{JQPathExpressions: []string{`.spec | select($ENV | length > 0) | .replicas`}}, func(map[string]any) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := compileIgnores([]app.IgnoreDifference{tt.rule})
			if err != nil {
				t.Fatal(err)
			}
			got := &unstructured.Unstructured{Object: obj()}
			if err := applyIgnores(context.Background(), got, rules, nil); err != nil {
				t.Fatal(err)
			}
			want := obj()
			tt.want(want)
			if !equal(got.Object, want) {
				t.Errorf("got %v\nwant %v", got.Object, want)
			}
		})
	}
}

// TestJQDeadline: a jq expression from an Application spec that would run
// for hours is stopped at JQTimeout with an error naming it.
func TestJQDeadline(t *testing.T) {
	expr := `.metadata | select(last(range(1e12)) > 0) | .name`
	rules, err := compileIgnores([]app.IgnoreDifference{{JQPathExpressions: []string{expr}}})
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "x"}}}
	start := time.Now()
	err = applyIgnores(context.Background(), obj, rules, nil)
	if err == nil || !strings.Contains(err.Error(), expr) || !strings.Contains(err.Error(), "did not finish") {
		t.Fatalf("err = %v, want a deadline error naming the expression", err)
	}
	if d := time.Since(start); d > 10*JQTimeout {
		t.Errorf("stopped after %s, want about %s", d, JQTimeout)
	}
}

// FuzzIgnoreRules runs arbitrary ignoreDifferences rules (pointer and jq
// expression) on a fixed object: compiling may fail, applying must not
// panic, must end within the jq deadline, and must leave an object.
func FuzzIgnoreRules(f *testing.F) {
	for _, seed := range [][2]string{
		{"/spec/replicas", ".spec.replicas"},
		{"/spec/containers/0/image", `.spec.containers[] | select(.name == "x") | .image`},
		{"/metadata/annotations/a~1b", ".metadata.labels"},
		{"/", ".."},
		{"/spec/containers/-", ".spec.containers[-1]"},
		{"~2", "path(..)"},
		{"/spec/0/1/2", `.spec | to_entries[] | .key`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pointer, expr string) {
		rules, err := compileIgnores([]app.IgnoreDifference{{JSONPointers: []string{pointer}, JQPathExpressions: []string{expr}}})
		if err != nil {
			return
		}
		obj := &unstructured.Unstructured{Object: map[string]any{
			"metadata": map[string]any{"name": "x", "labels": map[string]any{"a": "b"}, "annotations": map[string]any{"a/b": "c"}},
			"spec":     map[string]any{"replicas": int64(3), "containers": []any{map[string]any{"name": "x", "image": "i"}}},
		}}
		start := time.Now()
		if err := applyIgnores(context.Background(), obj, rules, nil); err == nil && obj.Object == nil {
			t.Fatal("applyIgnores left no object")
		}
		if d := time.Since(start); d > 5*JQTimeout {
			t.Fatalf("rule ran for %s", d)
		}
	})
}

// TestIgnoreMatches runs the json-pointer case with rules that select the
// Deployment (group apps) in different ways: "" is the core group only, "*"
// any group or kind, and name and namespace narrow when set.
func TestIgnoreMatches(t *testing.T) {
	tc := loadCase(t, "testdata/deployment-ignore-json-pointer")
	name, ns := tc.desired.GetName(), tc.desired.GetNamespace()
	rule := func(group, kind, name, namespace string) app.IgnoreDifference {
		return app.IgnoreDifference{Group: group, Kind: kind, Name: name, Namespace: namespace, JSONPointers: []string{"/spec/replicas"}}
	}
	tests := []struct {
		name    string
		rule    app.IgnoreDifference
		ignored bool
	}{
		{"group and kind", rule("apps", "Deployment", "", ""), true},
		{"any group", rule("*", "Deployment", "", ""), true},
		{"any group, any kind", rule("*", "*", "", ""), true},
		{"any kind of the group", rule("apps", "*", "", ""), true},
		{"empty group is the core group", rule("", "Deployment", "", ""), false},
		{"other group", rule("batch", "Deployment", "", ""), false},
		{"other kind", rule("apps", "StatefulSet", "", ""), false},
		{"name and namespace", rule("apps", "Deployment", name, ns), true},
		{"other name", rule("apps", "Deployment", "other", ""), false},
		{"other namespace", rule("*", "*", "", "other"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := tc.run(t, Options{Ignore: []app.IgnoreDifference{tt.rule}})
			want := OutOfSync
			if tt.ignored {
				want = InSync
			}
			if r.Status != want {
				t.Errorf("rule %+v: status %s, want %s", tt.rule, r.Status, want)
			}
		})
	}
}

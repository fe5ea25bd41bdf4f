package appset

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestCRDMatchesTypes: each object of the CRD schema has exactly the
// properties the json tags of its Go type name, so that a field added on
// one side only fails here (the API server would prune it silently).
func TestCRDMatchesTypes(t *testing.T) {
	var crd map[string]any
	if err := yaml.Unmarshal(CRD(), &crd); err != nil {
		t.Fatal(err)
	}
	root := dig(t, crd, "spec", "versions", 0, "schema", "openAPIV3Schema", "properties")
	spec := dig(t, root, "spec", "properties")
	gens := dig(t, spec, "generators", "items", "properties")
	child := dig(t, gens, "matrix", "properties", "generators", "items", "properties")
	for _, tc := range []struct {
		where string
		props map[string]any
		typ   any
		skip  []string // properties with no Go field of their own
	}{
		{"spec", spec, Spec{}, nil},
		{"generator", gens, Generator{}, nil},
		{"matrix child", child, Generator{}, nil},
		{"list", dig(t, gens, "list", "properties"), ListGenerator{}, nil},
		{"clusters", dig(t, gens, "clusters", "properties"), ClusterGenerator{}, nil},
		{"git", dig(t, gens, "git", "properties"), GitGenerator{}, nil},
		{"git directory", dig(t, gens, "git", "properties", "directories", "items", "properties"), GitDirectory{}, nil},
		{"git file", dig(t, gens, "git", "properties", "files", "items", "properties"), GitFile{}, nil},
		{"matrix", dig(t, gens, "matrix", "properties"), MatrixGenerator{}, nil},
		{"merge", dig(t, gens, "merge", "properties"), MergeGenerator{}, nil},
		{"template", dig(t, spec, "template", "properties"), Template{}, nil},
		{"template metadata", dig(t, spec, "template", "properties", "metadata", "properties"), TemplateMeta{}, nil},
		{"syncPolicy", dig(t, spec, "syncPolicy", "properties"), SyncPolicy{}, nil},
		{"status", dig(t, root, "status", "properties"), Status{}, nil},
		{"condition", dig(t, root, "status", "properties", "conditions", "items", "properties"), Condition{}, nil},
		{"resource", dig(t, root, "status", "properties", "resources", "items", "properties"), ResourceStatus{}, nil},
	} {
		var schema []string
		for k := range tc.props {
			schema = append(schema, k)
		}
		slices.Sort(schema)
		if got, want := schema, jsonNames(reflect.TypeOf(tc.typ)); !slices.Equal(got, want) {
			t.Errorf("%s: the CRD has properties %v, the Go type %v", tc.where, got, want)
		}
	}
}

func jsonNames(typ reflect.Type) []string {
	var out []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// dig follows keys (strings) and indexes (ints) into decoded YAML.
func dig(t *testing.T, v any, path ...any) map[string]any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("no %q in %v", k, path)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || len(l) <= k {
				t.Fatalf("no [%d] in %v", k, path)
			}
			v = l[k]
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v is not an object", path)
	}
	return m
}

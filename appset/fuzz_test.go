package appset

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzTemplate: any template text with any JSON parameters renders or
// fails with ErrTemplate, never panics, and stays within its bounds.
// Seeds are in testdata/fuzz/FuzzTemplate.
func FuzzTemplate(f *testing.F) {
	f.Add(`{{ .name }}-app`, `{"name":"a"}`)
	f.Add(`{{ range .l }}{{ . }}{{ end }}`, `{"l":[1,2,3]}`)
	f.Fuzz(func(t *testing.T, text, paramsJSON string) {
		var params map[string]any
		if json.Unmarshal([]byte(paramsJSON), &params) != nil {
			params = map[string]any{}
		}
		tmpl := guestbookTemplate()
		tmpl.Spec.Source.Path = text
		tmpl.Metadata.Annotations = map[string]string{"a": text}
		a, err := Render(newSet(tmpl), params)
		if err != nil {
			if !errors.Is(err, ErrTemplate) {
				t.Fatalf("error does not wrap ErrTemplate: %v", err)
			}
			return
		}
		if len(a.Spec.Source.Path) > maxFieldOutput || a.Namespace != "team" {
			t.Fatalf("rendered %d bytes into %q", len(a.Spec.Source.Path), a.Namespace)
		}
	})
}

// FuzzParseFile: any file a git files generator reads parses into objects
// or fails with an error, never panics. Seeds are in
// testdata/fuzz/FuzzParseFile.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte(`{"cluster": {"name": "eu"}}`))
	f.Add([]byte("- a: 1\n- b: 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sets, err := ParseFile(data)
		if err != nil {
			if strings.Contains(err.Error(), "\x00") {
				t.Fatalf("error quotes raw bytes: %q", err)
			}
			return
		}
		for _, s := range sets {
			if s == nil {
				t.Fatal("a nil parameter set")
			}
		}
	})
}

// FuzzGenerators: any generators (JSON, as a set's spec.generators) yield
// parameter sets or an error wrapping ErrGenerator or ErrTemplate, never a
// panic, and never more than MaxApplications sets. Seeds are in
// testdata/fuzz/FuzzGenerators.
func FuzzGenerators(f *testing.F) {
	f.Add(`[{"list":{"elements":[{"a":"1"}]}}]`)
	f.Add(`[{"matrix":{"generators":[{"clusters":{}},{"list":{"elements":[{"x":"{{ .name }}"}]}}]}}]`)
	reg := testRegistry(clusterSecret("c1", "https://c1.example.com", map[string]string{"env": "prod"}))
	f.Fuzz(func(t *testing.T, gens string) {
		s := newSet(guestbookTemplate())
		if json.Unmarshal([]byte(gens), &s.Spec.Generators) != nil {
			return
		}
		g, err := Generate(t.Context(), s, Inputs{Clusters: reg})
		if err != nil {
			if !errors.Is(err, ErrGenerator) && !errors.Is(err, ErrTemplate) {
				t.Fatalf("error wraps neither ErrGenerator nor ErrTemplate: %v", err)
			}
			return
		}
		if len(g.Params) > MaxApplications {
			t.Fatalf("%d parameter sets", len(g.Params))
		}
	})
}

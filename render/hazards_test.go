package render_test

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gyre-cd/gyre/render"
)

// billionLaughs is a YAML alias bomb: nine levels of nine aliases, 9^9
// strings once expanded.
const billionLaughs = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

// hazardBounds are what a hostile document may cost: far above what these
// inputs take when decoders hold, far below what they take when one does
// not (minutes, gigabytes, or a fatal stack overflow).
const (
	hazardTime  = 30 * time.Second
	hazardAlloc = 1 << 30
)

// measure runs f and returns how long it took and how much it allocated.
func measure(f func()) (time.Duration, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	return took, after.TotalAlloc - before.TotalAlloc
}

// TestDecoderHazards feeds each source type documents built to exhaust a
// decoder (alias bombs, 100,000 levels of nesting, a huge line, 100,000
// objects) and expects a clear *render.Error, quickly and in bounded
// memory. A decoder without a depth limit would overflow the goroutine
// stack, which kills the process: the test binary would crash.
func TestDecoderHazards(t *testing.T) {
	deep := 100_000
	cmHeader := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: "
	// Each hazard's error says one of contains (kustomize and Helm word
	// some of them their own way; Helm's template parser reads "{{" first).
	hazards := []struct {
		name     string
		file     string
		data     string
		contains []string
	}{
		{"alias bomb", "bomb.yaml", billionLaughs, []string{"excessive aliasing", "aliases expand 101 nodes to more than 200000"}},
		{"alias cycle", "cycle.yaml", "a: &x [1, *x]\n", []string{"contains itself", "refers to a node that contains it"}},
		{"deep [ in YAML", "deep.yaml", strings.Repeat("[", deep), []string{"exceeded max depth"}},
		{"deep { in YAML", "deep.yaml", strings.Repeat("{", deep), []string{"exceeded max depth", "parse error"}},
		{"deep block sequence", "deep.yaml", strings.Repeat("- ", deep) + "x\n", []string{"exceeded max depth"}},
		{"deep [ in JSON", "deep.json", strings.Repeat("[", deep) + strings.Repeat("]", deep), []string{"exceeded max depth"}},
		{"deep { in JSON", "deep.json", strings.Repeat(`{"a":`, deep) + "1" + strings.Repeat("}", deep), []string{"exceeded max depth", "parse error"}},
		{"huge line", "line.yaml", cmHeader + strings.Repeat("x", 9<<20) + "\n", []string{"more than MaxFileBytes", "more than Helm allows"}},
		{"huge broken line", "line.yaml", cmHeader + "[" + strings.Repeat("x,", 2<<20) + "\n", []string{"line 6"}},
		{"100,000 objects", "many.yaml", configMaps(100_000), []string{"more than MaxObjects (10000)"}},
	}
	for _, h := range hazards {
		for _, src := range []struct {
			name string
			fsys fstest.MapFS
			path string
			file string // want Error.File
		}{
			{"directory", fstest.MapFS{"d/" + h.file: file(h.data)}, "d", "d/" + h.file},
			{"kustomize", fstest.MapFS{"k/kustomization.yaml": file("resources: [" + h.file + "]\n"), "k/" + h.file: file(h.data)}, "k", ""},
			{"helm template", fstest.MapFS{"c/Chart.yaml": file(chartYAML), "c/templates/" + h.file: file(helmTemplate(h.name, h.data))}, "c", ""},
			{"helm values", fstest.MapFS{"c/Chart.yaml": file(chartYAML), "c/values.yaml": file(h.data)}, "c", "c/values.yaml"},
		} {
			if src.name == "helm values" && (strings.HasSuffix(h.file, ".json") || h.name == "100,000 objects") {
				continue // values are YAML, and any number of keys is fine
			}
			t.Run(h.name+"/"+src.name, func(t *testing.T) {
				var err error
				took, alloc := measure(func() { _, err = render.Render(src.fsys, src.path, render.Options{}) })
				if err == nil {
					t.Fatal("rendered")
				}
				var e *render.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %T %v is not an *render.Error", err, err)
				}
				if src.file != "" && e.File != src.file {
					t.Errorf("Error.File = %q, want %q", e.File, src.file)
				}
				if msg := err.Error(); !slices.ContainsFunc(h.contains, func(s string) bool { return strings.Contains(msg, s) }) {
					t.Errorf("error %.300q does not say any of %q", msg, h.contains)
				}
				if took > hazardTime || alloc > hazardAlloc {
					t.Errorf("took %v and allocated %d MiB", took, alloc>>20)
				}
			})
		}
	}
}

// helmTemplate is the template that stands for a hazard's document: the
// document itself, except that a hundred thousand objects come from a loop
// (a file that size is over Helm's own limit for a chart file).
func helmTemplate(hazard, data string) string {
	if hazard != "100,000 objects" {
		return data
	}
	return "{{ range until 100000 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ . }}\n{{ end }}\n"
}

// TestHelmTemplateHazards: the template functions that would reach out of
// the render find nothing, and a template that includes itself fails.
func TestHelmTemplateHazards(t *testing.T) {
	tests := []struct {
		name     string
		template string
		want     map[string]any // the ConfigMap's data
		err      string
	}{
		{
			name:     "lookup finds nothing",
			template: `{{ $s := lookup "v1" "Secret" "kube-system" "" }}count: {{ len $s | quote }}`,
			want:     map[string]any{"count": "0"},
		},
		{
			name:     "getHostByName resolves nothing",
			template: `ip: {{ getHostByName "localhost" | quote }}`,
			want:     map[string]any{"ip": ""},
		},
		{
			name:     ".Files reads only the chart",
			template: `up: {{ .Files.Get "../../etc/passwd" | quote }}` + "\n" + `abs: {{ .Files.Get "/etc/passwd" | quote }}` + "\n" + `values: {{ .Files.Get "../c/values.yaml" | quote }}` + "\n" + `glob: {{ len (.Files.Glob "**passwd") | quote }}`,
			want:     map[string]any{"up": "", "abs": "", "values": "", "glob": "0"},
		},
		{
			name:     "a template including itself",
			template: `{{ define "self" }}{{ include "self" . }}{{ end }}x: {{ include "self" . }}`,
			err:      "nested reference",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"c/Chart.yaml":        file(chartYAML),
				"c/values.yaml":       file("a: 1\n"),
				"c/templates/cm.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  " + strings.ReplaceAll(tc.template, "\n", "\n  ") + "\n"),
			}
			res, err := render.Render(fsys, "c", render.Options{})
			if tc.err != "" {
				var e *render.Error
				if !errors.As(err, &e) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Render = %v, want an *render.Error saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := res.Objects[0].Obj.Object["data"].(map[string]any)
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("data.%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

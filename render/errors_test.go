package render_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gyre-cd/gyre/render"
)

// chartYAML is a minimal Chart.yaml for error cases.
const chartYAML = "apiVersion: v2\nname: api\nversion: 0.1.0\n"

// TestErrors checks that each kind of bad input comes back as an
// *render.Error naming the file and line at fault, wrapping the expected
// cause, and never as a panic.
func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		fsys     fstest.MapFS
		path     string
		opts     render.Options
		file     string // want Error.File
		line     int    // want Error.Line
		is       error  // want errors.Is(err, is), when set
		contains []string
	}{
		{
			name: "broken YAML names file and line",
			fsys: fstest.MapFS{
				"app/ok.yaml":     file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n"),
				"app/broken.yaml": file("apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n   bad: indent\n"),
			},
			path: "app", file: "app/broken.yaml", line: 8,
			contains: []string{`render directory "app": app/broken.yaml line 8: invalid YAML`},
		},
		{
			name: "document without kind",
			fsys: fstest.MapFS{"m.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# second\napiVersion: v1\nmetadata:\n  name: b\n")},
			path: ".", file: "m.yaml", line: 7, is: render.ErrNotObject,
			contains: []string{"m.yaml line 7", "no kind"},
		},
		{
			name: "YAML list that is not a List",
			fsys: fstest.MapFS{"m.yml": file("- apiVersion: v1\n  kind: ConfigMap\n")},
			path: ".", file: "m.yml", line: 1, is: render.ErrNotObject,
			contains: []string{"m.yml line 1", "kind: List"},
		},
		{
			name: "List item without apiVersion",
			fsys: fstest.MapFS{"m.yaml": file("apiVersion: v1\nkind: List\nitems:\n  - kind: ConfigMap\n")},
			path: ".", file: "m.yaml", line: 1, is: render.ErrNotObject,
			contains: []string{"List item 0", "no apiVersion"},
		},
		{
			name: "JSON syntax error names file and line",
			fsys: fstest.MapFS{"d/x.json": file("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"ConfigMap\",,\n}\n")},
			path: "d", file: "d/x.json", line: 3,
			contains: []string{"d/x.json line 3: invalid JSON"},
		},
		{
			name: "unknown source type",
			fsys: fstest.MapFS{"m.yaml": file("apiVersion: v1\nkind: ConfigMap\n")},
			path: ".", opts: render.Options{Type: "Jsonnet"}, is: render.ErrUnknownType,
			contains: []string{`"Jsonnet"`, "unknown source type"},
		},
		{
			name: "missing path",
			fsys: fstest.MapFS{"m.yaml": file("apiVersion: v1\nkind: ConfigMap\n")},
			path: "apps/nowhere", is: render.ErrNotFound,
			contains: []string{`"apps/nowhere"`, "no such directory"},
		},
		{
			name: "path out of the repository",
			fsys: fstest.MapFS{"m.yaml": file("apiVersion: v1\nkind: ConfigMap\n")},
			path: "../etc", is: render.ErrNotFound,
			contains: []string{`"../etc"`},
		},
		{
			name: "helm template fails with helm's message",
			fsys: fstest.MapFS{
				"c/Chart.yaml":          file(chartYAML),
				"c/templates/ok.yaml":   file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n"),
				"c/templates/fail.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ required \"image.tag is required\" .Values.image.tag }}\n"),
			},
			path: "c", file: "api/templates/fail.yaml", line: 4,
			contains: []string{`render helm chart "c": api/templates/fail.yaml line 4:`, "nil pointer evaluating"},
		},
		{
			name: "helm required value",
			fsys: fstest.MapFS{
				"c/Chart.yaml":          file(chartYAML),
				"c/values.yaml":         file("image: {}\n"),
				"c/templates/cm.yaml":   file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ required \"image.tag is required\" .Values.image.tag }}\n"),
				"c/templates/NOTES.txt": file("hi\n"),
			},
			path: "c", file: "api/templates/cm.yaml", line: 4,
			contains: []string{"api/templates/cm.yaml", "image.tag is required"},
		},
		{
			name: "helm template parse error",
			fsys: fstest.MapFS{
				"c/Chart.yaml":         file(chartYAML),
				"c/templates/bad.yaml": file("a: 1\nb: {{ .Values.x \n"),
			},
			path: "c", file: "api/templates/bad.yaml", line: 3,
			contains: []string{"api/templates/bad.yaml line 3", "parse error", "unclosed action"},
		},
		{
			name: "helm template renders invalid YAML",
			fsys: fstest.MapFS{
				"c/Chart.yaml":         file(chartYAML),
				"c/templates/bad.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   oops: 1\n"),
			},
			path: "c", file: "api/templates/bad.yaml",
			contains: []string{"api/templates/bad.yaml: rendered output line 5"},
		},
		{
			name: "values file syntax error names file and line",
			fsys: fstest.MapFS{
				"c/Chart.yaml":        file(chartYAML),
				"c/values-prod.yaml":  file("replicas: 2\nimage:\n  tag: 1\n tag2: [\n"),
				"c/templates/cm.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"),
			},
			path: "c", opts: render.Options{Helm: render.HelmOptions{ValueFiles: []string{"values-prod.yaml"}}},
			file: "c/values-prod.yaml", line: 3,
			contains: []string{"c/values-prod.yaml line 3: invalid values: did not find expected key"},
		},
		{
			name: "chart values.yaml syntax error names file and line",
			fsys: fstest.MapFS{
				"c/Chart.yaml":  file(chartYAML),
				"c/values.yaml": file("a: 1\nb: [\n"),
			},
			path: "c", file: "c/values.yaml", line: 2,
			contains: []string{"c/values.yaml line 2: invalid values: did not find expected node content"},
		},
		{
			name: "missing values file",
			fsys: fstest.MapFS{"c/Chart.yaml": file(chartYAML)},
			path: "c", opts: render.Options{Helm: render.HelmOptions{ValueFiles: []string{"values-nope.yaml"}}},
			file: "c/values-nope.yaml", is: render.ErrNotFound,
			contains: []string{"c/values-nope.yaml: value file: not found"},
		},
		{
			name: "inline values syntax error",
			fsys: fstest.MapFS{"c/Chart.yaml": file(chartYAML)},
			path: "c", opts: render.Options{Helm: render.HelmOptions{Values: "a: 1\nb: [\n"}},
			contains: []string{"inline values line 2: did not find expected node content"},
		},
		{
			name: "bad --set parameter",
			fsys: fstest.MapFS{"c/Chart.yaml": file(chartYAML)},
			path: "c", opts: render.Options{Helm: render.HelmOptions{Parameters: []render.Parameter{{Name: "a[x", Value: "1"}}}},
			contains: []string{`parameter "a[x"`},
		},
		{
			name: "remote chart dependency not vendored",
			fsys: fstest.MapFS{"c/Chart.yaml": file(chartYAML + "dependencies:\n  - name: redis\n    version: 1.0.0\n    repository: https://charts.example.com\n")},
			path: "c", file: "c/Chart.yaml", is: render.ErrRemoteDisabled,
			contains: []string{`dependency "redis"`, "https://charts.example.com", "not vendored"},
		},
		{
			name: "file:// dependency that is not there",
			fsys: fstest.MapFS{"c/Chart.yaml": file(chartYAML + "dependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n")},
			path: "c", file: "c/Chart.yaml", is: render.ErrNotFound,
			contains: []string{`dependency "lib"`, "no chart at lib"},
		},
		{
			name: "chart incompatible with the given kube version",
			fsys: fstest.MapFS{"c/Chart.yaml": file(chartYAML + "kubeVersion: '>=1.99.0'\n")},
			path: "c", opts: render.Options{Capabilities: &render.Capabilities{KubeVersion: "v1.37.2"}},
			file: "c/Chart.yaml", contains: []string{"requires kubeVersion >=1.99.0"},
		},
		{
			name: "kustomization references a missing file",
			fsys: fstest.MapFS{
				"k/kustomization.yaml": file("resources:\n  - deployment.yaml\n  - missing.yaml\n"),
				"k/deployment.yaml":    file("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n"),
			},
			path: "k", file: "k/kustomization.yaml",
			contains: []string{`render kustomization "k": k/kustomization.yaml:`, "missing.yaml"},
		},
		{
			name: "kustomization patch file missing",
			fsys: fstest.MapFS{
				"k/kustomization.yaml": file("resources:\n  - deployment.yaml\npatches:\n  - path: nope-patch.yaml\n"),
				"k/deployment.yaml":    file("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n"),
			},
			path: "k", file: "k/kustomization.yaml",
			contains: []string{"nope-patch.yaml"},
		},
		{
			name: "kustomization with a YAML error",
			fsys: fstest.MapFS{"k/kustomization.yaml": file("resources:\n  - a.yaml\n bad: [\n")},
			path: "k", file: "k/kustomization.yaml", line: 2,
			contains: []string{"k/kustomization.yaml line 2: invalid kustomization"},
		},
		{
			name: "remote kustomize base",
			fsys: fstest.MapFS{
				"overlay/kustomization.yaml": file("resources:\n  - ../base\n"),
				"base/kustomization.yaml":    file("resources:\n  - github.com/example/app//deploy?ref=v1\n"),
			},
			path: "overlay", file: "base/kustomization.yaml", is: render.ErrRemoteDisabled,
			contains: []string{"remote bases are disabled", "github.com/example/app"},
		},
		{
			name: "remote kustomize resource URL",
			fsys: fstest.MapFS{"k/kustomization.yaml": file("resources:\n  - https://raw.example.com/deploy.yaml\n")},
			path: "k", file: "k/kustomization.yaml", is: render.ErrRemoteDisabled,
			contains: []string{"https://raw.example.com/deploy.yaml"},
		},
		{
			name: "remote kustomize patch",
			fsys: fstest.MapFS{"k/kustomization.yaml": file("patches:\n  - path: https://example.com/p.yaml\n")},
			path: "k", file: "k/kustomization.yaml", is: render.ErrRemoteDisabled,
			contains: []string{"patches"},
		},
		{
			name: "kustomize exec plugin is refused",
			fsys: fstest.MapFS{
				"k/kustomization.yaml": file("generators:\n  - gen.yaml\n"),
				"k/gen.yaml":           file("apiVersion: example.com/v1\nkind: Run\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /bin/sh\n"),
			},
			path: "k", file: "k/gen.yaml",
			contains: []string{"k/gen.yaml: generators Run/x (listed in k/kustomization.yaml) is a KRM function", "runs none"},
		},
		{
			name: "broken inline transformer config",
			fsys: fstest.MapFS{"k/kustomization.yaml": file("transformers:\n  - |\n    apiVersion: builtin\n    kind: LabelTransformer\n    labels: {a: b}\n")},
			path: "k", file: "k/kustomization.yaml",
			contains: []string{"transformers: invalid inline config: missing metadata.name"},
		},
		{
			name: "bad include glob",
			fsys: fstest.MapFS{"m.yaml": file("apiVersion: v1\nkind: ConfigMap\n")},
			path: ".", opts: render.Options{Directory: render.DirectoryOptions{Include: []string{"[a-"}}},
			contains: []string{"directory include", `"[a-"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := render.Render(tc.fsys, tc.path, tc.opts)
			if err == nil {
				t.Fatalf("Render succeeded with %d objects, want an error", len(res.Objects))
			}
			t.Log(err)
			var e *render.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %q is not a *render.Error", err, err)
			}
			if e.File != tc.file {
				t.Errorf("Error.File = %q, want %q (%v)", e.File, tc.file, err)
			}
			if e.Line != tc.line {
				t.Errorf("Error.Line = %d, want %d (%v)", e.Line, tc.line, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.is)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

// TestIgnoreMissingValueFiles: a missing value file is skipped on request.
func TestIgnoreMissingValueFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"c/Chart.yaml":        file(chartYAML),
		"c/templates/cm.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"),
	}
	opts := render.Options{Helm: render.HelmOptions{ValueFiles: []string{"nope.yaml"}, IgnoreMissingValueFiles: true}}
	res, err := render.Render(fsys, "c", opts)
	if err != nil || len(res.Objects) != 1 {
		t.Fatalf("Render = %v, %v; want one object", res, err)
	}
}

// panicFS panics on every call, as a buggy fs.FS might.
type panicFS struct{}

func (panicFS) Open(string) (fs.File, error) { panic("disk on fire") }

// TestRenderRecoversPanics: a panic below Render becomes an *render.Error.
func TestRenderRecoversPanics(t *testing.T) {
	_, err := render.Render(panicFS{}, "x", render.Options{})
	var e *render.Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Render = %v, want an *render.Error about the panic", err)
	}
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

package render_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/render"
)

// remoteRefs are references kustomize would clone or download (or that look
// enough like it to be refused): every form, for every field.
var remoteRefs = []string{
	"git@host/x.git?ref=--upload-pack=touch${IFS}/tmp/pwned",
	"github.com/org/repo//path?ref=v1",
	"github.com/org/repo",
	"GitHub.com/org/repo",
	"g\u0130thub.com/org/repo", // lowercases to github.com
	"ssh://git@host/org/repo",
	"git::https://host/org/repo",
	"https://host/deploy.yaml",
	"http://host/deploy.yaml",
	"HTTPS://host/deploy.yaml",
	"file:///etc/passwd",
	"gh:org/repo",
	"git@github.com:org/repo",
	"user@host.example.com/org/repo.git",
	"base?ref=v1",
	"base?version=v1",
	"base?timeout=1",
	"base?submodules=false",
	"base//sub",
	`base\..\..\etc`,
	"base\n",
}

// TestKustomizeRefusesRemoteReferences puts each remote form into each
// field that names a file or directory, and into the files builtin
// generators and transformers load, and expects an *Error wrapping
// ErrRemoteDisabled that names the kustomization (or config) file and the
// field. A local directory named like each form exists, so only detection
// can refuse it.
func TestKustomizeRefusesRemoteReferences(t *testing.T) {
	fields := []struct {
		name  string
		field string                             // in the message
		kust  func(ref string) map[string]any    // the kustomization
		extra func(ref string) map[string]string // more files: a config, Error.File
		file  string                             // want Error.File, when not a config
	}{
		{name: "resources", field: "resources", kust: list("resources")},
		{name: "bases", field: "resources", kust: list("bases")},
		{name: "components", field: "components", kust: list("components")},
		{name: "crds", field: "crds", kust: list("crds")},
		{name: "configurations", field: "configurations", kust: list("configurations")},
		{name: "openapi", field: "openapi path", kust: func(ref string) map[string]any {
			return map[string]any{"openapi": map[string]any{"path": ref}}
		}},
		{name: "patches", field: "patches path", kust: func(ref string) map[string]any {
			return map[string]any{"patches": []any{map[string]any{"path": ref}}}
		}},
		{name: "patchesJson6902", field: "patchesJson6902 path", kust: func(ref string) map[string]any {
			return map[string]any{"patchesJson6902": []any{map[string]any{"path": ref, "target": map[string]any{"kind": "ConfigMap", "name": "a"}}}}
		}},
		{name: "patchesStrategicMerge", field: "patchesStrategicMerge", kust: list("patchesStrategicMerge")},
		{name: "replacements", field: "replacements path", kust: func(ref string) map[string]any {
			return map[string]any{"replacements": []any{map[string]any{"path": ref}}}
		}},
		{name: "configMapGenerator files", field: "configMapGenerator files", kust: func(ref string) map[string]any {
			// "a=b" is key a and file b, and a source with two "=" kustomize
			// refuses unread: the reference goes in whole, without "=".
			return map[string]any{"configMapGenerator": []any{map[string]any{"name": "c", "files": []any{strings.ReplaceAll(ref, "=", "")}}}}
		}},
		{name: "configMapGenerator key=file", field: "configMapGenerator files", kust: func(ref string) map[string]any {
			return map[string]any{"configMapGenerator": []any{map[string]any{"name": "c", "files": []any{"key=" + strings.ReplaceAll(ref, "=", "")}}}}
		}},
		{name: "secretGenerator envs", field: "secretGenerator envs", kust: func(ref string) map[string]any {
			return map[string]any{"secretGenerator": []any{map[string]any{"name": "s", "envs": []any{ref}}}}
		}},
		{name: "configMapGenerator env", field: "configMapGenerator envs", kust: func(ref string) map[string]any {
			return map[string]any{"configMapGenerator": []any{map[string]any{"name": "c", "env": ref}}}
		}},
		{name: "generators", field: "generators", kust: list("generators")},
		{name: "transformers", field: "transformers", kust: list("transformers")},
		{name: "validators", field: "validators", kust: list("validators")},
		{
			name: "inline PatchTransformer path", field: "transformers PatchTransformer/p",
			kust: func(ref string) map[string]any {
				return map[string]any{"transformers": []any{mustYAML(map[string]any{
					"apiVersion": "builtin", "kind": "PatchTransformer", "metadata": map[string]any{"name": "p"}, "path": ref,
				})}}
			},
		},
		{
			name: "ConfigMapGenerator config file", field: "generators ConfigMapGenerator/c (listed in k/kustomization.yaml)",
			kust: list1("generators", "gen.yaml"),
			extra: func(ref string) map[string]string {
				// A source with two "=" kustomize refuses unread.
				return map[string]string{"k/gen.yaml": mustYAML(map[string]any{
					"apiVersion": "builtin", "kind": "ConfigMapGenerator", "metadata": map[string]any{"name": "c"}, "files": []any{strings.ReplaceAll(ref, "=", "")},
				})}
			},
		},
		{
			name: "ReplacementTransformer config file", field: "transformers ReplacementTransformer/r",
			kust: list1("transformers", "r.yaml"),
			extra: func(ref string) map[string]string {
				return map[string]string{"k/r.yaml": mustYAML(map[string]any{
					"apiVersion": "builtin", "kind": "ReplacementTransformer", "metadata": map[string]any{"name": "r"},
					"replacements": []any{map[string]any{"path": ref}},
				})}
			},
		},
		{
			name: "ValueAddTransformer targetFilePath", field: "transformers ValueAddTransformer/v",
			kust: func(ref string) map[string]any {
				return map[string]any{"transformers": []any{mustYAML(map[string]any{
					"apiVersion": "builtin", "kind": "ValueAddTransformer", "metadata": map[string]any{"name": "v"},
					"value": "x", "targets": []any{map[string]any{"fieldPath": "metadata/name"}}, "targetFilePath": ref,
				})}}
			},
		},
		{
			name: "PatchStrategicMergeTransformer paths", field: "transformers PatchStrategicMergeTransformer/s",
			kust: func(ref string) map[string]any {
				return map[string]any{"transformers": []any{mustYAML(map[string]any{
					"apiVersion": "builtin", "kind": "PatchStrategicMergeTransformer", "metadata": map[string]any{"name": "s"}, "paths": []any{ref},
				})}}
			},
		},
		{
			name: "PatchJson6902Transformer path", field: "transformers PatchJson6902Transformer/j",
			kust: func(ref string) map[string]any {
				return map[string]any{"transformers": []any{mustYAML(map[string]any{
					"apiVersion": "builtin", "kind": "PatchJson6902Transformer", "metadata": map[string]any{"name": "j"},
					"target": map[string]any{"kind": "ConfigMap", "name": "a"}, "path": ref,
				})}}
			},
		},
	}
	for _, f := range fields {
		for _, ref := range remoteRefs {
			t.Run(f.name+"/"+ref, func(t *testing.T) {
				fsys := fstest.MapFS{
					"k/kustomization.yaml": file(mustYAML(f.kust(ref))),
					// A directory and a file named like the reference:
					// present, so that only detection refuses them.
					"k/" + strings.TrimSuffix(ref, "\n") + "/kustomization.yaml": file("resources: []\n"),
				}
				if f.extra != nil {
					for name, data := range f.extra(ref) {
						fsys[name] = file(data)
					}
				}
				res, err := render.Render(fsys, "k", render.Options{})
				if err == nil {
					t.Fatalf("rendered %d objects, want %q refused", len(res.Objects), ref)
				}
				var e *render.Error
				if !errors.As(err, &e) || !errors.Is(err, render.ErrRemoteDisabled) {
					t.Fatalf("error %v, want an *render.Error wrapping ErrRemoteDisabled", err)
				}
				want := f.file
				if want == "" && f.extra != nil {
					for name := range f.extra(ref) {
						want = name
					}
				}
				if want == "" {
					want = "k/kustomization.yaml"
				}
				if e.File != want {
					t.Errorf("Error.File = %q, want %q (%v)", e.File, want, err)
				}
				if !strings.Contains(err.Error(), f.field+" ") {
					t.Errorf("error %q does not name the field %q", err, f.field)
				}
			})
		}
	}
}

// TestKustomizeRefusesPathsOutOfTheRepository: absolute paths and paths
// that climb out of the repository are refused, missing ones reported, and
// an address that kustomize would take for a local path ("gitlab.com/a/b")
// is simply not there.
func TestKustomizeRefusesPathsOutOfTheRepository(t *testing.T) {
	tests := []struct {
		ref      string
		is       error
		contains string
	}{
		{"/etc/passwd", nil, `resources "/etc/passwd" leaves the repository`},
		{"../../../etc", nil, `resources "../../../etc" leaves the repository`},
		{"../../../x.yaml", nil, "leaves the repository"},
		{"gitlab.com/a/b", render.ErrNotFound, `resources "gitlab.com/a/b": no such file or directory`},
		{"missing.yaml", render.ErrNotFound, `resources "missing.yaml": no such file or directory`},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			fsys := fstest.MapFS{"apps/k/kustomization.yaml": file(mustYAML(map[string]any{"resources": []any{tc.ref}}))}
			_, err := render.Render(fsys, "apps/k", render.Options{})
			var e *render.Error
			if !errors.As(err, &e) || e.File != "apps/k/kustomization.yaml" {
				t.Fatalf("error %v, want an *render.Error about apps/k/kustomization.yaml", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not contain %q", err, tc.contains)
			}
		})
	}
}

// TestKustomizeRefusesPrograms: plugins that would run a program (the helm
// chart inflator among them) are refused before the build, with a message
// saying why, and so are helmCharts that would make kustomize fetch a
// chart or read outside the repository.
func TestKustomizeRefusesPrograms(t *testing.T) {
	execFn := "apiVersion: example.com/v1\nkind: Run\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /bin/sh\n"
	containerFn := "apiVersion: example.com/v1\nkind: Run\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/function: |\n      container:\n        image: evil/image\n"
	tests := []struct {
		name     string
		fsys     fstest.MapFS
		file     string
		contains []string
	}{
		{
			// Not refused for being helmCharts: render inflates charts
			// itself, and fetches none.
			name:     "helmCharts from a repository, not fetched",
			fsys:     fstest.MapFS{"k/kustomization.yaml": file("helmCharts:\n  - name: redis\n    repo: https://charts.example.com\n")},
			file:     "k/kustomization.yaml",
			contains: []string{`helmCharts: chart "redis" from https://charts.example.com was not fetched`},
		},
		{
			name:     "helmGlobals chartHome out of the repository",
			fsys:     fstest.MapFS{"k/kustomization.yaml": file("helmGlobals:\n  chartHome: ../../charts\nhelmCharts:\n  - name: redis\n")},
			file:     "k/kustomization.yaml",
			contains: []string{`helmGlobals.chartHome "../../charts" leaves the repository`},
		},
		{
			name:     "deprecated helmChartInflationGenerator",
			fsys:     fstest.MapFS{"k/kustomization.yaml": file("helmChartInflationGenerator:\n  - chartName: redis\n    chartRepoUrl: https://charts.example.com\n")},
			file:     "k/kustomization.yaml",
			contains: []string{"helmChartInflationGenerator", "write the charts as helmCharts entries"},
		},
		{
			name: "HelmChartInflationGenerator builtin",
			fsys: fstest.MapFS{
				"k/kustomization.yaml": file("generators: [helm.yaml]\n"),
				"k/helm.yaml":          file("apiVersion: builtin\nkind: HelmChartInflationGenerator\nmetadata:\n  name: h\nname: redis\n"),
			},
			file:     "k/helm.yaml",
			contains: []string{"generators HelmChartInflationGenerator/h", "helm program", "helmCharts"},
		},
		{
			name:     "exec function inline",
			fsys:     fstest.MapFS{"k/kustomization.yaml": file(mustYAML(map[string]any{"transformers": []any{execFn}}))},
			file:     "k/kustomization.yaml",
			contains: []string{"transformers Run/x is a KRM function", "config.kubernetes.io/function"},
		},
		{
			name: "container function in a file",
			fsys: fstest.MapFS{
				"k/kustomization.yaml": file("validators: [v.yaml]\n"),
				"k/v.yaml":             file(containerFn),
			},
			file:     "k/v.yaml",
			contains: []string{"validators Run/x (listed in k/kustomization.yaml) is a KRM function"},
		},
		{
			name: "exec or Go plugin",
			fsys: fstest.MapFS{
				"k/kustomization.yaml": file("generators: [g.yaml]\n"),
				"k/g.yaml":             file("apiVersion: someteam.example.com/v1\nkind: ChartInflator\nmetadata:\n  name: c\n"),
			},
			file:     "k/g.yaml",
			contains: []string{"not a kustomize builtin", "someteam.example.com/v1"},
		},
		{
			name: "a directory of configs",
			fsys: fstest.MapFS{
				"k/kustomization.yaml":      file("transformers: [../common]\n"),
				"common/kustomization.yaml": file("resources: [t.yaml]\n"),
				"common/t.yaml":             file("apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: l\nlabels:\n  a: b\nfieldSpecs:\n  - path: metadata/labels\n    create: true\n"),
			},
			file:     "k/kustomization.yaml",
			contains: []string{`transformers "../common" is a directory`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render.Render(tc.fsys, "k", render.Options{})
			var e *render.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v, want an *render.Error", err)
			}
			if e.File != tc.file {
				t.Errorf("Error.File = %q, want %q (%v)", e.File, tc.file, err)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

// list returns a kustomization with ref as the one entry of field.
func list(field string) func(string) map[string]any {
	return func(ref string) map[string]any { return map[string]any{field: []any{ref}} }
}

// list1 returns a kustomization with entry as the one entry of field,
// whatever the reference under test.
func list1(field, entry string) func(string) map[string]any {
	return func(string) map[string]any { return map[string]any{field: []any{entry}} }
}

// mustYAML encodes v as YAML.
func mustYAML(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

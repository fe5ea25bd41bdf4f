package render_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gyre-cd/gyre/render"
)

// echoTemplate renders one ConfigMap that tells what the chart was
// rendered with: release, chart, capabilities and values.
const echoTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
data:
  chart: {{ .Chart.Name }}-{{ .Chart.Version }}
  kube: {{ .Capabilities.KubeVersion.Version }}
  monitoring: {{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" | quote }}
  values: {{ toJson .Values | quote }}
`

// echoChart adds the echo chart of the given version at dir to fsys, with
// values.yaml and any further files (named relative to the chart).
func echoChart(fsys fstest.MapFS, dir, version, values string, more map[string]string) fstest.MapFS {
	fsys[dir+"/Chart.yaml"] = file("apiVersion: v2\nname: echo\nversion: " + version + "\n")
	fsys[dir+"/templates/cm.yaml"] = file(echoTemplate)
	if values != "" {
		fsys[dir+"/values.yaml"] = file(values)
	}
	for name, data := range more {
		fsys[dir+"/"+name] = file(data)
	}
	return fsys
}

// echoed renders and returns the data of the echo ConfigMap, and its
// namespace.
func echoed(t *testing.T, fsys fs.FS, dir string, opts render.Options) (map[string]string, string) {
	t.Helper()
	res, err := render.Render(fsys, dir, opts)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	for _, o := range res.Objects {
		if _, ok := o.Obj.Object["data"].(map[string]any)["chart"]; ok {
			data := map[string]string{}
			for k, v := range o.Obj.Object["data"].(map[string]any) {
				data[k] = v.(string)
			}
			data["name"] = o.Obj.GetName()
			return data, o.Obj.GetNamespace()
		}
	}
	t.Fatalf("no echo ConfigMap among %v", names(res))
	return nil, ""
}

// TestKustomizeHelmChartSources: where a helmCharts chart is found. A
// chart without repo is <chartHome>/<name> whatever its version; one from
// a repository is the mounted chart, else kustomize's local copy,
// <chartHome>/<name>-<version>/<name> (or <chartHome>/<name> without a
// version).
func TestKustomizeHelmChartSources(t *testing.T) {
	const repo = "https://charts.example.com"
	mounted := echoChart(fstest.MapFS{}, mountRel(repo, "echo", "9.0.0"), "9.0.0", "", nil)
	tests := []struct {
		name   string
		fsys   fs.FS
		wantIn string // the chart's version, which tells which copy was used
	}{
		{
			name:   "default chartHome",
			fsys:   echoChart(fstest.MapFS{"k/kustomization.yaml": file("helmCharts:\n  - name: echo\n")}, "k/charts/echo", "1.0.0", "", nil),
			wantIn: "1.0.0",
		},
		{
			name: "chartHome elsewhere in the repository",
			fsys: echoChart(fstest.MapFS{
				"apps/k/kustomization.yaml": file("helmGlobals:\n  chartHome: ../../vendor/charts\nhelmCharts:\n  - name: echo\n"),
			}, "vendor/charts/echo", "1.1.0", "", nil),
			wantIn: "1.1.0",
		},
		{
			name: "a version without repo keeps the plain layout",
			fsys: echoChart(fstest.MapFS{
				"apps/k/kustomization.yaml": file("helmCharts:\n  - name: echo\n    version: 7.7.7\n"),
			}, "apps/k/charts/echo", "1.2.0", "", nil),
			wantIn: "1.2.0",
		},
		{
			name: "remote chart mounted",
			fsys: render.Mount(
				echoChart(fstest.MapFS{"apps/k/kustomization.yaml": file("helmCharts:\n  - name: echo\n    repo: " + repo + "\n    version: 9.0.0\n")}, "apps/k/charts/echo-9.0.0/echo", "0.0.1", "", nil),
				map[string]fs.FS{render.ChartsMount: mounted},
			),
			wantIn: "9.0.0",
		},
		{
			name: "remote chart in kustomize's versioned local layout",
			fsys: echoChart(fstest.MapFS{
				"apps/k/kustomization.yaml":     file("helmCharts:\n  - name: echo\n    repo: " + repo + "\n    version: 1.2.3\n"),
				"apps/k/charts/echo/Chart.yaml": file("apiVersion: v2\nname: echo\nversion: 0.0.1\n"),
			}, "apps/k/charts/echo-1.2.3/echo", "1.2.3", "", nil),
			wantIn: "1.2.3",
		},
		{
			name: "remote chart without version in the local layout",
			fsys: echoChart(fstest.MapFS{
				"apps/k/kustomization.yaml": file("helmCharts:\n  - name: echo\n    repo: oci://registry.example.com/charts\n"),
			}, "apps/k/charts/echo", "1.3.0", "", nil),
			wantIn: "1.3.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := "apps/k"
			if _, err := fs.Stat(tt.fsys, "k"); err == nil {
				dir = "k"
			}
			data, _ := echoed(t, tt.fsys, dir, render.Options{})
			if got, want := data["chart"], "echo-"+tt.wantIn; got != want {
				t.Errorf("rendered chart %s, want %s", got, want)
			}
		})
	}
}

// mountRel is ChartMountPath within the mount.
func mountRel(repo, name, version string) string {
	return strings.TrimPrefix(render.ChartMountPath(repo, name, version), render.ChartsMount+"/")
}

// TestKustomizeHelmChartRelease: releaseName and the release namespace
// reach the templates. An entry without a namespace takes its
// kustomization's, else the nearest one's above it (the Application's
// namespace override counting as the target's), else "default"; kustomize's
// namespace transformer leaves what the chart renders alone.
func TestKustomizeHelmChartRelease(t *testing.T) {
	base := func(entry, kust string) fstest.MapFS {
		return echoChart(fstest.MapFS{
			"base/kustomization.yaml":          file(kust + "helmCharts:\n  - name: echo\n" + entry),
			"overlay/kustomization.yaml":       file("namespace: from-overlay\nresources: [../base]\n"),
			"plain-overlay/kustomization.yaml": file("resources: [../base]\n"),
		}, "base/charts/echo", "1.0.0", "", nil)
	}
	tests := []struct {
		name     string
		fsys     fstest.MapFS
		dir      string
		opts     render.Options
		wantName string
		wantNS   string
	}{
		{"defaults", base("", ""), "base", render.Options{}, "echo", "default"},
		{"releaseName", base("    releaseName: front\n", ""), "base", render.Options{}, "front", "default"},
		{"entry namespace", base("    namespace: from-entry\n", "namespace: from-kustomization\n"), "overlay", render.Options{}, "echo", "from-entry"},
		{"kustomization namespace", base("", "namespace: from-kustomization\n"), "overlay", render.Options{}, "echo", "from-kustomization"},
		{"inherited from the overlay", base("", ""), "overlay", render.Options{}, "echo", "from-overlay"},
		{"no namespace above", base("", ""), "plain-overlay", render.Options{}, "echo", "default"},
		{"Application override", base("", ""), "plain-overlay", render.Options{Kustomize: render.KustomizeOptions{Namespace: "from-app"}}, "echo", "from-app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, ns := echoed(t, tt.fsys, tt.dir, tt.opts)
			if data["name"] != tt.wantName || ns != tt.wantNS {
				t.Errorf("release %q in namespace %q, want %q in %q", data["name"], ns, tt.wantName, tt.wantNS)
			}
		})
	}
}

// TestKustomizeHelmChartReleaseNamespaceConflict: a kustomization reached
// from two that give its chart different namespaces would be inflated
// twice by kustomize; render refuses it, naming both.
func TestKustomizeHelmChartReleaseNamespaceConflict(t *testing.T) {
	fsys := echoChart(fstest.MapFS{
		"base/kustomization.yaml": file("helmCharts:\n  - name: echo\n"),
		"a/kustomization.yaml":    file("namespace: a\nnamePrefix: a-\nresources: [../base]\n"),
		"b/kustomization.yaml":    file("namespace: b\nnamePrefix: b-\nresources: [../base]\n"),
		"top/kustomization.yaml":  file("resources: [../a, ../b]\n"),
	}, "base/charts/echo", "1.0.0", "", nil)
	_, err := render.Render(fsys, "top", render.Options{})
	var e *render.Error
	if !errors.As(err, &e) || e.File != "base/kustomization.yaml" || !strings.Contains(err.Error(), `namespaces "a", "b"`) {
		t.Fatalf("error %v, want one about base/kustomization.yaml naming namespaces a and b", err)
	}
}

// TestKustomizeHelmChartCapabilities: kubeVersion and apiVersions reach
// .Capabilities; the Options' Capabilities override them, as kustomize's
// --helm-kube-version and --helm-api-versions do.
func TestKustomizeHelmChartCapabilities(t *testing.T) {
	fsys := echoChart(fstest.MapFS{
		"k/kustomization.yaml": file("helmCharts:\n  - name: echo\n    kubeVersion: v1.31.4\n    apiVersions: [monitoring.coreos.com/v1]\n"),
	}, "k/charts/echo", "1.0.0", "", nil)
	data, _ := echoed(t, fsys, "k", render.Options{})
	if data["kube"] != "v1.31.4" || data["monitoring"] != "true" {
		t.Errorf("capabilities kube %s, monitoring %s; want the entry's v1.31.4 and true", data["kube"], data["monitoring"])
	}
	data, _ = echoed(t, fsys, "k", render.Options{Capabilities: &render.Capabilities{KubeVersion: "v1.35.0", APIVersions: []string{"example.com/v1"}}})
	if data["kube"] != "v1.35.0" || data["monitoring"] != "false" {
		t.Errorf("capabilities kube %s, monitoring %s; want the Options' v1.35.0 and false", data["kube"], data["monitoring"])
	}
}

// TestKustomizeHelmChartValues: the values file (the chart's values.yaml
// when none is named) combines with valuesInline as valuesMerge says,
// additionalValuesFiles merge over the result in order, and the chart's
// values.yaml lies beneath all of it.
func TestKustomizeHelmChartValues(t *testing.T) {
	const chartValues = "a: chart\nb: chart\nlist: [chart]\nnested:\n  x: chart\n  z: chart\n"
	tests := []struct {
		name  string
		entry string
		want  map[string]any
	}{
		{
			name:  "chart values",
			entry: "",
			want:  map[string]any{"a": "chart", "b": "chart", "list": []any{"chart"}, "nested": map[string]any{"x": "chart", "z": "chart"}},
		},
		{
			name:  "values file over the chart's",
			entry: "    valuesFile: values.yaml\n",
			want:  map[string]any{"a": "file", "b": "chart", "list": []any{"file"}, "nested": map[string]any{"x": "file", "z": "chart"}},
		},
		{
			name:  "override: inline over the values file",
			entry: "    valuesFile: values.yaml\n    valuesInline:\n      a: inline\n      c: inline\n      nested:\n        x: inline\n",
			want:  map[string]any{"a": "inline", "b": "chart", "c": "inline", "list": []any{"file"}, "nested": map[string]any{"x": "inline", "z": "chart"}},
		},
		{
			name:  "override: inline over the chart's values",
			entry: "    valuesInline:\n      a: inline\n",
			want:  map[string]any{"a": "inline", "b": "chart", "list": []any{"chart"}, "nested": map[string]any{"x": "chart", "z": "chart"}},
		},
		{
			name:  "merge: the values file wins, inline adds",
			entry: "    valuesFile: values.yaml\n    valuesMerge: merge\n    valuesInline:\n      a: inline\n      c: inline\n",
			want:  map[string]any{"a": "file", "b": "chart", "c": "inline", "list": []any{"file"}, "nested": map[string]any{"x": "file", "z": "chart"}},
		},
		{
			name:  "replace: inline instead of the values file",
			entry: "    valuesFile: values.yaml\n    valuesMerge: replace\n    valuesInline:\n      c: inline\n",
			want:  map[string]any{"a": "chart", "b": "chart", "c": "inline", "list": []any{"chart"}, "nested": map[string]any{"x": "chart", "z": "chart"}},
		},
		{
			name:  "additional values files last, in order",
			entry: "    valuesInline:\n      a: inline\n      b: inline\n    additionalValuesFiles: [more/one.yaml, more/two.yaml]\n",
			want:  map[string]any{"a": "one", "b": "two", "list": []any{"chart"}, "nested": map[string]any{"x": "chart", "z": "chart"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := echoChart(fstest.MapFS{
				"k/kustomization.yaml": file("helmCharts:\n  - name: echo\n" + tt.entry),
				"k/values.yaml":        file("a: file\nlist: [file]\nnested:\n  x: file\n"),
				"k/more/one.yaml":      file("a: one\nb: one\n"),
				"k/more/two.yaml":      file("b: two\n"),
			}, "k/charts/echo", "1.0.0", chartValues, nil)
			data, _ := echoed(t, fsys, "k", render.Options{})
			var got map[string]any
			if err := json.Unmarshal([]byte(data["values"]), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("values %v, want %v", got, tt.want)
			}
		})
	}
}

// TestKustomizeHelmChartSelection: includeCRDs (default false) and
// skipHooks decide what of the chart is kept; test hooks never are.
func TestKustomizeHelmChartSelection(t *testing.T) {
	more := map[string]string{
		"crds/widget.yaml":     "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
		"templates/hooks.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: smoke\n  annotations:\n    helm.sh/hook: test\n",
	}
	tests := []struct {
		entry string
		want  []string
	}{
		{"", []string{"echo", "migrate"}},
		{"    includeCRDs: true\n", []string{"widgets.example.com", "echo", "migrate"}},
		{"    skipHooks: true\n", []string{"echo"}},
		{"    skipTests: true\n", []string{"echo", "migrate"}},
		{"    includeCRDs: true\n    skipHooks: true\n", []string{"widgets.example.com", "echo"}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSpace(tt.entry), func(t *testing.T) {
			fsys := echoChart(fstest.MapFS{
				"k/kustomization.yaml": file("sortOptions:\n  order: fifo\nhelmCharts:\n  - name: echo\n" + tt.entry),
			}, "k/charts/echo", "1.0.0", "", more)
			res, err := render.Render(fsys, "k", render.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := names(res); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("objects %v, want %v", got, tt.want)
			}
			for _, o := range res.Objects {
				if o.Origin.File != "k/kustomization.yaml" || o.Origin.Generator != "HelmChartInflationGenerator" {
					t.Errorf("%s: origin %v, want k/kustomization.yaml (HelmChartInflationGenerator)", o.Obj.GetName(), o.Origin)
				}
				for a := range o.Obj.GetAnnotations() {
					if strings.Contains(a, "config.kubernetes.io") {
						t.Errorf("%s carries render's or kustomize's annotation %s", o.Obj.GetName(), a)
					}
				}
			}
		})
	}
}

// TestKustomizeHelmChartOriginAnnotation: a kustomization that asks for
// origin annotations gets kustomize's for inflated objects.
func TestKustomizeHelmChartOriginAnnotation(t *testing.T) {
	fsys := echoChart(fstest.MapFS{
		"base/kustomization.yaml":    file("helmCharts:\n  - name: echo\n"),
		"overlay/kustomization.yaml": file("buildMetadata: [originAnnotations]\nresources: [../base]\n"),
	}, "base/charts/echo", "1.0.0", "", nil)
	res, err := render.Render(fsys, "overlay", render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Objects[0].Obj.GetAnnotations()["config.kubernetes.io/origin"]
	want := "configuredIn: ../base/kustomization.yaml\nconfiguredBy:\n  apiVersion: builtin\n  kind: HelmChartInflationGenerator\n"
	if got != want {
		t.Errorf("origin annotation\n%s\nwant\n%s", got, want)
	}
}

// TestKustomizeHelmChartsListed: KustomizeHelmCharts lists the remote
// charts of the kustomization and those it refers to (an overlay's base, a
// component), once each, and not the local ones; references it cannot
// follow do not stop it.
func TestKustomizeHelmChartsListed(t *testing.T) {
	fsys := fstest.MapFS{
		"overlays/prod/kustomization.yaml": file("resources:\n  - ../../base\n  - https://github.com/example/repo//base?ref=v1\n  - missing\ncomponents: [../../components/metrics]\n" +
			"helmCharts:\n  - name: redis\n    repo: https://charts.example.com\n    version: 1.2.3\n    nameTemplate: not-for-the-list\n"),
		"base/kustomization.yaml": file("helmCharts:\n  - name: local\n  - name: redis\n    repo: https://charts.example.com\n    version: 1.2.3\n  - name: redis\n    repo: https://charts.example.com\n    version: 2.0.0\n    releaseName: next\n" +
			"  - name: ../escape\n    repo: https://charts.example.com\nresources: [broken]\n"),
		"base/broken/kustomization.yaml": file("resources: [\n"),
		"components/metrics/kustomization.yaml": file("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n" +
			"helmCharts:\n  - name: prometheus\n    repo: oci://registry.example.com/charts\n" +
			"helmChartInflationGenerator:\n  - chartName: deprecated\n    chartRepoUrl: https://charts.example.com\n"),
	}
	got, err := render.KustomizeHelmCharts(fsys, "overlays/prod")
	if err != nil {
		t.Fatal(err)
	}
	want := []render.HelmChartRef{
		{Repo: "https://charts.example.com", Name: "redis", Version: "1.2.3", File: "overlays/prod/kustomization.yaml"},
		{Repo: "https://charts.example.com", Name: "redis", Version: "2.0.0", File: "base/kustomization.yaml"},
		{Repo: "oci://registry.example.com/charts", Name: "prometheus", File: "components/metrics/kustomization.yaml"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("KustomizeHelmCharts\n%+v\nwant\n%+v", got, want)
	}

	for _, tt := range []struct {
		name string
		fsys fstest.MapFS
	}{
		{"no kustomization", fstest.MapFS{"k/cm.yaml": cm("a")}},
		{"unreadable kustomization", fstest.MapFS{"k/kustomization.yaml": file("helmCharts: [\n")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if refs, err := render.KustomizeHelmCharts(tt.fsys, "k"); err == nil {
				t.Errorf("KustomizeHelmCharts = %v, want an error", refs)
			}
		})
	}
}

// TestKustomizeHelmChartsMountedAsListed: charts mounted where
// KustomizeHelmCharts and ChartMountPath say are what the build uses.
func TestKustomizeHelmChartsMountedAsListed(t *testing.T) {
	repo := fstest.MapFS{
		"overlay/kustomization.yaml": file("resources: [../base]\n"),
		"base/kustomization.yaml":    file("helmCharts:\n  - name: echo\n    repo: oci://registry.example.com/charts\n    version: 3.1.0\n"),
	}
	refs, err := render.KustomizeHelmCharts(repo, "overlay")
	if err != nil || len(refs) != 1 {
		t.Fatalf("KustomizeHelmCharts = %v, %v; want one chart", refs, err)
	}
	charts := fstest.MapFS{}
	for _, r := range refs {
		maps.Copy(charts, echoChart(fstest.MapFS{}, mountRel(r.Repo, r.Name, r.Version), r.Version, "", nil))
	}
	data, _ := echoed(t, render.Mount(repo, map[string]fs.FS{render.ChartsMount: charts}), "overlay", render.Options{})
	if data["chart"] != "echo-3.1.0" {
		t.Errorf("rendered %s, want the mounted echo-3.1.0", data["chart"])
	}
}

// TestChartMountPath: the path is the mount, a hash of repo, name and
// version as written, and the name.
func TestChartMountPath(t *testing.T) {
	a := render.ChartMountPath("https://charts.example.com", "redis", "1.2.3")
	if !strings.HasPrefix(a, "$charts/") || !strings.HasSuffix(a, "/redis") || len(a) != len("$charts/")+16+len("/redis") {
		t.Errorf("ChartMountPath = %q, want $charts/<16 hex>/redis", a)
	}
	for _, other := range [][3]string{
		{"https://charts.example.com/", "redis", "1.2.3"},
		{"https://charts.example.com", "redis", "1.2.4"},
		{"https://charts.example.com", "redis1", ".2.3"},
	} {
		if b := render.ChartMountPath(other[0], other[1], other[2]); path0(b) == path0(a) {
			t.Errorf("ChartMountPath%q has the same hash as %q", other, a)
		}
	}
}

// path0 is the hash element of a chart mount path.
func path0(p string) string { return strings.Split(p, "/")[1] }

// TestKustomizeHelmChartErrors: what is refused, each an *Error naming the
// kustomization and what is wrong.
func TestKustomizeHelmChartErrors(t *testing.T) {
	chart := func(kust string, more ...string) fstest.MapFS {
		fsys := echoChart(fstest.MapFS{"k/kustomization.yaml": file(kust)}, "k/charts/echo", "1.0.0", "", nil)
		for i := 0; i+1 < len(more); i += 2 {
			fsys[more[i]] = file(more[i+1])
		}
		return fsys
	}
	tests := []struct {
		name     string
		fsys     fstest.MapFS
		is       error
		contains string
	}{
		{"missing local chart", chart("helmCharts:\n  - name: nope\n"), render.ErrNotFound, `helmCharts: chart "nope": no chart at k/charts/nope`},
		{"remote chart not fetched", chart("helmCharts:\n  - name: redis\n    repo: https://charts.example.com\n    version: 1.2.3\n"), render.ErrNotFound, `helmCharts: chart "redis" from https://charts.example.com version "1.2.3" was not fetched`},
		{"nameTemplate", chart("helmCharts:\n  - name: echo\n    nameTemplate: '{{ randAlpha 5 }}'\n"), nil, `chart "echo": nameTemplate is not supported`},
		{"configHome", chart("helmGlobals:\n  configHome: /tmp/helm\nhelmCharts:\n  - name: echo\n"), nil, "helmGlobals.configHome is not supported"},
		{"devel", chart("helmCharts:\n  - name: echo\n    devel: true\n"), nil, `chart "echo": devel is not supported`},
		{"chartHome out of the repository", chart("helmGlobals:\n  chartHome: ../../charts\nhelmCharts:\n  - name: echo\n"), nil, `helmGlobals.chartHome "../../charts" leaves the repository`},
		{"absolute chartHome", chart("helmGlobals:\n  chartHome: /charts\nhelmCharts:\n  - name: echo\n"), nil, `helmGlobals.chartHome "/charts" leaves the repository`},
		{"remote chartHome", chart("helmGlobals:\n  chartHome: https://example.com/charts\nhelmCharts:\n  - name: echo\n"), render.ErrRemoteDisabled, `helmGlobals.chartHome "https://example.com/charts"`},
		{"chart name with a path", chart("helmCharts:\n  - name: ../k/charts/echo\n"), nil, "a chart name is one path element"},
		{"valuesFile out of the repository", chart("helmCharts:\n  - name: echo\n    valuesFile: ../../values.yaml\n"), nil, `helmCharts: chart "echo" valuesFile "../../values.yaml" leaves the repository`},
		{"remote valuesFile", chart("helmCharts:\n  - name: echo\n    valuesFile: https://example.com/values.yaml\n"), render.ErrRemoteDisabled, `valuesFile "https://example.com/values.yaml"`},
		{"missing additional values file", chart("helmCharts:\n  - name: echo\n    additionalValuesFiles: [nope.yaml]\n"), render.ErrNotFound, `additionalValuesFiles "nope.yaml": no such file`},
		{"valuesMerge", chart("helmCharts:\n  - name: echo\n    valuesMerge: deep\n"), nil, `valuesMerge "deep"`},
		{"unknown field", chart("helmCharts:\n  - name: echo\n    valuesFiles: [a.yaml]\n"), nil, `unknown field "valuesFiles"`},
		{"template fails", chart("helmCharts:\n  - name: echo\n", "k/charts/echo/templates/bad.yaml", "x: {{ fail \"boom\" }}\n"), nil, `helmCharts: chart "echo" (k/charts/echo): echo/templates/bad.yaml line 1: `},
		{"deprecated helmChartInflationGenerator", chart("helmChartInflationGenerator:\n  - chartName: echo\n"), nil, "helmChartInflationGenerator is kustomize's deprecated form of helmCharts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render.Render(tt.fsys, "k", render.Options{})
			var e *render.Error
			if !errors.As(err, &e) || e.File != "k/kustomization.yaml" {
				t.Fatalf("error %v, want an *render.Error about k/kustomization.yaml", err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}

// TestKustomizeHelmChartBudget: what a chart renders, and what it reads,
// count against the render's limits.
func TestKustomizeHelmChartBudget(t *testing.T) {
	many := "{{ range until 20 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ . }}\n{{ end }}\n"
	fsys := echoChart(fstest.MapFS{"k/kustomization.yaml": file("helmCharts:\n  - name: echo\n")}, "k/charts/echo", "1.0.0", "", map[string]string{"templates/many.yaml": many})
	if _, err := render.Render(fsys, "k", render.Options{Limits: render.Limits{MaxObjects: 30}}); err != nil {
		t.Fatalf("within the limits: %v", err)
	}
	for _, tt := range []struct {
		name     string
		limits   render.Limits
		contains string
	}{
		{"objects", render.Limits{MaxObjects: 10}, "MaxObjects (10)"},
		{"output", render.Limits{MaxOutputBytes: 1000}, "MaxOutputBytes (1000 bytes)"},
		{"reads", render.Limits{MaxReadBytes: 300}, "MaxReadBytes (300 bytes)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render.Render(fsys, "k", render.Options{Limits: tt.limits})
			if !errors.Is(err, render.ErrBudgetExceeded) || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("error %v, want ErrBudgetExceeded naming %s", err, tt.contains)
			}
		})
	}
}

// TestKustomizeHelmChartsSeveral: several charts of one kustomization, and
// of two, inflate side by side, each in its kustomization's order.
func TestKustomizeHelmChartsSeveral(t *testing.T) {
	fsys := echoChart(fstest.MapFS{
		"k/kustomization.yaml":    file("sortOptions:\n  order: fifo\nresources: [../base]\nhelmCharts:\n  - name: echo\n    releaseName: one\n  - name: echo\n    releaseName: two\n"),
		"base/kustomization.yaml": file("helmGlobals:\n  chartHome: ../k/charts\nhelmCharts:\n  - name: echo\n    releaseName: zero\n"),
	}, "k/charts/echo", "1.0.0", "", nil)
	res, err := render.Render(fsys, "k", render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(res), []string{"zero", "one", "two"}; !reflect.DeepEqual(got, want) {
		t.Errorf("objects %v, want %v", got, want)
	}
	for i, o := range res.Objects {
		want := "k/kustomization.yaml"
		if i == 0 {
			want = "base/kustomization.yaml"
		}
		if o.Origin.File != want {
			t.Errorf("%s: origin %s, want %s", o.Obj.GetName(), o.Origin.File, want)
		}
	}
}

// TestKustomizeHelmChartsInComponent: a Component's helmCharts inflate
// into the kustomization that uses it, after that one's own objects, and
// inherit its namespace.
func TestKustomizeHelmChartsInComponent(t *testing.T) {
	fsys := echoChart(fstest.MapFS{
		"app/kustomization.yaml":  file("namespace: shop\nsortOptions:\n  order: fifo\nresources: [cm.yaml]\ncomponents: [../comp]\n"),
		"app/cm.yaml":             cm("plain"),
		"comp/kustomization.yaml": file("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamePrefix: c-\nhelmCharts:\n  - name: echo\n"),
	}, "comp/charts/echo", "1.0.0", "", nil)
	res, err := render.Render(fsys, "app", render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(res), []string{"c-plain", "c-echo"}; !reflect.DeepEqual(got, want) {
		t.Errorf("objects %v, want %v", got, want)
	}
	if ns := res.Objects[1].Obj.GetNamespace(); ns != "shop" {
		t.Errorf("chart object in namespace %q, want the release namespace shop", ns)
	}
	if o := res.Objects[1].Origin; o.File != "comp/kustomization.yaml" || o.Generator != "HelmChartInflationGenerator" {
		t.Errorf("origin %v, want comp/kustomization.yaml (HelmChartInflationGenerator)", o)
	}
}

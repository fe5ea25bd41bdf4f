package render_test

import (
	"os"
	"slices"
	"testing"
	"testing/fstest"

	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/gyre-cd/gyre/render"
)

func TestDetect(t *testing.T) {
	fsys := fstest.MapFS{
		"chart/Chart.yaml":             file(chartYAML),
		"chart/kustomization.yaml":     file("resources: []\n"), // Chart.yaml wins
		"k1/kustomization.yaml":        file("resources: []\n"),
		"k2/kustomization.yml":         file("resources: []\n"),
		"k3/Kustomization":             file("resources: []\n"),
		"plain/deploy.yaml":            file("apiVersion: v1\nkind: ConfigMap\n"),
		"plain/sub/kustomization.yaml": file("resources: []\n"), // only dir itself counts
	}
	for dir, want := range map[string]render.Type{
		"chart": render.Helm, "k1": render.Kustomize, "k2": render.Kustomize, "k3": render.Kustomize, "plain": render.Directory,
	} {
		if got := render.Detect(fsys, dir); got != want {
			t.Errorf("Detect(%q) = %q, want %q", dir, got, want)
		}
	}
}

// TestTypeOverride: an explicit type wins over detection.
func TestTypeOverride(t *testing.T) {
	fsys := fstest.MapFS{
		"k/kustomization.yaml": file("resources: [cm.yaml]\nnamePrefix: p-\n"),
		"k/cm.yaml":            file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"),
	}
	res, err := render.Render(fsys, "k", render.Options{Type: render.Directory})
	if err == nil {
		t.Fatalf("rendered %d objects; want the kustomization.yaml read as a manifest to fail (no kind)", len(res.Objects))
	}
	res, err = render.Render(fsys, "k", render.Options{Type: render.Directory, Directory: render.DirectoryOptions{Exclude: []string{"kustomization.yaml"}}})
	if err != nil || res.Type != render.Directory || res.Objects[0].Obj.GetName() != "a" {
		t.Fatalf("Render as Directory = %+v, %v; want ConfigMap a unprefixed", res, err)
	}
}

// TestHelmCapabilitiesDoNotLeak: API versions given for one render must not
// reach Helm's shared defaults, nor a later render.
func TestHelmCapabilitiesDoNotLeak(t *testing.T) {
	fsys := fstest.MapFS{
		"c/Chart.yaml":        file(chartYAML),
		"c/templates/cm.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  has: {{ .Capabilities.APIVersions.Has \"leak.example.com/v1\" | quote }}\n"),
	}
	before := len(chartutil.DefaultCapabilities.APIVersions)
	for i, api := range []string{"leak.example.com/v1", ""} {
		opts := render.Options{}
		if api != "" {
			opts.Capabilities = &render.Capabilities{APIVersions: []string{api}}
		}
		res, err := render.Render(fsys, "c", opts)
		if err != nil {
			t.Fatal(err)
		}
		want := api != ""
		if got := res.Objects[0].Obj.Object["data"].(map[string]any)["has"]; got != map[bool]string{true: "true", false: "false"}[want] {
			t.Errorf("render %d: Has = %v, want %v", i, got, want)
		}
	}
	if after := len(chartutil.DefaultCapabilities.APIVersions); after != before {
		t.Errorf("Helm's DefaultCapabilities grew from %d to %d API versions", before, after)
	}
}

// TestHelmSkipCRDs: SkipCRDs leaves out the chart's crds/ directory and
// nothing else; without it the CRDs come first.
func TestHelmSkipCRDs(t *testing.T) {
	fsys := os.DirFS("testdata/helm-hooks/in")
	kinds := func(skip bool) []string {
		t.Helper()
		res, err := render.Render(fsys, "jobs", render.Options{Helm: render.HelmOptions{SkipCRDs: skip}})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range res.Objects {
			out = append(out, o.Obj.GetKind())
		}
		return out
	}
	with, without := kinds(false), kinds(true)
	if len(with) == 0 || with[0] != "CustomResourceDefinition" {
		t.Fatalf("without SkipCRDs: kinds %v, want the CRD first", with)
	}
	if slices.Contains(without, "CustomResourceDefinition") || !slices.Equal(without, with[1:]) {
		t.Errorf("with SkipCRDs: kinds %v, want %v", without, with[1:])
	}
}

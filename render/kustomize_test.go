package render

import (
	"strings"
	"testing"
	"testing/fstest"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
)

func TestParseImageOverride(t *testing.T) {
	tests := []struct {
		in   string
		want types.Image
	}{
		{"nginx:1.27", types.Image{Name: "nginx", NewTag: "1.27"}},
		{"nginx=nginx:1.27", types.Image{Name: "nginx", NewTag: "1.27"}},
		{"nginx=registry.local:5000/nginx:1.27", types.Image{Name: "nginx", NewName: "registry.local:5000/nginx", NewTag: "1.27"}},
		{"registry.local:5000/app", types.Image{Name: "registry.local:5000/app"}},
		{"app=app@sha256:abc", types.Image{Name: "app", Digest: "sha256:abc"}},
		{"app@sha256:abc", types.Image{Name: "app", Digest: "sha256:abc"}},
		{"app=other", types.Image{Name: "app", NewName: "other"}},
	}
	for _, tc := range tests {
		got, err := parseImageOverride(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseImageOverride(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "=x", "a="} {
		if _, err := parseImageOverride(bad); err == nil {
			t.Errorf("parseImageOverride(%q) succeeded", bad)
		}
	}
}

func TestEditKustomization(t *testing.T) {
	in := "resources: [a.yaml]\nnamePrefix: old-\nimages:\n  - name: web\n    newTag: \"1\"\n  - name: db\n    newName: postgres\ncommonLabels:\n  keep: me\n  team: old\ncommonAnnotations:\n  stays: here\n  owner: old\n"
	out, keep, err := editKustomization([]byte(in), KustomizeOptions{
		Images:            []string{"web:2", "cache=redis:7"},
		NamePrefix:        "new-",
		NameSuffix:        "-eu",
		Namespace:         "0123", // must stay a string
		CommonLabels:      map[string]string{"team": "payments"},
		CommonAnnotations: map[string]string{"owner": "payments", "port": "8080"}, // port must stay a string
	})
	if err != nil {
		t.Fatal(err)
	}
	if keep {
		t.Error("keepOrigin = true for a kustomization that did not ask for origin annotations")
	}
	for _, s := range []string{
		"buildMetadata:\n- originAnnotations", "namePrefix: new-", "nameSuffix: -eu", `namespace: "0123"`,
		"keep: me", "team: payments", "stays: here", "owner: payments", `port: "8080"`, "name: web\n  newTag: \"2\"", "name: db\n  newName: postgres",
		"name: cache\n  newName: redis\n  newTag: \"7\"", "resources: [a.yaml]",
	} {
		if !strings.Contains(string(out), s) {
			t.Errorf("edited kustomization lacks %q:\n%s", s, out)
		}
	}
	for _, s := range []string{"team: old", "owner: old"} {
		if strings.Contains(string(out), s) {
			t.Errorf("edited kustomization still has %q, want it overridden:\n%s", s, out)
		}
	}
	_, keep, err = editKustomization([]byte("buildMetadata: [originAnnotations]\n"), KustomizeOptions{})
	if err != nil || !keep {
		t.Errorf("keepOrigin = %v, %v; want true for a kustomization that asks for origin annotations", keep, err)
	}
}

// TestKustomizeKeepsRequestedOriginAnnotations: origin annotations are
// dropped from the objects unless the kustomization asked for them.
func TestKustomizeKeepsRequestedOriginAnnotations(t *testing.T) {
	cm := &fstest.MapFile{Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    x: y\n")}
	fsys := fstest.MapFS{
		"plain/kustomization.yaml": {Data: []byte("resources: [cm.yaml]\n")},
		"plain/cm.yaml":            cm,
		"asks/kustomization.yaml":  {Data: []byte("resources: [cm.yaml]\nbuildMetadata: [originAnnotations]\n")},
		"asks/cm.yaml":             cm,
	}
	for dir, want := range map[string]bool{"plain": false, "asks": true} {
		res, err := Render(fsys, dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		a := res.Objects[0].Obj.GetAnnotations()
		if _, got := a[originAnnotation]; got != want || a["x"] != "y" {
			t.Errorf("%s: annotations %v, want origin annotation %v and x=y kept", dir, a, want)
		}
		if res.Objects[0].Origin.File != dir+"/cm.yaml" {
			t.Errorf("%s: origin %v, want %s/cm.yaml", dir, res.Objects[0].Origin, dir)
		}
	}
}

func TestIsRemote(t *testing.T) {
	for ref, want := range map[string]bool{
		"../base": false, "base": false, "deploy.yaml": false, "github.com.yaml": false,
		"vendor/github.com/org/repo": false, "gitlab.com/a/b": false, "a b/c": false,
		"github.com/org/repo//dir?ref=v1": true, "https://example.com/x.yaml": true,
		"git::https://example.com/repo": true, "git@github.com:org/repo": true,
		"ssh://git@host/org/repo": true, "file:///tmp/repo": true, "gh:org/repo": true,
		"git@host/x.git?ref=--upload-pack=x": true, "base?ref=v1": true, "base//sub": true,
		"g\u0130thub.com/org/repo": true, "base\x00": true, `a\b`: true,
	} {
		if got := isRemote(ref); got != want {
			t.Errorf("isRemote(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestEscapeParameter(t *testing.T) {
	for in, want := range map[string]string{"a,b": `a\,b`, `a\,b`: `a\,b`, "{a,b}": "{a,b}", "plain": "plain"} {
		if got := escapeParameter(in); got != want {
			t.Errorf("escapeParameter(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBuiltinPluginsAreKustomizes: the table of builtins render configures
// while it checks plugin configs holds every builtin kustomize has but the
// helm chart inflator. A new builtin fails this test until it is added
// (until then render refuses it).
func TestBuiltinPluginsAreKustomizes(t *testing.T) {
	ours := builtinPlugins()
	for _, name := range krusty.GetBuiltinPluginNames() {
		if _, ok := ours[name]; !ok && name != "HelmChartInflationGenerator" {
			t.Errorf("kustomize builtin %s is missing from builtinPlugins", name)
		}
	}
	if _, ok := ours["HelmChartInflationGenerator"]; ok {
		t.Error("builtinPlugins has the helm chart inflator, which runs a program")
	}
}

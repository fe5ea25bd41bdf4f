//go:build linux

package render_test

import (
	"context"
	"testing"

	"github.com/gyre-cd/gyre/render"
)

// TestSandboxedCacheReusesRenderOfUnchangedFiles: the read set of a render
// in a worker is what the parent served it, missing names included.
func TestSandboxedCacheReusesRenderOfUnchangedFiles(t *testing.T) {
	c := render.NewCache(render.CacheOptions{Sandbox: newSandbox(t, render.SandboxOptions{Workers: 1})})
	opts := render.Options{Helm: render.HelmOptions{ValueFiles: []string{"../shared/values.yaml"}, IgnoreMissingValueFiles: true}}
	a := with(monorepo, map[string]string{
		"chart/Chart.yaml":       "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"chart/values.yaml":      "name: default\n",
		"chart/templates/x.yaml": configMap("{{ .Values.name }}"),
	})
	for _, step := range []struct {
		revision string
		files    map[string]string
		want     string
		fresh    bool
	}{
		{"A", nil, "default", true},
		{"B", map[string]string{"apps/b/cm.yaml": configMap("b2")}, "default", false},
		{"C", map[string]string{"shared/values.yaml": "name: shared\n"}, "shared", true},
		{"D", map[string]string{"shared/values.yaml": "name: shared\n", "chart/templates/x.yaml": configMap("{{ .Values.name }}-2")}, "shared-2", true},
	} {
		res, fresh, err := c.RenderContent(context.Background(), step.revision, "repo", hashFS{with(a, step.files)}, "chart", opts)
		if err != nil {
			t.Fatalf("%s: %v", step.revision, err)
		}
		if got := res.Objects[0].Obj.GetName(); got != step.want || fresh != step.fresh {
			t.Errorf("%s: rendered %s, fresh %v; want %s, %v", step.revision, got, fresh, step.want, step.fresh)
		}
	}
}

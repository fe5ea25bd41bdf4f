package bench

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gyre-cd/gyre/render"
)

// TestShapesRender renders an app of every shape the benchmark generates,
// before and after the push it makes: four objects (and the wide shape's
// ConfigMaps), and the push changes the Deployment's generation.
func TestShapesRender(t *testing.T) {
	for name, sh := range shapes {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			r := &appsRepo{dir: dir, shape: sh}
			r.write(t, sh.shared)
			for generation, want := range []string{"0", "1"} {
				r.write(t, sh.app("app-00007", generation))
				res, err := render.Render(os.DirFS(dir), filepath.ToSlash(filepath.Join("apps", "app-00007")), render.Options{})
				if err != nil {
					t.Fatal(err)
				}
				var kinds []string
				configMaps := 0
				for _, o := range res.Unstructured() {
					if o.GetKind() == "ConfigMap" {
						configMaps++
						continue
					}
					kinds = append(kinds, o.GetKind())
					if o.GetKind() == "Deployment" {
						if got := o.GetAnnotations()["bench.gyre.dev/generation"]; got != want {
							t.Errorf("generation %d: Deployment %s says %q", generation, o.GetName(), got)
						}
					}
				}
				slices.Sort(kinds)
				if !slices.Equal(kinds, []string{"Deployment", "Ingress", "Service", "ServiceAccount"}) {
					t.Errorf("generation %d: rendered %v", generation, kinds)
				}
				wantConfigMaps := 0
				if name == "wide" {
					wantConfigMaps = configMapsPerWideApp
				}
				if configMaps != wantConfigMaps {
					t.Errorf("generation %d: %d ConfigMaps, want %d", generation, configMaps, wantConfigMaps)
				}
			}
		})
	}
}

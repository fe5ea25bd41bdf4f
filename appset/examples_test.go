package appset

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/examples"
	"sigs.k8s.io/yaml"
)

// TestExamples: every ApplicationSet under examples/appsets, which the
// README points at, decodes strictly, generates the Applications its
// comment promises on gyre up's own examples repository, and each of them
// is a valid Application.
func TestExamples(t *testing.T) {
	repoDir := filepath.Join(t.TempDir(), "examples")
	if _, err := examples.Seed(repoDir, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	in, _ := gitInputs(t)
	in.Clusters = testRegistry(
		clusterSecret("home", cluster.InClusterServer, map[string]string{"env": "demo"}),
		clusterSecret("Edge_1", "https://edge-1.example.com", map[string]string{"env": "demo"}),
	)
	want := map[string][]string{
		"guestbook-list.yaml":     {"guestbook-dev", "guestbook-prod"},
		"examples-dirs.yaml":      {"dir-guestbook", "dir-hello-helm", "dir-podinfo-kustomize"},
		"guestbook-clusters.yaml": {"guestbook-edge-1-frontend", "guestbook-home-frontend"},
	}
	files, err := filepath.Glob("../examples/appsets/*.yaml")
	if err != nil || len(files) != len(want) {
		t.Fatalf("examples/appsets: %v %v, want %d files", files, err, len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			data = []byte(strings.ReplaceAll(string(data), "/home/you/.local/share/gyre/examples", repoDir))
			var set ApplicationSet
			if err := yaml.UnmarshalStrict(data, &set); err != nil {
				t.Fatal(err)
			}
			set.UID = "example"
			gen, err := Generate(context.Background(), &set, in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range gen.Params {
				a, err := Render(&set, p)
				if err != nil {
					t.Fatal(err)
				}
				if err := a.Validate(); err != nil {
					t.Errorf("%s: %v", a.Name, err)
				}
				if a.Spec.Source.Path != "guestbook" {
					if _, err := os.Stat(filepath.Join(repoDir, a.Spec.Source.Path)); err != nil {
						t.Errorf("%s: path %q: %v", a.Name, a.Spec.Source.Path, err)
					}
				}
				got = append(got, a.Name)
			}
			slices.Sort(got)
			if w := want[filepath.Base(f)]; !slices.Equal(got, w) {
				t.Errorf("generates %v, want %v", got, w)
			}
		})
	}
}

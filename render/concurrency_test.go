package render_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/gyre-cd/gyre/render"
)

// loadMapFS copies a testdata tree into memory, so tests and benchmarks
// measure rendering rather than the disk.
func loadMapFS(tb testing.TB, dir string) fstest.MapFS {
	tb.Helper()
	m := fstest.MapFS{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		m[filepath.ToSlash(rel)] = &fstest.MapFile{Data: data}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestConcurrentRenders runs kustomize builds (and a few Helm renders) of
// different overlays and options from 8 goroutines at once, and every
// result must equal the one rendered alone. One kustomization brings its own
// OpenAPI schema, which kustomize installs process-wide for the duration of
// a build: unserialised, the other builds' strategic merges then run with
// the wrong schema (kyaml's own locks keep -race quiet about it, the output
// comparison is what catches it).
func TestConcurrentRenders(t *testing.T) {
	type job struct {
		fsys fs.FS
		path string
		opts render.Options
		want []byte
	}
	overlay := loadMapFS(t, "testdata/kustomize-overlay/in")
	threeLevel := loadMapFS(t, "testdata/kustomize-3level/in")
	openapi := loadMapFS(t, "testdata/kustomize-openapi/in")
	chart := loadMapFS(t, "testdata/helm-deps/in")
	var jobs []*job
	for i := range 8 {
		j := &job{opts: render.Options{Kustomize: render.KustomizeOptions{
			NamePrefix: fmt.Sprintf("g%d-", i),
			Namespace:  fmt.Sprintf("ns-%d", i),
			Images:     []string{fmt.Sprintf("web:1.%d", i)},
		}}}
		switch i % 4 {
		case 0:
			j.fsys, j.path = overlay, "apps/shop/overlays/prod"
		case 1:
			j.fsys, j.path = openapi, "crd"
		case 2:
			j.fsys, j.path = threeLevel, "region/prod-eu"
		case 3:
			j.fsys, j.path = chart, "charts/platform"
			j.opts = render.Options{Helm: render.HelmOptions{ReleaseName: fmt.Sprintf("r%d", i)}}
		}
		res, err := render.Render(j.fsys, j.path, j.opts)
		if err != nil {
			t.Fatal(err)
		}
		j.want = formatResult(t, res)
		jobs = append(jobs, j)
	}
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			for range 6 {
				res, err := render.Render(j.fsys, j.path, j.opts)
				if err != nil {
					t.Errorf("job %d: %v", i, err)
					return
				}
				if got := formatResult(t, res); !bytes.Equal(got, j.want) {
					t.Errorf("job %d: concurrent output differs from the sequential one:\n%s", i, lineDiff(string(j.want), string(got)))
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestKustomizeSchemaDoesNotLeak: a kustomization with its own OpenAPI
// schema must not change how a later build, of a kustomization without one,
// merges. kyaml keeps the schema process-wide, so render resets it.
func TestKustomizeSchemaDoesNotLeak(t *testing.T) {
	fsys := loadMapFS(t, "testdata/kustomize-openapi/in")
	// The same widget and patch, without the schema: the strategic merge
	// replaces the containers list, knowing no merge key.
	fsys["plain/widget.yaml"] = fsys["crd/widget.yaml"]
	k := string(fsys["crd/kustomization.yaml"].Data)
	fsys["plain/kustomization.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(k, "openapi:\n  path: schema.yaml\n", "", 1))}

	before, err := render.Render(fsys, "plain", render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := render.Render(fsys, "crd", render.Options{}); err != nil {
		t.Fatal(err)
	}
	after, err := render.Render(fsys, "plain", render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, a := formatResult(t, before), formatResult(t, after)
	if !bytes.Equal(b, a) {
		t.Fatalf("a build with a custom schema changed a later build:\n%s", lineDiff(string(b), string(a)))
	}
	if bytes.Contains(a, []byte("sidecar")) {
		t.Fatalf("containers merged by name without a schema saying so:\n%s", a)
	}
}

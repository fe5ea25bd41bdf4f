//go:build linux

package render_test

import (
	"context"
	"errors"
	"io/fs"
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/gyre-cd/gyre/render"
)

// TestSandboxInflatesHelmCharts: a kustomization's helmCharts, one chart of
// the repository and one mounted as fetched, render in a worker as they do
// in-process, and a chart that was not fetched fails there alike.
func TestSandboxInflatesHelmCharts(t *testing.T) {
	const repo = "oci://registry.example.com/charts"
	fsys := render.Mount(
		echoChart(fstest.MapFS{
			"k/kustomization.yaml": file("namespace: apps\nnamePrefix: p-\nhelmCharts:\n  - name: echo\n    releaseName: local\n    valuesInline:\n      a: 1\n  - name: echo\n    repo: " + repo + "\n    version: 2.0.0\n    releaseName: remote\n"),
		}, "k/charts/echo", "1.0.0", "", nil),
		map[string]fs.FS{render.ChartsMount: echoChart(fstest.MapFS{}, mountRel(repo, "echo", "2.0.0"), "2.0.0", "", nil)},
	)
	s := newSandbox(t, render.SandboxOptions{Workers: 1})
	want, err := render.Render(fsys, "k", render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Render(context.Background(), fsys, "k", render.Options{})
	if err != nil {
		t.Fatalf("sandboxed: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sandboxed result differs:\n%s", lineDiff(string(formatResult(t, want)), string(formatResult(t, got))))
	}
	if n := names(got); !reflect.DeepEqual(n, []string{"p-local", "p-remote"}) {
		t.Errorf("objects %v, want p-local and p-remote", n)
	}

	unfetched := fstest.MapFS{"k/kustomization.yaml": file("helmCharts:\n  - name: echo\n    repo: " + repo + "\n    version: 2.0.0\n")}
	_, err = s.Render(context.Background(), unfetched, "k", render.Options{})
	if !errors.Is(err, render.ErrNotFound) {
		t.Errorf("sandboxed render of a chart not fetched: %v, want ErrNotFound", err)
	}
}

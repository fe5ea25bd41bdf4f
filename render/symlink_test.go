package render_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gyre-cd/gyre/render"
)

// link is a symbolic link in an fstest.MapFS.
func link(target string) *fstest.MapFile {
	return &fstest.MapFile{Mode: fs.ModeSymlink | 0o777, Data: []byte(target)}
}

// names returns the object names of a result, in order.
func names(res *render.Result) []string {
	var out []string
	for _, o := range res.Objects {
		out = append(out, o.Obj.GetName())
	}
	return out
}

func cm(name string) *fstest.MapFile {
	return file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n")
}

// TestSymlinksInWalks: walks do not follow links to directories, so links
// back up the tree (a -> ., b -> .) cost nothing, while links to files are
// read as the files, in every source type.
func TestSymlinksInWalks(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		path string
		opts render.Options
		want []string
	}{
		{
			name: "directory, recursive",
			fsys: fstest.MapFS{
				"app/a":            link("."),
				"app/b":            link("."),
				"app/up":           link(".."),
				"app/sub/c":        link("../.."),
				"app/one.yaml":     cm("one"),
				"app/sub/two.yaml": cm("two"),
				"app/shared.yaml":  link("../shared/cm.yaml"),
				"app/dir.yaml":     link("sub"), // a directory named like a manifest
				"shared/cm.yaml":   cm("shared"),
			},
			path: "app", opts: render.Options{Directory: render.DirectoryOptions{Recurse: true}},
			want: []string{"one", "shared", "two"},
		},
		{
			name: "kustomize base through a link",
			fsys: fstest.MapFS{
				"app/kustomization.yaml":         file("resources: [base, extra.yaml]\n"),
				"app/base":                       link("../shared/base"),
				"app/extra.yaml":                 link("../shared/extra.yaml"),
				"app/loop":                       link("."),
				"shared/base/kustomization.yaml": file("resources: [cm.yaml]\n"),
				"shared/base/cm.yaml":            cm("base"),
				"shared/extra.yaml":              cm("extra"),
			},
			path: "app",
			want: []string{"base", "extra"},
		},
		{
			name: "helm chart",
			fsys: fstest.MapFS{
				"c/Chart.yaml":            file(chartYAML),
				"c/templates/own.yaml":    cm("own"),
				"c/templates/linked.yaml": link("../../shared/cm.yaml"),
				"c/templates/again":       link("."),
				"c/templates/chart":       link("../.."),
				"c/values.yaml":           link("../shared/values.yaml"),
				"shared/cm.yaml":          file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n"),
				"shared/values.yaml":      file("name: linked\n"),
			},
			path: "c",
			want: []string{"own", "linked"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := render.Render(tc.fsys, tc.path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := names(res)
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("objects %q, want %q", got, want)
			}
		})
	}
}

// TestKustomizeSymlinkCycles: a kustomization reaching itself through a
// link is a cycle, as kustomize says of ".."; links naming one directory
// many times are bounded.
func TestKustomizeSymlinkCycles(t *testing.T) {
	t.Run("a -> .", func(t *testing.T) {
		fsys := fstest.MapFS{
			"k/kustomization.yaml": file("resources: [cm.yaml, a]\n"),
			"k/cm.yaml":            cm("x"),
			"k/a":                  link("."),
		}
		_, err := render.Render(fsys, "k", render.Options{})
		var e *render.Error
		if !errors.As(err, &e) || e.File != "k/kustomization.yaml" || !strings.Contains(err.Error(), `resources "a": cycle`) {
			t.Fatalf("Render = %v, want a cycle in k/kustomization.yaml", err)
		}
	})
	t.Run("two links per level", func(t *testing.T) {
		// Each level names the next twice: 2^40 names for 40 directories.
		fsys := fstest.MapFS{}
		for i := range 40 {
			d := "l" + string(rune('a'+i/26)) + string(rune('a'+i%26))
			next := "l" + string(rune('a'+(i+1)/26)) + string(rune('a'+(i+1)%26))
			fsys[d+"/kustomization.yaml"] = file("resources: [p, q]\n")
			fsys[d+"/p"] = link("../" + next)
			fsys[d+"/q"] = link("../" + next)
			fsys[next+"/kustomization.yaml"] = file("resources: []\n") // the last stays a leaf
		}
		_, err := render.Render(fsys, "laa", render.Options{})
		if err == nil || !strings.Contains(err.Error(), "more than 1000 kustomization directories") {
			t.Fatalf("Render = %v, want the kustomization bound", err)
		}
	})
}

// TestSymlinkLeavingTheTree: a link out of the tree is refused even when
// the fs.FS would follow it (os.DirFS does).
func TestSymlinkLeavingTheTree(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside.yaml")
	if err := os.WriteFile(outside, []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: stolen\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(dir, "repo")
	if err := os.MkdirAll(filepath.Join(repo, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../outside.yaml", filepath.Join(repo, "app", "steal.yaml")); err != nil {
		t.Fatal(err)
	}
	res, err := render.Render(os.DirFS(repo), "app", render.Options{})
	if err == nil {
		t.Fatalf("rendered %q from a link out of the repository", names(res))
	}
	if !strings.Contains(err.Error(), "symbolic link leaves the repository") {
		t.Errorf("error %q does not say the link leaves the repository", err)
	}
}

// TestHelmDependencyCycleThroughLink: a file:// dependency that leads back
// to the chart through a link is a cycle.
func TestHelmDependencyCycleThroughLink(t *testing.T) {
	fsys := fstest.MapFS{
		"c/Chart.yaml": file(chartYAML + "dependencies:\n  - name: api\n    version: 0.1.0\n    repository: file://./self\n"),
		"c/self":       link("."),
	}
	_, err := render.Render(fsys, "c", render.Options{})
	if err == nil || !strings.Contains(err.Error(), "chart dependency cycle: c -> c") {
		t.Fatalf("Render = %v, want a dependency cycle", err)
	}
}

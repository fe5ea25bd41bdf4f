package source_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gyre-cd/gyre/render"
	"github.com/gyre-cd/gyre/source"
)

func TestFilesIsAnFS(t *testing.T) {
	repo := newTestRepo(t)
	sha := repo.commit("apps", map[string]string{
		"README.md":                        "# apps\n",
		"apps/a/deployment.yaml":           "kind: Deployment\n",
		"apps/a/kustomization.yaml":        "resources: [deployment.yaml]\n",
		"apps/b/chart/Chart.yaml":          "name: b\n",
		"apps/b/chart/templates/svc.yaml":  "kind: Service\n",
		"apps/b/chart/values.yaml":         "replicas: 1\n",
		"apps/b/chart/templates/_help.tpl": "{{/* */}}\n",
	})
	c, _, _ := newCache(t, source.Options{})
	ctx := context.Background()

	root, err := c.Files(ctx, repo.dir, sha, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(root, "README.md", "apps/a/deployment.yaml", "apps/b/chart/templates/svc.yaml"); err != nil {
		t.Fatal(err)
	}

	chart, err := c.Files(ctx, repo.dir, sha, "/apps/b/chart/")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(chart, "Chart.yaml", "values.yaml", "templates/svc.yaml", "templates/_help.tpl"); err != nil {
		t.Fatal(err)
	}
	got, err := fs.ReadFile(chart, "templates/svc.yaml")
	if err != nil || string(got) != "kind: Service\n" {
		t.Errorf("ReadFile(templates/svc.yaml) = %q, %v", got, err)
	}
	if chart.Commit() != sha || chart.Dir() != "apps/b/chart" {
		t.Errorf("snapshot is of %s:%s, want %s:apps/b/chart", chart.Commit(), chart.Dir(), sha)
	}
}

func TestFilesMissingPath(t *testing.T) {
	repo := newTestRepo(t)
	sha := repo.commit("first", map[string]string{"apps/a/x.yaml": "x: 1\n"})
	c, _, _ := newCache(t, source.Options{})
	for _, dir := range []string{"apps/nope", "apps/a/x.yaml"} {
		_, err := c.Files(context.Background(), repo.dir, sha, dir)
		if !errors.Is(err, source.ErrPathNotFound) || !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Files(%s) = %v, want ErrPathNotFound and fs.ErrNotExist", dir, err)
		}
		for _, want := range []string{"file://" + repo.dir, sha, dir} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		}
	}
	_, err := c.Files(context.Background(), repo.dir, "main", "")
	if !errors.Is(err, source.ErrRevisionNotFound) {
		t.Errorf("Files with a branch name instead of a SHA = %v, want ErrRevisionNotFound", err)
	}
}

func TestFilesSymlinks(t *testing.T) {
	repo := newTestRepo(t)
	repo.commit("base", map[string]string{"base/a.yaml": "a: 1\n", "app/own.yaml": "own: 1\n"})
	repo.symlink("app/shared", "../base")
	repo.symlink("app/a.yaml", "../base/a.yaml")
	sha := repo.symlink("app/escape", "../../etc")
	c, _, _ := newCache(t, source.Options{})

	app, err := c.Files(context.Background(), repo.dir, sha, "app")
	if err != nil {
		t.Fatal(err)
	}
	// Links inside the repository resolve even when they leave the
	// snapshot's directory; the one leaving the repository does not exist.
	for name, want := range map[string]string{"a.yaml": "a: 1\n", "shared/a.yaml": "a: 1\n"} {
		if got, err := fs.ReadFile(app, name); err != nil || string(got) != want {
			t.Errorf("ReadFile(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := app.Open("escape"); err == nil {
		t.Error("a link leaving the repository opened")
	}
	if info, err := fs.Stat(app, "shared"); err != nil || !info.IsDir() {
		t.Errorf("Stat(shared) = %v, %v; want the linked directory", info, err)
	}
	// ReadDir and Lstat report links as links, so walks do not follow them.
	entries, err := app.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, fmt.Sprintf("%s:%v", e.Name(), e.Type()))
	}
	if want := []string{"a.yaml:L---------", "own.yaml:----------", "shared:L---------"}; !reflect.DeepEqual(names, want) {
		t.Errorf("ReadDir = %v, want %v", names, want)
	}
	for name, want := range map[string]string{"shared": "../base", "a.yaml": "../base/a.yaml"} {
		if got, err := fs.ReadLink(app, name); err != nil || got != want {
			t.Errorf("ReadLink(%s) = %q, %v; want %q", name, got, err, want)
		}
		if info, err := fs.Lstat(app, name); err != nil || info.Mode().Type() != fs.ModeSymlink {
			t.Errorf("Lstat(%s) = %v, %v; want a link", name, info, err)
		}
	}
	if _, err := fs.ReadLink(app, "own.yaml"); err == nil {
		t.Error("ReadLink of a file succeeded")
	}
	if _, err := fs.Lstat(app, "escape"); err == nil {
		t.Error("Lstat of a link leaving the repository succeeded")
	}
}

// hostileLinks commits a tree whose links would make a walk that follows
// them explode (a -> . and b -> . at two levels give 2^depth paths), loop
// (x -> y -> x) or leave the repository, around a few real manifests.
func hostileLinks(t *testing.T) (*testRepo, string) {
	repo := newTestRepo(t)
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n"
	repo.commit("tree", map[string]string{
		"app/one.yaml":                        fmt.Sprintf(cm, "one"),
		"app/sub/two.yaml":                    fmt.Sprintf(cm, "two"),
		"shared/three.yaml":                   fmt.Sprintf(cm, "three"),
		"kust/kustomization.yaml":             "resources: [cm.yaml, a]\n",
		"kust/cm.yaml":                        fmt.Sprintf(cm, "kust"),
		"chart/Chart.yaml":                    "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
		"chart/templates/own.yaml":            fmt.Sprintf(cm, "chart-own"),
		"chart/values.yaml":                   "name: chart-linked\n",
		"shared/template.yaml":                fmt.Sprintf(cm, "{{ .Values.name }}"),
		"shared/kustomize/kustomization.yaml": "resources: [../three.yaml]\n",
	})
	var sha string
	for _, l := range [][2]string{
		{"app/a", "."}, {"app/b", "."}, {"app/sub/a", ".."}, {"app/sub/b", ".."},
		{"app/x", "y"}, {"app/y", "x"}, {"app/escape.yaml", "../../../etc/passwd"},
		{"app/three.yaml", "../shared/three.yaml"},
		{"kust/a", "."}, {"kust/b", "."},
		{"chart/templates/linked.yaml", "../../shared/template.yaml"},
		{"chart/templates/again", "."}, {"chart/templates/up", "../.."}, {"chart/x", "y"}, {"chart/y", "x"},
	} {
		sha = repo.symlink(l[0], l[1])
	}
	return repo, sha
}

func TestSnapshotWithHostileLinksIsAnFS(t *testing.T) {
	repo, sha := hostileLinks(t)
	c, _, _ := newCache(t, source.Options{})
	root, err := c.Files(context.Background(), repo.dir, sha, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(root, "app/one.yaml", "app/a", "app/three.yaml", "chart/templates/linked.yaml"); err != nil {
		t.Fatal(err)
	}
	var walked []string
	err = fs.WalkDir(root, "app", func(name string, d fs.DirEntry, err error) error {
		walked = append(walked, name)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"app", "app/a", "app/b", "app/one.yaml", "app/sub", "app/sub/a", "app/sub/b", "app/sub/two.yaml", "app/three.yaml"}
	if !reflect.DeepEqual(walked, want) {
		t.Errorf("WalkDir visited %q, want %q (loops and the escaping link do not exist)", walked, want)
	}
}

// TestRenderHostileLinks renders from a real repository whose links would
// make a walk that follows them endless: every source type finishes
// promptly, with the objects of the real files (and of links to files), or
// with a clear error.
func TestRenderHostileLinks(t *testing.T) {
	repo, sha := hostileLinks(t)
	c, _, _ := newCache(t, source.Options{})
	root, err := c.Files(context.Background(), repo.dir, sha, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		opts render.Options
		want []string // object names, sorted
		err  string
	}{
		{path: "app", opts: render.Options{Directory: render.DirectoryOptions{Recurse: true}}, want: []string{"one", "three", "two"}},
		{path: "app/a/b/a/sub", opts: render.Options{Type: render.Directory}, want: []string{"two"}},
		{path: "chart", want: []string{"chart-linked", "chart-own"}},
		{path: "kust", err: `kust/kustomization.yaml: resources "a": cycle: kust contains kust`},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			type outcome struct {
				res *render.Result
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				res, err := render.Render(root, tc.path, tc.opts)
				done <- outcome{res, err}
			}()
			var o outcome
			select {
			case o = <-done:
			case <-time.After(time.Minute):
				t.Fatal("render did not finish in a minute")
			}
			if tc.err != "" {
				if o.err == nil || !strings.Contains(o.err.Error(), tc.err) {
					t.Fatalf("Render = %v, want an error saying %q", o.err, tc.err)
				}
				return
			}
			if o.err != nil {
				t.Fatal(o.err)
			}
			var got []string
			for _, obj := range o.res.Objects {
				got = append(got, obj.Obj.GetName())
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("objects %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSnapshotWriteDir(t *testing.T) {
	repo := newTestRepo(t)
	repo.commit("chart", map[string]string{
		"chart/Chart.yaml":         "name: c\n",
		"chart/templates/cm.yaml":  "kind: ConfigMap\n",
		"other/ignored.yaml":       "x: 1\n",
		"other/shared.yaml":        "shared: 1\n",
		"chart/files/nested/a.txt": "hello\n",
	})
	repo.symlink("chart/files/shared.yaml", "../../other/shared.yaml")
	sha := repo.symlink("chart/files/loop", "..")
	c, _, _ := newCache(t, source.Options{})
	snap, err := c.Files(context.Background(), repo.dir, sha, "chart")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := snap.WriteDir(out); err != nil {
		t.Fatal(err)
	}
	var got []string
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(out, p)
		got = append(got, filepath.ToSlash(rel)+"="+string(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The link to a file is written as the file; the link to a directory
	// (back up the tree) is not followed.
	want := []string{"Chart.yaml=name: c\n", "files/nested/a.txt=hello\n", "files/shared.yaml=shared: 1\n", "templates/cm.yaml=kind: ConfigMap\n"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WriteDir wrote %q, want %q", got, want)
	}
}

func TestConcurrentReadersOfDifferentCommits(t *testing.T) {
	repo := newTestRepo(t)
	c, _, _ := newCache(t, source.Options{})
	ctx := context.Background()

	// Readers of earlier commits keep reading while later commits are
	// fetched into the same repository.
	var shas []string
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i := range 8 {
		sha := repo.commit(fmt.Sprint("commit ", i), map[string]string{
			"app/config.yaml":              fmt.Sprintf("version: %d\n", i),
			fmt.Sprintf("app/f%d.yaml", i): "x: 1\n",
		})
		c.Refresh(repo.dir)
		got, err := c.Resolve(ctx, repo.dir, "main")
		if err != nil || got != sha {
			t.Fatalf("Resolve(main) = %s, %v; want %s", got, err, sha)
		}
		shas = append(shas, sha)
		for j := range shas {
			wg.Go(func() {
				for range 5 {
					snap, err := c.Files(ctx, repo.dir, shas[j], "app")
					if err != nil {
						errs <- err
						return
					}
					data, err := fs.ReadFile(snap, "config.yaml")
					if err != nil {
						errs <- err
						return
					}
					if want := fmt.Sprintf("version: %d\n", j); string(data) != want {
						errs <- fmt.Errorf("commit %d: config.yaml = %q, want %q", j, data, want)
						return
					}
					if entries, err := fs.ReadDir(snap, "."); err != nil || len(entries) != j+2 {
						errs <- fmt.Errorf("commit %d: %d entries, %v; want %d", j, len(entries), err, j+2)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestChangedPaths(t *testing.T) {
	repo := newTestRepo(t)
	base := repo.commit("base", map[string]string{
		"apps/a/deploy.yaml": "a: 1\n",
		"apps/b/deploy.yaml": "b: 1\n",
		"apps/c/old.yaml":    "c: 1\n",
	})
	repo.commit("touch a", map[string]string{"apps/a/deploy.yaml": "a: 2\n"})
	head := repo.commit("add and remove", map[string]string{
		"apps/a/new.yaml": "n: 1\n",
		"apps/c/old.yaml": "",
	})
	c, _, _ := newCache(t, source.Options{})
	got, err := c.ChangedPaths(context.Background(), repo.dir, base, head)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"apps/a/deploy.yaml", "apps/a/new.yaml", "apps/c/old.yaml"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ChangedPaths = %q, want %q", got, want)
	}
	if got, err := c.ChangedPaths(context.Background(), repo.dir, head, head); err != nil || len(got) != 0 {
		t.Errorf("ChangedPaths(head, head) = %q, %v; want none", got, err)
	}
	_, err = c.ChangedPaths(context.Background(), repo.dir, base, strings.Repeat("0", 40))
	if !errors.Is(err, source.ErrRevisionNotFound) {
		t.Errorf("ChangedPaths to a missing commit = %v, want ErrRevisionNotFound", err)
	}
}

package render_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/gyre-cd/gyre/render"
)

// hashFS is a MapFS that knows the hash of its names, as a git snapshot
// does: a file's is its content's, a directory's its listing's and that
// of everything below it.
type hashFS struct{ fstest.MapFS }

func (h hashFS) ObjectHash(name string, follow bool) (string, error) {
	info, err := fs.Stat(h.MapFS, name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	sum := sha256.New()
	if info.IsDir() {
		entries, err := fs.ReadDir(h.MapFS, name)
		if err != nil {
			return "", err
		}
		fmt.Fprint(sum, "tree\x00")
		for _, e := range entries {
			child, err := h.ObjectHash(strings.TrimPrefix(name+"/"+e.Name(), "./"), follow)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(sum, "%s %s\x00", e.Name(), child)
		}
	} else {
		data, err := fs.ReadFile(h.MapFS, name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(sum, "blob\x00%s", data)
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// with returns a copy of m with files changed ("" deletes).
func with(m fstest.MapFS, files map[string]string) fstest.MapFS {
	out := maps.Clone(m)
	for name, data := range files {
		if data == "" {
			delete(out, name)
			continue
		}
		out[name] = file(data)
	}
	return out
}

// configMap is the YAML of a ConfigMap named name.
func configMap(name string) string { return string(cm(name).Data) }

// contentCache is a cache that counts its renders, and a helper to render
// through RenderContent checking what it reports.
type contentCache struct {
	t  *testing.T
	cr *countingRender
	c  *render.Cache
}

func newContentCache(t *testing.T) *contentCache {
	cr := &countingRender{}
	return &contentCache{t: t, cr: cr, c: render.NewCache(render.CacheOptions{Render: cr.render})}
}

// render renders dir of fsys at revision and checks that it rendered (or
// did not) as wantRender says, and returns the names of the objects.
func (cc *contentCache) render(revision string, fsys fs.FS, dir string, opts render.Options, wantRender bool) []string {
	cc.t.Helper()
	before := cc.cr.calls.Load()
	res, fresh, err := cc.c.RenderContent(context.Background(), revision, "repo", fsys, dir, opts)
	if err != nil {
		cc.t.Fatalf("render %s at %s: %v", dir, revision, err)
	}
	rendered := cc.cr.calls.Load() > before
	if rendered != wantRender || fresh != wantRender {
		cc.t.Fatalf("render %s at %s: rendered %v, reported fresh %v; want %v", dir, revision, rendered, fresh, wantRender)
	}
	var names []string
	for _, o := range res.Objects {
		names = append(names, o.Obj.GetName())
	}
	return names
}

var monorepo = fstest.MapFS{
	"apps/a/cm.yaml": file(configMap("a")),
	"apps/b/cm.yaml": file(configMap("b")),
	"README.md":      file("# apps\n"),
}

func TestCacheReusesRenderOfUnchangedFiles(t *testing.T) {
	cc := newContentCache(t)
	opts := render.Options{}
	cc.render("A", hashFS{monorepo}, "apps/a", opts, true)

	// Another application's folder changed: apps/a renders as it did.
	b := with(monorepo, map[string]string{"apps/b/cm.yaml": configMap("b2"), "README.md": "# changed\n"})
	if got := cc.render("B", hashFS{b}, "apps/a", opts, false); !equal(got, "a") {
		t.Fatalf("reused render = %v, want [a]", got)
	}
	// It is kept under B's key too.
	if _, ok := cc.c.Get(render.NewKey("B", "apps/a", opts)); !ok {
		t.Error("the reused result is not cached under the new revision")
	}
	cc.render("B", hashFS{b}, "apps/a", opts, false)

	// Callers get copies of a reused result too.
	res, _, err := cc.c.RenderContent(context.Background(), "B2", "repo", hashFS{b}, "apps/a", opts)
	if err != nil {
		t.Fatal(err)
	}
	res.Objects[0].Obj.SetName("changed")
	if got := cc.render("B3", hashFS{b}, "apps/a", opts, false); !equal(got, "a") {
		t.Fatalf("cached object was modified through a caller's copy: %v", got)
	}

	// The application's own file changed: it renders.
	c := with(b, map[string]string{"apps/a/cm.yaml": configMap("a2")})
	if got := cc.render("C", hashFS{c}, "apps/a", opts, true); !equal(got, "a2") {
		t.Fatalf("render = %v, want [a2]", got)
	}
	// A new file in it: it renders.
	d := with(c, map[string]string{"apps/a/more.yaml": configMap("more")})
	if got := cc.render("D", hashFS{d}, "apps/a", opts, true); !equal(got, "a2", "more") {
		t.Fatalf("render = %v, want [a2 more]", got)
	}
	// Other inputs, other options: no reuse.
	if _, fresh, err := cc.c.RenderContent(context.Background(), "E", "other repo", hashFS{d}, "apps/a", opts); err != nil || !fresh {
		t.Errorf("render with other inputs = fresh %v, %v; want a render", fresh, err)
	}
	cc.render("E", hashFS{d}, "apps/a", render.Options{Directory: render.DirectoryOptions{Recurse: true}}, true)
}

func TestCacheRendersWhenAProbedFileAppears(t *testing.T) {
	cc := newContentCache(t)
	cc.render("A", hashFS{monorepo}, "apps/a", render.Options{}, true)
	// A plain directory becomes a kustomization: the render looked for the
	// file and did not find it, which is part of what it read.
	b := with(monorepo, map[string]string{"apps/a/kustomization.yaml": "namePrefix: k-\nresources: [cm.yaml]\n"})
	if got := cc.render("B", hashFS{b}, "apps/a", render.Options{}, true); !equal(got, "k-a") {
		t.Fatalf("render = %v, want [k-a]", got)
	}
	// And the other way round: it goes away again.
	if got := cc.render("C", hashFS{monorepo}, "apps/a", render.Options{}, true); !equal(got, "a") {
		t.Fatalf("render = %v, want [a]", got)
	}
}

func TestCacheRendersWhenAMissingValueFileAppears(t *testing.T) {
	cc := newContentCache(t)
	opts := render.Options{Helm: render.HelmOptions{ValueFiles: []string{"../shared/values.yaml"}, IgnoreMissingValueFiles: true}}
	a := with(monorepo, map[string]string{
		"chart/Chart.yaml":       "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"chart/values.yaml":      "name: default\n",
		"chart/templates/x.yaml": configMap("{{ .Values.name }}"),
	})
	if got := cc.render("A", hashFS{a}, "chart", opts, true); !equal(got, "default") {
		t.Fatalf("render = %v, want [default]", got)
	}
	cc.render("B", hashFS{with(a, map[string]string{"apps/b/cm.yaml": configMap("b2")})}, "chart", opts, false)
	// The value file the render looked for, outside the chart, appears.
	c := with(a, map[string]string{"shared/values.yaml": "name: shared\n"})
	if got := cc.render("C", hashFS{c}, "chart", opts, true); !equal(got, "shared") {
		t.Fatalf("render = %v, want [shared]", got)
	}
}

func TestCacheRendersWhenAKustomizeBaseChanges(t *testing.T) {
	cc := newContentCache(t)
	a := fstest.MapFS{
		"base/kustomization.yaml":    file("resources: [cm.yaml]\n"),
		"base/cm.yaml":               file(configMap("base")),
		"overlay/kustomization.yaml": file("namePrefix: o-\nresources: [../base]\n"),
		"other/cm.yaml":              file(configMap("other")),
	}
	cc.render("A", hashFS{a}, "overlay", render.Options{}, true)
	b := with(a, map[string]string{"other/cm.yaml": configMap("other2")})
	if got := cc.render("B", hashFS{b}, "overlay", render.Options{}, false); !equal(got, "o-base") {
		t.Fatalf("reused render = %v, want [o-base]", got)
	}
	c := with(b, map[string]string{"base/cm.yaml": configMap("base2")})
	if got := cc.render("C", hashFS{c}, "overlay", render.Options{}, true); !equal(got, "o-base2") {
		t.Fatalf("render = %v, want [o-base2]", got)
	}
}

func TestCacheWithoutObjectHashKeysByRevision(t *testing.T) {
	cc := newContentCache(t)
	cc.render("A", monorepo, "apps/a", render.Options{}, true)
	cc.render("A", monorepo, "apps/a", render.Options{}, false)
	cc.render("B", monorepo, "apps/a", render.Options{}, true) // the same files, but no hashes
}

func TestCacheForgetDropsReusableRender(t *testing.T) {
	cc := newContentCache(t)
	cc.render("A", hashFS{monorepo}, "apps/a", render.Options{}, true)
	cc.c.Forget(render.NewKey("B", "apps/a", render.Options{}))
	cc.render("B", hashFS{monorepo}, "apps/a", render.Options{}, true)
	cc.render("C", hashFS{monorepo}, "apps/a", render.Options{}, false)
}

func TestCacheDoesNotKeepHugeReadSets(t *testing.T) {
	big := fstest.MapFS{}
	for i := range 5000 {
		big[fmt.Sprintf("big/f%04d.yaml", i)] = file("# nothing\n")
	}
	big["big/cm.yaml"] = file(configMap("big"))
	cc := newContentCache(t)
	cc.render("A", hashFS{big}, "big", render.Options{}, true)
	cc.render("B", hashFS{big}, "big", render.Options{}, true)
	// A small one next to it is kept.
	cc.render("A", hashFS{monorepo}, "apps/a", render.Options{}, true)
	cc.render("B", hashFS{monorepo}, "apps/a", render.Options{}, false)
}

func TestMountObjectHash(t *testing.T) {
	base := hashFS{monorepo}
	values := hashFS{fstest.MapFS{"values.yaml": file("x: 1\n")}}
	m := render.Mount(base, map[string]fs.FS{"$values": values, "$plain": fstest.MapFS{"x.yaml": file("x: 1\n")}})
	h, ok := m.(render.ObjectHashFS)
	if !ok {
		t.Fatal("a Mount of trees with hashes has none")
	}
	for name, want := range map[string]string{"apps/a": must(base.ObjectHash("apps/a", true)), "$values/values.yaml": must(values.ObjectHash("values.yaml", true)), "nope": ""} {
		if got, err := h.ObjectHash(name, true); err != nil || got != want {
			t.Errorf("ObjectHash(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	// A mount without hashes has none, nor has the root that lists it.
	for _, name := range []string{"$plain/x.yaml", "$plain", "."} {
		if got, err := h.ObjectHash(name, true); err == nil {
			t.Errorf("ObjectHash(%s) = %q, want an error", name, got)
		}
	}
	// The root's hash covers the mounts.
	m2 := render.Mount(base, map[string]fs.FS{"$values": values})
	m3 := render.Mount(base, map[string]fs.FS{"$values": hashFS{fstest.MapFS{"values.yaml": file("x: 2\n")}}})
	if must(m2.(render.ObjectHashFS).ObjectHash(".", true)) == must(m3.(render.ObjectHashFS).ObjectHash(".", true)) {
		t.Error("the root's hash does not change with a mount's")
	}

	// A render that reads under a mount without hashes is keyed by revision.
	cc := newContentCache(t)
	opts := render.Options{Type: render.Helm, Helm: render.HelmOptions{ValueFiles: []string{"../$plain/x.yaml"}}}
	chart := with(monorepo, map[string]string{
		"chart/Chart.yaml":       "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"chart/templates/x.yaml": configMap("{{ .Values.x }}"),
	})
	mounted := render.Mount(hashFS{chart}, map[string]fs.FS{"$plain": fstest.MapFS{"x.yaml": file("x: 1\n")}})
	cc.render("A", mounted, "chart", opts, true)
	cc.render("B", mounted, "chart", opts, true)
	// One that does not is reused.
	cc.render("A", mounted, "apps/a", render.Options{}, true)
	cc.render("B", mounted, "apps/a", render.Options{}, false)
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

func equal(got []string, want ...string) bool {
	return strings.Join(got, ",") == strings.Join(want, ",")
}

// TestCacheReportsOneFreshRender: callers that share a render, or come
// after it, are not told they rendered; exactly one caller is.
func TestCacheReportsOneFreshRender(t *testing.T) {
	cc := newContentCache(t)
	var fresh atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, f, err := cc.c.RenderContent(context.Background(), "A", "repo", hashFS{monorepo}, "apps/a", render.Options{})
			if err != nil {
				t.Error(err)
			}
			if f {
				fresh.Add(1)
			}
		})
	}
	wg.Wait()
	if n, calls := fresh.Load(), cc.cr.calls.Load(); n != 1 || calls != 1 {
		t.Fatalf("%d callers told of a render, %d renders; want 1 and 1", n, calls)
	}
}

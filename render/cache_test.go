package render_test

import (
	"errors"
	"io/fs"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gyre-cd/gyre/render"
)

// countingRender wraps render.Render and counts its calls.
type countingRender struct {
	calls atomic.Int64
	delay time.Duration
}

func (c *countingRender) render(fsys fs.FS, dir string, opts render.Options) (*render.Result, error) {
	c.calls.Add(1)
	time.Sleep(c.delay)
	return render.Render(fsys, dir, opts)
}

var cacheFS = fstest.MapFS{
	"app/cm.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"),
}

func TestCacheRendersEachKeyOnce(t *testing.T) {
	cr := &countingRender{}
	c := render.NewCache(render.CacheOptions{Render: cr.render})
	opts := render.Options{Directory: render.DirectoryOptions{Recurse: true}}

	first, err := c.Render("sha1", cacheFS, "app", opts)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.Render("sha1", cacheFS, "app", opts); err != nil {
			t.Fatal(err)
		}
	}
	// An equal key spelled differently: "./app/" cleans to "app", and an
	// equal copy of the options hashes the same.
	opts2 := render.Options{Directory: render.DirectoryOptions{Recurse: true}}
	if _, err := c.Render("sha1", cacheFS, "./app/", opts2); err != nil {
		t.Fatal(err)
	}
	if n := cr.calls.Load(); n != 1 {
		t.Fatalf("rendered %d times for one key, want 1", n)
	}
	if got, ok := c.Get(render.NewKey("sha1", "app", opts)); !ok || len(got.Objects) != 1 {
		t.Fatalf("Get = %v, %v; want the cached result", got, ok)
	}

	// Callers get copies: changing one does not change the cache.
	first.Objects[0].Obj.SetName("changed")
	again, _ := c.Render("sha1", cacheFS, "app", opts)
	if again.Objects[0].Obj.GetName() != "a" {
		t.Fatalf("cached object was modified through a caller's copy")
	}

	if _, err := c.Render("sha2", cacheFS, "app", opts); err != nil {
		t.Fatal(err)
	}
	if n := cr.calls.Load(); n != 2 {
		t.Fatalf("a new SHA rendered %d times in all, want 2", n)
	}
	if _, err := c.Render("sha2", cacheFS, "app", render.Options{}); err != nil {
		t.Fatal(err)
	}
	if n := cr.calls.Load(); n != 3 {
		t.Fatalf("new options rendered %d times in all, want 3", n)
	}
}

func TestCacheCollapsesConcurrentRenders(t *testing.T) {
	cr := &countingRender{delay: 50 * time.Millisecond}
	c := render.NewCache(render.CacheOptions{Render: cr.render})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := c.Render("sha", cacheFS, "app", render.Options{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := cr.calls.Load(); n != 1 {
		t.Fatalf("16 concurrent requests for one key rendered %d times, want 1", n)
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	cr := &countingRender{}
	c := render.NewCache(render.CacheOptions{Size: 2, Render: cr.render})
	for _, sha := range []string{"a", "b", "a", "c"} { // "b" is least recently used when "c" arrives
		if _, err := c.Render(sha, cacheFS, "app", render.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2", c.Len())
	}
	if _, ok := c.Get(render.NewKey("b", "app", render.Options{})); ok {
		t.Error(`"b" still cached, want it evicted`)
	}
	for _, sha := range []string{"a", "c"} {
		if _, ok := c.Get(render.NewKey(sha, "app", render.Options{})); !ok {
			t.Errorf("%q evicted, want it cached", sha)
		}
	}
}

// TestCacheGrow: a cache grown past the set of renders looked at in turn
// renders each once, where the smaller one rendered on every look; it never
// shrinks.
func TestCacheGrow(t *testing.T) {
	cr := &countingRender{}
	c := render.NewCache(render.CacheOptions{Size: 2, Render: cr.render})
	look := func() {
		for _, sha := range []string{"a", "b", "c"} {
			if _, err := c.Render(sha, cacheFS, "app", render.Options{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	look()
	look()
	if n := cr.calls.Load(); n != 6 {
		t.Fatalf("%d renders in two rounds of three over a cache of two, want 6", n)
	}
	c.Grow(3)
	c.Grow(1)
	look()
	look()
	if n := cr.calls.Load(); n != 7 {
		t.Fatalf("%d renders after growing to three, want 7: the one the small cache had dropped, then all hits", n)
	}
}

func TestCacheDoesNotKeepErrors(t *testing.T) {
	cr := &countingRender{}
	c := render.NewCache(render.CacheOptions{Render: cr.render})
	for range 2 {
		_, err := c.Render("sha", cacheFS, "missing", render.Options{})
		if !errors.Is(err, render.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	}
	if n := cr.calls.Load(); n != 2 {
		t.Fatalf("failed render ran %d times, want 2 (errors are not cached)", n)
	}
}

func TestOptionsHash(t *testing.T) {
	a := render.Options{Kustomize: render.KustomizeOptions{CommonLabels: map[string]string{"a": "1", "b": "2", "c": "3"}}}
	b := render.Options{Kustomize: render.KustomizeOptions{CommonLabels: map[string]string{"c": "3", "b": "2", "a": "1"}}}
	if a.Hash() != b.Hash() {
		t.Error("equal options hash differently")
	}
	b.Kustomize.CommonLabels["a"] = "x"
	if a.Hash() == b.Hash() {
		t.Error("different options hash the same")
	}
	if (render.Options{}).Hash() == (render.Options{Helm: render.HelmOptions{SkipCRDs: true}}).Hash() {
		t.Error("SkipCRDs does not change the hash")
	}
}

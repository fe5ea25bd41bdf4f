package sync

import (
	"context"
	"io/fs"
	"log/slog"
	gosync "sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	clusters "github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/render"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// renderCounter counts renders by source path, as the cache's renderer and
// as the Observer sees them.
type renderCounter struct {
	nopObserver
	mu       gosync.Mutex
	rendered map[string]int // by path, counted by the renderer
	observed int            // renders the Observer was told of
}

func (c *renderCounter) render(fsys fs.FS, dir string, opts render.Options) (*render.Result, error) {
	c.mu.Lock()
	c.rendered[dir]++
	c.mu.Unlock()
	return render.Render(fsys, dir, opts)
}

func (c *renderCounter) Rendered(string, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.observed++
}

// TestRenderContentRendersOnlyChangedApps: of two Applications in one
// repository, a commit that changes only B's folder renders B again, and A
// comes from the render of the commit before. A hard refresh renders A all
// the same.
func TestRenderContentRendersOnlyChangedApps(t *testing.T) {
	t.Parallel()
	counter := &renderCounter{rendered: map[string]int{}}
	r, err := New(cluster.Config, reconciler.source, Options{
		Logger:   slog.New(slog.DiscardHandler),
		Render:   render.CacheOptions{Render: counter.render},
		Observer: counter,
		Clusters: clusters.NewRegistry(cluster.Config, slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		t.Fatal(err)
	}
	repo := newRepo(t)
	first := repo.commit(map[string]*string{
		"apps/a/cm.yaml": s(configMap("a", "1")),
		"apps/b/cm.yaml": s(configMap("b", "1")),
	})
	second := repo.commit(map[string]*string{"apps/b/cm.yaml": s(configMap("b", "2"))})
	apps := map[string]*app.Application{}
	for _, name := range []string{"a", "b"} {
		apps[name] = &app.Application{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: app.Spec{
				Source:      app.Source{RepoURL: repo.dir, TargetRevision: "main", Path: "apps/" + name},
				Destination: app.Destination{Namespace: "default"},
			},
		}
	}
	renderAt := func(rctx context.Context, name, sha, want string) {
		t.Helper()
		a := apps[name]
		rs, err := r.resolveSources(rctx, a.Spec.SourceList(), sha)
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.renderSources(rctx, a, rs)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Objects) != 1 || res.Objects[0].Obj.GetName() != name {
			t.Fatalf("%s at %s rendered %v, want ConfigMap %s", name, sha, res.Objects, name)
		}
		if got, _, _ := unstructured.NestedString(res.Objects[0].Obj.Object, "data", "value"); got != want {
			t.Fatalf("%s at %s rendered value %q, want %q", name, sha, got, want)
		}
	}
	want := func(a, b, observed int) {
		t.Helper()
		counter.mu.Lock()
		defer counter.mu.Unlock()
		if counter.rendered["apps/a"] != a || counter.rendered["apps/b"] != b || counter.observed != observed {
			t.Fatalf("renders: a %d, b %d, observed %d; want %d, %d, %d", counter.rendered["apps/a"], counter.rendered["apps/b"], counter.observed, a, b, observed)
		}
	}

	renderAt(ctx, "a", first, "1")
	renderAt(ctx, "b", first, "1")
	want(1, 1, 2)
	renderAt(ctx, "a", second, "1")
	renderAt(ctx, "b", second, "2")
	want(1, 2, 3)
	// A hard refresh renders, reused or not.
	renderAt(hardRefreshContext(ctx, &app.Application{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{RefreshAnnotation: RefreshHardValue}}}), "a", second, "1")
	want(2, 2, 4)
}

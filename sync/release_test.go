package sync

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
)

// releaseAfter is the grace period of the shared loop's caches: a
// repository or namespace no Application uses is released this long after
// its last use.
const releaseAfter = 2 * time.Second

// loopEvents records what a loop tells its Observer about each Application.
type loopEvents struct {
	nopObserver
	mu         gosync.Mutex
	reconciled map[types.NamespacedName]int
	forgotten  map[types.NamespacedName]int
}

// observed is the shared loop's Observer.
var observed = &loopEvents{}

var _ Forgetter = (*loopEvents)(nil)

func (e *loopEvents) Reconciled(key types.NamespacedName, _ time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.reconciled == nil {
		e.reconciled = map[types.NamespacedName]int{}
	}
	e.reconciled[key]++
}

func (e *loopEvents) ForgetApp(key types.NamespacedName) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.forgotten == nil {
		e.forgotten = map[types.NamespacedName]int{}
	}
	e.forgotten[key]++
}

// counts returns how often key was reconciled and forgotten.
func (e *loopEvents) counts(key types.NamespacedName) (reconciled, forgotten int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reconciled[key], e.forgotten[key]
}

// TestGoneAppIsNotRequeued hands a worker the key of an Application that
// does not exist: it must be forgotten, and not come back after the resync
// period. A key queued after twice that period must come out first.
func TestGoneAppIsNotRequeued(t *testing.T) {
	events := &loopEvents{}
	gone := types.NamespacedName{Namespace: "team", Name: "gone"}
	later := types.NamespacedName{Namespace: "team", Name: "later"}
	r := &Reconciler{
		opts: Options{ResyncPeriod: 10 * time.Millisecond, Observer: events},
		log:  slog.New(slog.DiscardHandler),
		queue: workqueue.NewTypedRateLimitingQueue(
			workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName]()),
		written: map[types.NamespacedName]string{gone: "5"},
	}
	defer r.queue.ShutDown()

	r.queue.Add(gone)
	if !r.processNext(ctx) {
		t.Fatal("processNext: queue shut down")
	}
	if reconciled, forgotten := events.counts(gone); reconciled != 1 || forgotten != 1 {
		t.Errorf("a gone app was reconciled %d times and forgotten %d times, want 1 and 1", reconciled, forgotten)
	}
	if _, ok := r.written[gone]; ok {
		t.Error("the last status write of a gone app is still remembered")
	}
	r.queue.AddAfter(later, 2*r.opts.ResyncPeriod)
	if next, _ := r.queue.Get(); next != later {
		t.Fatalf("the queue handed out %s before %s: the gone app was queued again", next, later)
	}
}

// repoDirs returns the repository directories in the shared git cache.
func repoDirs(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(gitCacheDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// newDir returns the one git cache directory that is not in before.
func newDir(t testing.TB, before []string) string {
	t.Helper()
	var added []string
	for _, d := range repoDirs(t) {
		if !slices.Contains(before, d) {
			added = append(added, d)
		}
	}
	if len(added) != 1 {
		t.Fatalf("git cache directories added: %v, want one (before: %v)", added, before)
	}
	return added[0]
}

// watchesNamespace reports whether the shared live cache holds ns as a
// namespace in use, whose descendants it watches (per namespace, or
// through its cluster-wide watches).
func watchesNamespace(ns string) bool {
	return slices.Contains(reconciler.home.live.Namespaces(), ns)
}

// TestReleaseAfterDelete deletes an Application and checks that the loop
// lets go of it: no more reconciles, no cached decoding, its repository's
// git cache deleted from memory and disk, its namespace no longer watched,
// and the goroutines back near where they were; an app that stays keeps
// all of its own.
func TestReleaseAfterDelete(t *testing.T) {
	keepNs, goneNs := cluster.Namespace(t), cluster.Namespace(t)
	keepRepo, goneRepo := newRepo(t), newRepo(t)
	files := func(name string) map[string]*string {
		return map[string]*string{"deploy.yaml": s(deployment(name, "nginx:1.27", 1)), "cm.yaml": s(configMap(name, "v"))}
	}
	keepSHA := keepRepo.commit(files("keep"))
	goneSHA := goneRepo.commit(files("gone"))

	// The app that stays starts the watches of the kinds both use.
	dirs := repoDirs(t)
	keep := newApp(t, keepNs, "keep", keepRepo, "", nil)
	syncedAt(t, keep, keepSHA)
	keepDir := newDir(t, dirs)
	runtime.GC()
	baseGoroutines := runtime.NumGoroutine()
	dirs = repoDirs(t)

	key := newApp(t, goneNs, "gone", goneRepo, "", func(a *app.Application) {
		a.Finalizers = []string{ResourcesFinalizer}
	})
	syncedAt(t, key, goneSHA)
	goneDir := newDir(t, dirs)
	if !watchesNamespace(goneNs) {
		t.Fatalf("namespace %s is not watched while an app deploys to it", goneNs)
	}
	withApp := runtime.NumGoroutine()

	if err := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(goneNs).Delete(ctx, key.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		_, err := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(goneNs).Get(ctx, key.Name, metav1.GetOptions{})
		_, forgotten := observed.counts(key)
		return apierrors.IsNotFound(err) && forgotten > 0, fmt.Sprintf("get: %v; forgotten %d times", err, forgotten)
	})
	clustertest.Eventually(t, 10*releaseAfter, func() (bool, string) {
		dirs := repoDirs(t)
		watched := watchesNamespace(goneNs)
		return !slices.Contains(dirs, goneDir) && !watched,
			fmt.Sprintf("git cache directories %v (the app's: %s); namespace watched: %v", dirs, goneDir, watched)
	})
	reconciler.mu.Lock()
	_, remembered := reconciler.written[key]
	reconciler.mu.Unlock()
	if remembered {
		t.Error("the deleted app's last status write is still remembered")
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		runtime.GC()
		n := runtime.NumGoroutine()
		return n <= baseGoroutines+5, fmt.Sprintf("%d goroutines; %d before the app, %d with it", n, baseGoroutines, withApp)
	})

	// The app that stays keeps its repository, its namespace, and its
	// loop: a refresh reconciles it, and not the deleted one.
	if !watchesNamespace(keepNs) {
		t.Errorf("namespace %s of the app that stays is no longer watched", keepNs)
	}
	if got := repoDirs(t); !slices.Contains(got, keepDir) {
		t.Errorf("the git cache of the app that stays was released: %v, want %s among them", got, keepDir)
	}
	goneReconciles, _ := observed.counts(key)
	keepReconciles, _ := observed.counts(keep)
	reconciler.Refresh(keep)
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		n, _ := observed.counts(keep)
		return n > keepReconciles, "the app that stays was not reconciled after a refresh"
	})
	if n, _ := observed.counts(key); n != goneReconciles {
		t.Errorf("the deleted app was reconciled %d more times after it was forgotten", n-goneReconciles)
	}
	syncedAt(t, keep, keepSHA)
}

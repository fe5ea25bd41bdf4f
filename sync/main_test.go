package sync

import (
	"context"
	"flag"
	"fmt"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/gyre-cd/gyre/app"
	clusters "github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/helmrepo"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	"github.com/gyre-cd/gyre/render"
	"github.com/gyre-cd/gyre/source"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
)

// The integration tests share one embedded cluster and one Reconciler; each
// test works in its own namespaces with its own git repositories.
var (
	cluster    *clustertest.Cluster
	reconciler *Reconciler
	// gitCacheDir is the shared Reconciler's git cache.
	gitCacheDir string
	// chartCreds is what the shared Reconciler's chart cache presents to
	// chart repositories and registries; tests register their servers in
	// it (see chartCredentials).
	chartCreds = &chartCredentials{}
	// chartLog holds everything the chart cache logged, for tests that
	// look for leaked secrets.
	chartLog = &testsupport.LockedBuffer{}
	// clusterRegistry is the shared Reconciler's clusters: the embedded
	// one, and the workload clusters tests register (see clusters_test.go).
	clusterRegistry *clusters.Registry
)

func TestMain(m *testing.M) {
	render.ServeIfWorker() // the shared loop's render workers are this binary
	flag.Parse()
	if !testsupport.NeedsCluster("*_test.go") {
		os.Exit(m.Run())
	}
	os.Exit(clustertest.Run(m, &cluster, func(c *clustertest.Cluster) (func(), error) {
		dir, err := os.MkdirTemp("", "gyre-sync-test-")
		if err != nil {
			return nil, err
		}
		gitCacheDir = filepath.Join(dir, "git")
		opts := source.DefaultOptions(gitCacheDir)
		opts.Logger = slog.New(slog.DiscardHandler)
		opts.AllowFileURLs = true
		opts.IdleTimeout = releaseAfter
		src, err := source.New(opts)
		if err != nil {
			return nil, err
		}
		cfg := rest.CopyConfig(c.Config)
		cfg.WrapTransport = requests.wrap
		sandbox, err := render.NewSandbox(render.SandboxOptions{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, err
		}
		charts, err := helmrepo.New(helmrepo.Options{Dir: filepath.Join(dir, "charts"), PollInterval: chartPollInterval, Credentials: chartCreds.lookup,
			Logger: slog.New(slog.NewTextHandler(chartLog, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		if err != nil {
			sandbox.Close()
			return nil, err
		}
		clusterRegistry = clusters.NewRegistry(cfg, slog.New(slog.DiscardHandler))
		if err := clusterRegistry.Watch(context.Background(), c.Client, "gyre"); err != nil {
			return nil, err
		}
		r, err := New(cfg, src, Options{Logger: slog.New(slog.DiscardHandler), WaveTimeout: 30 * time.Second, Render: render.CacheOptions{Sandbox: sandbox},
			Observer: observed, ReleaseInterval: 100 * time.Millisecond, NamespaceIdleTimeout: releaseAfter, Charts: charts, Health: healthChecker,
			Clusters: clusterRegistry, ClusterProbeInterval: 100 * time.Millisecond})
		if err != nil {
			sandbox.Close()
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			select {
			case err := <-done:
				return false, fmt.Errorf("reconciler stopped: %v", err)
			default:
				return r.Ready(), nil
			}
		})
		if err != nil {
			cancel()
			sandbox.Close()
			return nil, fmt.Errorf("reconciler not ready: %w", err)
		}
		reconciler = r
		return func() { cancel(); <-done; sandbox.Close(); stopWorkloadClusters(); os.RemoveAll(dir) }, nil
	}))
}

var ctx = context.Background()

// requests counts the API requests the shared Reconciler makes, by kind.
var requests = &requestCounter{}

type requestCounter struct {
	mu     gosync.Mutex
	counts map[string]int
	// byNamespace counts the requests to objects in one namespace (or
	// to the namespace itself), by kind; status writes are "STATUS".
	byNamespace map[string]map[string]int
}

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		kind := req.Method
		if req.URL.Query().Get("dryRun") != "" {
			kind = "DRYRUN"
		} else if req.URL.Query().Get("watch") == "true" {
			kind = "WATCH"
		}
		c.mu.Lock()
		if c.counts == nil {
			c.counts = map[string]int{}
		}
		c.counts[kind]++
		if ns := namespaceOf(req.URL.Path); ns != "" {
			if c.byNamespace == nil {
				c.byNamespace = map[string]map[string]int{}
			}
			if c.byNamespace[ns] == nil {
				c.byNamespace[ns] = map[string]int{}
			}
			if kind == http.MethodPut && strings.HasSuffix(req.URL.Path, "/status") {
				kind = "STATUS"
			}
			c.byNamespace[ns][kind]++
		}
		c.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

// namespaceOf returns the namespace a request path names ("" for none).
func namespaceOf(path string) string {
	_, rest, ok := strings.Cut(path, "/namespaces/")
	if !ok {
		return ""
	}
	ns, _, _ := strings.Cut(rest, "/")
	return ns
}

// inNamespace returns the requests counted in namespace ns so far.
func (c *requestCounter) inNamespace(ns string) map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.byNamespace[ns])
}

// take returns the counts since the last take.
func (c *requestCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.counts
	c.counts = nil
	return out
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// repo is a real git repository in a temporary directory.
type repo struct {
	t    testing.TB
	dir  string
	git  *git.Repository
	tick time.Time
}

func newRepo(t testing.TB) *repo {
	t.Helper()
	dir := t.TempDir()
	g, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: "refs/heads/main"}})
	if err != nil {
		t.Fatal(err)
	}
	return &repo{t: t, dir: dir, git: g, tick: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// commit writes files (a nil value deletes the file) and commits them,
// returning the commit SHA.
func (r *repo) commit(files map[string]*string) string {
	r.t.Helper()
	wt, err := r.git.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(r.dir, name)
		if files[name] == nil {
			if _, err := wt.Remove(name); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(*files[name]), 0o644); err != nil {
			r.t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			r.t.Fatal(err)
		}
	}
	r.tick = r.tick.Add(time.Minute)
	sha, err := wt.Commit("change "+strings.Join(names, ", "), &git.CommitOptions{
		Author:            &object.Signature{Name: "test", Email: "test@example.com", When: r.tick},
		AllowEmptyCommits: true,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return sha.String()
}

// push makes gyre notice the new commit at once, as a webhook would.
func (r *repo) push() { reconciler.RefreshRepository(r.dir, "") }

func s(v string) *string { return &v }

// newApp creates an Application in ns for a path of r.
func newApp(t testing.TB, ns, name string, r *repo, path string, mutate func(*app.Application)) types.NamespacedName {
	t.Helper()
	a := &app.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: app.SchemeGroupVersion().String(), Kind: app.ApplicationKind},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: app.Spec{
			Source:      app.Source{RepoURL: r.dir, TargetRevision: "main", Path: path},
			Destination: app.Destination{Namespace: ns},
			SyncPolicy:  &app.SyncPolicy{Automated: &app.AutomatedSync{Prune: true, SelfHeal: true}},
		},
	}
	if mutate != nil {
		mutate(a)
	}
	u, err := a.ToUnstructured()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns).Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return types.NamespacedName{Namespace: ns, Name: name}
}

// getApp reads an Application from the API server.
func getApp(t testing.TB, key types.NamespacedName) *app.Application {
	t.Helper()
	u, err := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.FromUnstructured(u)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// waitApp polls the Application until cond holds.
func waitApp(t testing.TB, key types.NamespacedName, timeout time.Duration, cond func(a *app.Application) (bool, string)) *app.Application {
	t.Helper()
	var last *app.Application
	clustertest.Eventually(t, timeout, func() (bool, string) {
		last = getApp(t, key)
		ok, msg := cond(last)
		return ok, fmt.Sprintf("%s (sync %s %s, health %s %q, op %s, conditions %v)", msg, last.Status.Sync.Status, app.ShortRevision(last.Status.Sync.Revision), last.Status.Health.Status, last.Status.Health.Message, opSummary(last), last.Status.Conditions)
	})
	return last
}

func opSummary(a *app.Application) string {
	if a.Status.OperationState == nil {
		return "none"
	}
	return string(a.Status.OperationState.Phase) + ": " + a.Status.OperationState.Message
}

// syncedAt waits until the app is Synced and Healthy at revision sha.
func syncedAt(t testing.TB, key types.NamespacedName, sha string) *app.Application {
	t.Helper()
	return waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == sha && a.Status.Health.Status == app.Healthy, "not synced and healthy"
	})
}

// request sets the Application's operation field, as the CLI and UI do.
func request(t testing.TB, key types.NamespacedName, op app.Operation) {
	t.Helper()
	updateApp(t, key, func(a *app.Application) { a.Operation = &op })
}

// updateApp changes an Application's spec, retrying on conflicts with gyre's
// status writes.
func updateApp(t testing.TB, key types.NamespacedName, mutate func(*app.Application)) {
	t.Helper()
	for attempt := 0; attempt < 10; attempt++ {
		a := getApp(t, key)
		mutate(a)
		u, err := a.ToUnstructured()
		if err != nil {
			t.Fatal(err)
		}
		_, err = cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(key.Namespace).Update(ctx, u, metav1.UpdateOptions{})
		if err == nil {
			return
		}
	}
	t.Fatalf("could not update %s", key)
}

package helmrepo_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/helmrepo"
	"github.com/gyre-cd/gyre/helmrepo/helmrepotest"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/source"
)

// interval is the poll interval of the caches under test; the fake clock
// moves by it.
const interval = time.Minute

// env is a cache under test, its clock and what it told its observer.
type env struct {
	cache *helmrepo.Cache
	clock *testsupport.FakeClock
	obs   *observer
	dir   string
}

// newCache returns a cache on a fake clock; opts' zero fields get the
// test's defaults.
func newCache(t testing.TB, opts helmrepo.Options) *env {
	t.Helper()
	e := &env{clock: testsupport.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), obs: &observer{}}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = interval
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = e.clock
	}
	if opts.Observer == nil {
		opts.Observer = e.obs
	}
	e.dir = opts.Dir
	c, err := helmrepo.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.cache = c
	return e
}

// trusting returns credentials that trust srv's certificate.
func trusting(srv *helmrepotest.Server) func(source.RepoType, string) (source.Credentials, error) {
	return func(source.RepoType, string) (source.Credentials, error) {
		return source.Credentials{CAData: srv.CAPEM()}, nil
	}
}

// resolve calls Resolve and fails the test on an error.
func resolve(t testing.TB, c *helmrepo.Cache, repoURL, chart, rev string) helmrepo.Chart {
	t.Helper()
	ch, err := c.Resolve(context.Background(), repoURL, chart, rev)
	if err != nil {
		t.Fatalf("Resolve(%s, %s, %q): %v", repoURL, chart, rev, err)
	}
	return ch
}

// readFile reads name from fsys and fails the test when it cannot.
func readFile(t testing.TB, fsys fs.FS, name string) string {
	t.Helper()
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

// wantErr fails the test unless err wraps target, and unless its message
// holds each of the want strings and is an *helmrepo.Error.
func wantErr(t testing.TB, err, target error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", target)
	}
	if !errors.Is(err, target) {
		t.Fatalf("error %q does not wrap %q", err, target)
	}
	var e *helmrepo.Error
	if !errors.As(err, &e) {
		t.Errorf("error %q is a %T, not a *helmrepo.Error", err, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

// observer counts the requests a cache reports.
type observer struct {
	mu   sync.Mutex
	n    map[source.RequestType]int
	errs []error
}

func (o *observer) GitRequest(repo string, typ source.RequestType, d time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[source.RequestType]int{}
	}
	o.n[typ]++
	if err != nil {
		o.errs = append(o.errs, err)
	}
}

func (o *observer) count(typ source.RequestType) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[typ]
}

// eventually polls cond until it holds, failing the test after 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testsupport.Eventually(t, 10*time.Second, func() (bool, string) { return cond(), "waiting for " + what })
}

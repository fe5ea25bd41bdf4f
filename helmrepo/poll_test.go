package helmrepo_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/helmrepo"
	"github.com/gyre-cd/gyre/helmrepo/helmrepotest"
)

// poller runs a cache's Poll loop for a test and records what it reports.
type poller struct {
	mu      sync.Mutex
	changed []string
}

func startPoll(t *testing.T, e *env) *poller {
	t.Helper()
	p := &poller{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.cache.Poll(ctx, func(key string) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.changed = append(p.changed, key)
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	// The first round finds nothing to do and waits on the clock.
	eventually(t, "the poll loop to wait", func() bool { return e.clock.Pending() == 1 })
	return p
}

func (p *poller) calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.changed)
}

// round moves the clock past the poll interval and waits until the loop
// fetched the index again and went back to waiting.
func round(t *testing.T, e *env, srv *helmrepotest.Server) {
	t.Helper()
	before := srv.Requests("/index.yaml")
	e.clock.Advance(2 * interval)
	eventually(t, "a poll round", func() bool {
		return srv.Requests("/index.yaml") > before && e.clock.Pending() == 1
	})
}

func TestPollReportsNewMatchingVersion(t *testing.T) {
	srv := helmrepotest.NewServer(t, helmrepotest.Options{})
	srv.Add("podinfo", "6.5.4", nil)
	srv.Add("podinfo", "5.0.0", nil)
	e := newCache(t, helmrepo.Options{})
	key, _ := helmrepo.Key(srv.URL)
	p := startPoll(t, e)

	resolve(t, e.cache, srv.URL, "podinfo", "6.*")
	resolve(t, e.cache, srv.URL, "podinfo", "5.0.0")

	round(t, e, srv)
	if got := p.calls(); len(got) != 0 {
		t.Fatalf("nothing changed, but Poll reported %v", got)
	}

	srv.Add("other", "1.0.0", nil) // a new index, no new answer
	round(t, e, srv)
	if got := p.calls(); len(got) != 0 {
		t.Fatalf("an unrelated chart was added, but Poll reported %v", got)
	}

	srv.Add("podinfo", "6.6.0", nil)
	round(t, e, srv)
	if got := p.calls(); !slices.Equal(got, []string{key}) {
		t.Fatalf("after a matching push Poll reported %v, want [%s]", got, key)
	}
	if ch := resolve(t, e.cache, srv.URL, "podinfo", "6.*"); ch.Version != "6.6.0" {
		t.Fatalf("Resolve after the poll: %s, want 6.6.0", ch.Version)
	}

	round(t, e, srv)
	if got := p.calls(); len(got) != 1 {
		t.Fatalf("Poll reported one change %d times: %v", len(got), got)
	}
}

func TestRefreshWakesPoll(t *testing.T) {
	srv := helmrepotest.NewServer(t, helmrepotest.Options{})
	srv.Add("podinfo", "1.0.0", nil)
	e := newCache(t, helmrepo.Options{})
	p := startPoll(t, e)
	resolve(t, e.cache, srv.URL, "podinfo", "*")

	srv.Add("podinfo", "1.1.0", nil)
	e.cache.Refresh(srv.URL)
	key, _ := helmrepo.Key(srv.URL)
	eventually(t, "Poll to report the push", func() bool { return slices.Equal(p.calls(), []string{key}) })
}

func TestRetainReleasesIdleRepositories(t *testing.T) {
	srv := helmrepotest.NewServer(t, helmrepotest.Options{})
	srv.Add("podinfo", "1.0.0", cmFiles)
	e := newCache(t, helmrepo.Options{}) // IdleTimeout 10m
	ch := resolve(t, e.cache, srv.URL, "podinfo", "1.0.0")
	if _, err := e.cache.Files(context.Background(), ch); err != nil {
		t.Fatal(err)
	}

	e.cache.Retain(nil)
	if _, ok := e.cache.Status(srv.URL); !ok {
		t.Fatal("Retain released a repository used just now")
	}
	e.clock.Advance(11 * time.Minute)
	e.cache.Retain([]string{srv.URL + "/"})
	if _, ok := e.cache.Status(srv.URL); !ok {
		t.Fatal("Retain released a repository it was told to keep")
	}
	if got := archivesIn(t, e.dir); len(got) != 1 {
		t.Fatalf("Retain deleted the archive a kept repository resolved: %v", got)
	}

	e.clock.Advance(11 * time.Minute)
	e.cache.Retain(nil)
	if _, ok := e.cache.Status(srv.URL); ok {
		t.Fatal("Retain kept an idle repository it was not told to keep")
	}
	if got := archivesIn(t, e.dir); len(got) != 0 {
		t.Errorf("the archive of a released repository stayed on disk: %v", got)
	}

	// Resolving again starts afresh.
	if _, err := e.cache.Files(context.Background(), resolve(t, e.cache, srv.URL, "podinfo", "1.0.0")); err != nil {
		t.Fatal(err)
	}
}

package source_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/source"
)

// resolveConcurrently has apps goroutines resolve revision rounds times
// each, and fails unless every answer is want.
func resolveConcurrently(t *testing.T, c *source.Cache, url, revision, want string, apps, rounds int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, apps*rounds)
	for range apps {
		wg.Go(func() {
			for range rounds {
				got, err := c.Resolve(context.Background(), url, revision)
				if err != nil {
					errs <- err
					return
				}
				if got != want {
					t.Errorf("Resolve = %s, want %s", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestOneRefListingPerPollInterval(t *testing.T) {
	repo := newTestRepo(t)
	sha := repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	c, n, clock := newCache(t, source.Options{PollInterval: time.Minute})

	check := func(step string, wantLists int) {
		t.Helper()
		wireLists, wireFetches := n.wire()
		// A fetch advertises refs too, and stores them as the listing.
		if got := n.lists() + n.fetches(); got != wantLists {
			t.Errorf("%s: observer saw %d ref advertisements (%d listings + %d fetches), want %d",
				step, got, n.lists(), n.fetches(), wantLists)
		}
		if wireLists+wireFetches != wantLists {
			t.Errorf("%s: transport saw %d sessions, want %d", step, wireLists+wireFetches, wantLists)
		}
	}

	// 50 apps on one repository, each resolving 20 times within the interval.
	resolveConcurrently(t, c, repo.dir, "main", sha, 50, 20)
	check("first interval", 2) // one listing, then one fetch of the new commit
	if n.fetches() != 1 {
		t.Errorf("first interval: %d fetches, want 1", n.fetches())
	}

	clock.Advance(30 * time.Second)
	resolveConcurrently(t, c, repo.dir, "main", sha, 50, 20)
	check("still within the interval", 2)

	c.Refresh(repo.dir)
	resolveConcurrently(t, c, repo.dir, "main", sha, 50, 20)
	check("after Refresh", 3)

	clock.Advance(61 * time.Second)
	resolveConcurrently(t, c, repo.dir, "main", sha, 50, 20)
	check("next interval", 4)
	clock.Advance(59 * time.Second)
	resolveConcurrently(t, c, repo.dir, "main", sha, 50, 20)
	check("same interval", 4)
	if n.fetches() != 1 {
		t.Errorf("unchanged revision: %d fetches in all, want 1", n.fetches())
	}
}

func TestPollIntervalJitter(t *testing.T) {
	repo := newTestRepo(t)
	sha := repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	c, n, clock := newCache(t, source.Options{PollInterval: time.Minute, PollJitter: 6 * time.Second})
	resolveConcurrently(t, c, repo.dir, "main", sha, 1, 1)
	before := n.lists()
	clock.Advance(54*time.Second - time.Nanosecond) // below the shortest jittered interval
	resolveConcurrently(t, c, repo.dir, "main", sha, 1, 1)
	if n.lists() != before {
		t.Errorf("listed again %v after the last listing; the interval is at least 54s", 54*time.Second)
	}
	clock.Advance(12 * time.Second) // past the longest
	resolveConcurrently(t, c, repo.dir, "main", sha, 1, 1)
	if n.lists() != before+1 {
		t.Errorf("did not list again after 66s; the interval is at most 66s")
	}
}

func TestFetchOnlyWhenNeeded(t *testing.T) {
	repo := newTestRepo(t)
	first := repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	c, n, clock := newCache(t, source.Options{PollInterval: time.Minute})
	resolveConcurrently(t, c, repo.dir, "main", first, 1, 1)
	if n.fetches() != 1 {
		t.Fatalf("first resolve: %d fetches, want 1", n.fetches())
	}

	// Unchanged revision, listing expired: a listing and no fetch.
	for range 3 {
		clock.Advance(2 * time.Minute)
		resolveConcurrently(t, c, repo.dir, "main", first, 10, 3)
	}
	if n.fetches() != 1 || n.lists() != 4 {
		t.Errorf("unchanged revision over 3 intervals: %d fetches and %d listings, want 1 and 4", n.fetches(), n.lists())
	}

	// A new commit: one fetch, however many apps ask at once.
	second := repo.commit("second", map[string]string{"a.yaml": "a: 2\n"})
	c.Refresh(repo.dir)
	resolveConcurrently(t, c, repo.dir, "main", second, 50, 5)
	if n.fetches() != 2 {
		t.Errorf("after a new commit: %d fetches, want 2", n.fetches())
	}
	// An old SHA and the new one are in the cache already: no network.
	lists, fetches := n.wire()
	resolveConcurrently(t, c, repo.dir, first, first, 5, 5)
	resolveConcurrently(t, c, repo.dir, second, second, 5, 5)
	if l, f := n.wire(); l != lists || f != fetches {
		t.Errorf("resolving cached SHAs used the network: %d listings and %d fetches, want %d and %d", l, f, lists, fetches)
	}
}

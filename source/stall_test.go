package source_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/source"
)

// resolveAll resolves main of url from n goroutines at once and returns
// each call's error and the longest call.
func resolveAll(c *source.Cache, url string, n int) ([]error, []string, time.Duration) {
	errs := make([]error, n)
	shas := make([]string, n)
	took := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			start := time.Now()
			shas[i], errs[i] = c.Resolve(context.Background(), url, "main")
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	var longest time.Duration
	for _, d := range took {
		longest = max(longest, d)
	}
	return errs, shas, longest
}

// TestStalledServerHoldsNoCaller points many callers at a git server that
// accepts requests and never answers. None of them waits for the network
// timeout: past ListWait each gets an ErrUnreachable error, and they share
// one request to the server. Once that request has timed out, its failure
// is answered at once for the rest of the interval; after the interval a
// retry is under way, and callers get the last failure at once instead of
// queueing behind it.
func TestStalledServerHoldsNoCaller(t *testing.T) {
	const timeout = 4 * time.Second
	stall := testsupport.NewStallServer(t, nil)
	url := stall.URL + "/team/repo.git"
	c, _, clock := newCache(t, source.Options{Timeout: timeout, ListWait: 100 * time.Millisecond})

	errs, _, longest := resolveAll(c, url, 20)
	for i, err := range errs {
		if !errors.Is(err, source.ErrUnreachable) {
			t.Fatalf("caller %d: %v, want ErrUnreachable", i, err)
		}
	}
	if longest >= timeout/2 {
		t.Errorf("a caller waited %s for a server that never answers; want well under the %s timeout", longest, timeout)
	}
	t.Logf("20 callers answered within %s: %v", longest, errs[0])
	if _, _, total := stall.Held(); total != 1 {
		t.Errorf("the server got %d requests from 20 callers, want one shared listing", total)
	}

	// The listing times out in the background and is remembered.
	testsupport.Eventually(t, 2*timeout, func() (bool, string) {
		now, _, _ := stall.Held()
		return now == 0, "the listing still waits for the server"
	})
	errs, _, longest = resolveAll(c, url, 20)
	if !errors.Is(errs[0], context.DeadlineExceeded) || longest > time.Second {
		t.Errorf("after the timeout: %v in %s, want the remembered deadline error at once", errs[0], longest)
	}

	// A new interval: one caller starts the retry; every caller is
	// answered with the last failure without waiting for the retry.
	clock.Advance(61 * time.Second)
	errs, _, longest = resolveAll(c, url, 20)
	for i, err := range errs {
		if !errors.Is(err, source.ErrUnreachable) {
			t.Fatalf("retry, caller %d: %v, want ErrUnreachable", i, err)
		}
	}
	if longest >= timeout/2 {
		t.Errorf("a caller waited %s for the retry of a failed listing", longest)
	}
	testsupport.Eventually(t, timeout/2, func() (bool, string) {
		now, _, total := stall.Held()
		return now == 1 && total == 2, fmt.Sprintf("retry: the server holds %d requests, got %d in all; want 1 and 2", now, total)
	})
}

// TestStalledServerKeepsLastListing: a repository that answered before
// and then stops answering keeps resolving to the commit it resolved to
// last, at once, while the listing waits out its timeout in the background;
// the poll loop keeps to its round, reporting a push to another repository
// while the stalled listing still hangs, and reports the stalled repository
// when that listing ends, so that its apps look at it again.
func TestStalledServerKeepsLastListing(t *testing.T) {
	const timeout = 3 * time.Second
	root := t.TempDir()
	stalled := testsupport.NewRepoAt(t, filepath.Join(root, "stalled.git"))
	first := stalled.Commit("one", map[string]string{"a.yaml": "a: 1\n"})
	healthy := testsupport.NewRepo(t)
	healthy.Commit("one", map[string]string{"b.yaml": "b: 1\n"})
	stall := testsupport.NewStallServer(t, testsupport.GitHTTPHandler(t, root))
	url := stall.URL + "/stalled.git"

	c, _, clock := newCache(t, source.Options{Timeout: timeout, ListWait: 100 * time.Millisecond})
	ctx := context.Background()
	// The first listing may take longer than ListWait on a busy machine;
	// the caller is then told so, and the listing goes on to be stored.
	testsupport.Eventually(t, timeout, func() (bool, string) {
		sha, err := c.Resolve(ctx, url, "main")
		return err == nil && sha == first, fmt.Sprintf("before the stall: %s, %v; want %s", sha, err, first)
	})
	if _, err := c.Resolve(ctx, healthy.Dir, "main"); err != nil {
		t.Fatal(err)
	}
	rec := &pollRecorder{}
	pollCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Poll(pollCtx, rec.record) }()
	defer func() { stop(); <-done }()
	eventually(t, "the poll loop to wait for the interval", func() bool { return clock.Pending() > 0 })
	// A first listing slower than ListWait was reported by that first
	// round, as it should be; what counts is what the stall brings.
	rec.reset()

	stall.Stall()
	stalled.Commit("two", map[string]string{"a.yaml": "a: 2\n"}) // unseen: the server answers no more
	pushed := healthy.Commit("two", map[string]string{"b.yaml": "b: 2\n"})
	clock.Advance(61 * time.Second)
	keyHealthy, _ := source.NormalizeURL(healthy.Dir)
	keyStalled, _ := source.NormalizeURL(url)
	testsupport.Eventually(t, timeout/2, func() (bool, string) {
		return fmt.Sprint(rec.get()) == fmt.Sprint([]string{keyHealthy}), fmt.Sprintf("poll reported %v, want the healthy repository only", rec.get())
	})
	if now, _, _ := stall.Held(); now != 1 {
		t.Fatalf("the stalled listing is not under way (%d held): the test proves nothing", now)
	}
	if sha, err := c.Resolve(ctx, healthy.Dir, "main"); err != nil || sha != pushed {
		t.Fatalf("healthy repository during the stall: %s, %v; want %s", sha, err, pushed)
	}
	_, shas, longest := resolveAll(c, url, 10)
	for _, sha := range shas {
		if sha != first {
			t.Fatalf("during the stall the repository resolved to %q, want the last known %s", sha, first)
		}
	}
	if longest >= timeout/2 {
		t.Errorf("a caller waited %s during the stall", longest)
	}

	// The listing ends (timed out): the repository is reported, and its
	// callers now learn why it cannot be listed.
	testsupport.Eventually(t, 2*timeout, func() (bool, string) {
		got := rec.get()
		return len(got) == 2 && got[1] == keyStalled, fmt.Sprintf("poll reported %v", got)
	})
	if _, err := c.Resolve(ctx, url, "main"); !errors.Is(err, source.ErrUnreachable) {
		t.Errorf("after the stalled listing timed out: %v, want ErrUnreachable", err)
	}
}

package source_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/source"
)

// pollRecorder collects Poll's reports.
type pollRecorder struct {
	mu      sync.Mutex
	changed []string
}

func (p *pollRecorder) record(url string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.changed = append(p.changed, url)
}

// reset forgets what was recorded.
func (p *pollRecorder) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.changed = nil
}

func (p *pollRecorder) get() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.changed...)
}

func TestPollReportsMovedRevisions(t *testing.T) {
	a, b := newTestRepo(t), newTestRepo(t)
	a.commit("a1", map[string]string{"a.yaml": "a: 1\n"})
	b.commit("b1", map[string]string{"b.yaml": "b: 1\n"})
	c, n, clock := newCache(t, source.Options{PollInterval: time.Minute})
	ctx := context.Background()
	for _, repo := range []*testRepo{a, b} {
		if _, err := c.Resolve(ctx, repo.dir, "main"); err != nil {
			t.Fatal(err)
		}
	}
	keyA, _ := source.NormalizeURL(a.dir)
	keyB, _ := source.NormalizeURL(b.dir)

	rec := &pollRecorder{}
	pollCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Poll(pollCtx, rec.record) }()
	defer func() {
		stop()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Poll returned %v, want context.Canceled", err)
		}
	}()
	eventually(t, "the poll loop to wait for the interval", func() bool { return clock.Pending() > 0 })
	if got := rec.get(); len(got) != 0 {
		t.Fatalf("nothing moved, but Poll reported %v", got)
	}

	// A push to a: after the interval, Poll lists both and reports a only.
	a.commit("a2", map[string]string{"a.yaml": "a: 2\n"})
	lists := n.lists()
	clock.Advance(61 * time.Second)
	eventually(t, "Poll to report a", func() bool { return len(rec.get()) == 1 })
	if got := rec.get(); got[0] != keyA {
		t.Fatalf("Poll reported %v, want [%s]", got, keyA)
	}
	if got := n.lists() - lists; got != 2 {
		t.Errorf("one poll round listed %d times, want 2 (one per repository)", got)
	}
	if n.fetches() != 2 {
		t.Errorf("Poll fetched: %d fetches, want the 2 of the first resolves", n.fetches())
	}

	// The reconciler resolves again: no new listing (the poll's is fresh),
	// one fetch, and no second report for the same move.
	lists = n.lists()
	if _, err := c.Resolve(ctx, a.dir, "main"); err != nil {
		t.Fatal(err)
	}
	if n.lists() != lists || n.fetches() != 3 {
		t.Errorf("Resolve after Poll: %d new listings and %d fetches in all; want 0 and 3", n.lists()-lists, n.fetches())
	}

	// A webhook for b: Refresh wakes the loop at once, without the clock.
	b.commit("b2", map[string]string{"b.yaml": "b: 2\n"})
	eventually(t, "the poll loop to wait again", func() bool { return clock.Pending() > 0 })
	c.Refresh(b.dir)
	eventually(t, "Poll to report b", func() bool { return len(rec.get()) == 2 })
	if got := rec.get(); got[1] != keyB {
		t.Fatalf("Poll reported %v, want b second", got)
	}
}

func TestPollForgetsIdleRevisions(t *testing.T) {
	repo := newTestRepo(t)
	repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	c, n, clock := newCache(t, source.Options{PollInterval: time.Minute})
	if _, err := c.Resolve(context.Background(), repo.dir, "main"); err != nil {
		t.Fatal(err)
	}
	pollCtx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = c.Poll(pollCtx, func(string) {}) }()

	// Nobody resolves main again: Poll lists it for ten intervals, then stops.
	for range 15 {
		eventually(t, "the poll loop to wait", func() bool { return clock.Pending() > 0 })
		clock.Advance(61 * time.Second)
	}
	eventually(t, "the poll loop to wait", func() bool { return clock.Pending() > 0 })
	if got := n.lists(); got < 9 || got > 11 {
		t.Errorf("an idle revision was listed %d times over 15 intervals; want about 10", got)
	}
}

// TestPollReportsAMoveAResolveSawFirst: when a Resolve, not the poll loop,
// makes the listing that sees a push, the callers that resolved through the
// older listing are still behind; the loop's next round reports the move.
func TestPollReportsAMoveAResolveSawFirst(t *testing.T) {
	a := newTestRepo(t)
	a.commit("a1", map[string]string{"a.yaml": "a: 1\n"})
	c, _, clock := newCache(t, source.Options{PollInterval: time.Minute})
	ctx := context.Background()
	first, err := c.Resolve(ctx, a.dir, "main") // an app syncs a1
	if err != nil {
		t.Fatal(err)
	}
	a.commit("a2", map[string]string{"a.yaml": "a: 2\n"})
	clock.Advance(61 * time.Second)
	second, err := c.Resolve(ctx, a.dir, "main") // another app's look lists anew
	if err != nil {
		t.Fatal(err)
	}
	if first == second {
		t.Fatalf("the second Resolve did not see the push: both %s", first)
	}
	keyA, _ := source.NormalizeURL(a.dir)

	rec := &pollRecorder{}
	pollCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Poll(pollCtx, rec.record) }()
	defer func() { stop(); <-done }()
	eventually(t, "Poll to report the move the first app has not seen", func() bool { return len(rec.get()) == 1 })
	if got := rec.get(); got[0] != keyA {
		t.Fatalf("Poll reported %v, want [%s]", got, keyA)
	}
}

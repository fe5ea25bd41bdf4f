package helmrepo

import (
	"context"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"
)

// idleWatchIntervals is how many poll intervals a (chart, target revision)
// that nobody resolves stays watched.
const idleWatchIntervals = 10

// minPollWait keeps the poll loop from spinning.
const minPollWait = time.Second

// pollParallelism bounds how many indexes a poll round fetches at once.
const pollParallelism = 4

// watchKey is what a caller resolved: a chart and a target revision.
type watchKey struct{ chart, revision string }

// watch is the answer Poll last compared for a watchKey.
type watch struct {
	version, digest string
	lastUsed        time.Time
}

// Poll keeps the answers callers got from Resolve up to date until ctx
// ends, then returns nil. Each round it fetches again (conditionally) every
// index and tag list whose interval has passed, or that Refresh dropped,
// and that a caller resolved against in the last ten intervals; when a
// (chart, target revision) a caller resolved now gives another version or
// digest (or none), it calls changed with the repository's Key, so the
// reconciler can re-queue the apps that use it. changed is called from
// Poll's goroutine, once per repository per round, and should return
// quickly. Refresh wakes the loop at once.
func (c *Cache) Poll(ctx context.Context, changed func(key string)) error {
	for {
		next := c.pollOnce(ctx, changed)
		wait := max(next.Sub(c.clock.Now()), minPollWait)
		select {
		case <-ctx.Done():
			return nil
		case <-c.wake:
		case <-c.clock.After(wait):
		}
	}
}

// pollOnce is one round of Poll; it returns when the next index goes
// stale.
func (c *Cache) pollOnce(ctx context.Context, changed func(key string)) time.Time {
	now := c.clock.Now()
	next := now.Add(c.opts.PollInterval)

	var watched []*repository
	for _, r := range c.repositories() {
		r.mu.Lock()
		for k, w := range r.watched {
			if now.Sub(w.lastUsed) > idleWatchIntervals*c.opts.PollInterval {
				delete(r.watched, k)
			}
		}
		if len(r.watched) > 0 {
			watched = append(watched, r)
		}
		r.mu.Unlock()
	}

	moved := make([]bool, len(watched))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(pollParallelism)
	for i, r := range watched {
		g.Go(func() error {
			moved[i] = c.recheck(gctx, r)
			return nil
		})
	}
	_ = g.Wait()

	reported := map[string]bool{}
	var keys []string
	for i, r := range watched {
		if moved[i] && !reported[r.key] {
			reported[r.key] = true
			keys = append(keys, r.key)
		}
		r.mu.Lock()
		if r.expires.After(now) && r.expires.Before(next) {
			next = r.expires
		}
		r.mu.Unlock()
	}
	sort.Strings(keys)
	for _, key := range keys {
		if ctx.Err() != nil {
			break
		}
		c.log.Info("helm repository changed", "repo", key)
		changed(key)
	}
	return next
}

// recheck resolves every watched (chart, target revision) of r against its
// index, fetching that when stale, and reports whether an answer differs
// from the one last compared. A failed fetch changes nothing: the apps
// keep what they have.
func (c *Cache) recheck(ctx context.Context, r *repository) bool {
	if _, err := c.index(ctx, r); err != nil {
		c.log.Warn("polling helm repository failed", "repo", r.key, "err", err)
		return false
	}
	r.mu.Lock()
	keys := make([]watchKey, 0, len(r.watched))
	for k := range r.watched {
		keys = append(keys, k)
	}
	r.mu.Unlock()

	moved := false
	for _, k := range keys {
		var version, digest string
		ch, err := c.resolve(ctx, r, k.chart, k.revision)
		if err == nil {
			version, digest = ch.Version, ch.Digest
		} else if ctx.Err() != nil {
			return moved
		}
		r.mu.Lock()
		if w := r.watched[k]; w != nil && (w.version != version || w.digest != digest) {
			w.version, w.digest = version, digest
			moved = true
		}
		r.mu.Unlock()
	}
	return moved
}

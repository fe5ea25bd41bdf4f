package source

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/sync/errgroup"
)

// idleWatchIntervals is how many poll intervals a revision nobody resolves
// stays watched: an app that is deleted or moves to another revision stops
// costing ref listings after that.
const idleWatchIntervals = 10

// minPollWait keeps the poll loop from spinning when listings keep failing.
const minPollWait = time.Second

// pollParallelism bounds how many repositories the poll loop lists at once.
const pollParallelism = 4

// wakeGap is the least time between the end of a poll round and a round
// that Refresh (a webhook) asks for: Refreshes that come faster are served
// by one round.
const wakeGap = 200 * time.Millisecond

// pollListWait is the longest a poll round waits for one repository's
// listing. One that takes longer goes on in the background, and its end
// wakes the loop (see listFlights), so a slow server costs a round of the
// other repositories at most this.
const pollListWait = time.Second

// Poll keeps the branches, tags and HEADs that callers resolved up to date
// until ctx ends: it lists the refs of each such repository once its poll
// interval has passed (or at once after Refresh; Refreshes within 200ms of
// a round share the next one), and calls changed with the
// repository's normalised URL when one of those revisions now points
// somewhere else, so the reconciler can re-queue the apps that use it
// (matching them with NormalizeURL). It also calls changed when a listing
// that callers stopped waiting for (see Options.ListWait) ends, since they
// made do with an older listing or an error. It does not fetch: the
// Resolve that follows does, reusing the listing. changed is called from
// Poll's goroutine, one call at a time, and should return quickly.
// Revisions nobody has resolved for ten poll intervals are no longer
// watched.
func (c *Cache) Poll(ctx context.Context, changed func(repoURL string)) error {
	for {
		next := c.pollOnce(ctx, changed)
		done := time.Now()
		wait := max(next.Sub(c.clock.Now()), minPollWait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.wake:
			// A burst of webhooks for one push is one more round, not
			// one per webhook. The gap is real time: it limits real work.
			if gap := wakeGap - time.Since(done); gap > 0 {
				t := time.NewTimer(gap)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
		case <-c.clock.After(wait):
		}
	}
}

// pollOnce lists every watched repository whose listing expired, reports the
// repositories where a watched revision moved, and returns when the next
// listing expires.
func (c *Cache) pollOnce(ctx context.Context, changed func(repoURL string)) time.Time {
	now := c.clock.Now()
	next := now.Add(c.opts.PollInterval)

	c.mu.Lock()
	repos := make([]*repository, 0, len(c.repos))
	for _, r := range c.repos {
		repos = append(repos, r)
	}
	c.mu.Unlock()

	var watched, due []*repository
	for _, r := range repos {
		r.mu.Lock()
		for rev, w := range r.watched {
			if now.Sub(w.lastUsed) > idleWatchIntervals*r.interval {
				delete(r.watched, rev)
			}
		}
		if len(r.watched) > 0 {
			watched = append(watched, r)
			if !now.Before(r.expires) || (r.listing == nil && r.listingErr == nil) {
				due = append(due, r)
			}
		}
		r.mu.Unlock()
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(pollParallelism)
	for _, r := range due {
		g.Go(func() error {
			if _, err := c.refs(gctx, r, min(c.opts.ListWait, pollListWait)); err != nil {
				c.log.Warn("polling repository failed", "repo", r.key, "err", err)
			}
			return nil
		})
	}
	_ = g.Wait()

	var moved []string
	for _, r := range repos {
		if !slices.Contains(watched, r) && r.takeRecheck() {
			moved = append(moved, r.key) // a caller made do without this listing
		}
	}
	for _, r := range watched {
		recheck := r.takeRecheck()
		r.mu.Lock()
		if (r.listing != nil && r.moved()) || recheck {
			moved = append(moved, r.key)
		}
		if r.expires.After(now) && r.expires.Before(next) {
			next = r.expires
		}
		r.mu.Unlock()
	}
	sort.Strings(moved)
	for _, key := range moved {
		c.log.Info("repository changed", "repo", key)
		changed(key)
	}
	return next
}

// wakePoll makes the poll loop run a round now.
func (c *Cache) wakePoll() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// moved compares every watched revision with the current listing, records
// where each points now, and reports whether any moved. The caller holds
// r.mu.
func (r *repository) moved() bool {
	moved := false
	for rev, w := range r.watched {
		var now plumbing.Hash
		if ref, ok := r.listing.match(rev); ok {
			now = ref.want
		}
		if now != w.want {
			w.want = now
			moved = true
		}
	}
	return moved
}

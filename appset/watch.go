package appset

import (
	"context"
	"slices"
	gosync "sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Re-evaluating a set when a repository it reads moves.
//
// The source cache resolves a revision from a ref listing it keeps for its
// poll interval, and a webhook (source.Cache.Refresh) drops that listing.
// watchRevisions resolves every revision the git generators last read,
// every Options.RevisionCheck: while the listing is kept that is a lookup
// in memory, and once a webhook dropped it, the next check lists the refs
// (one listing, shared with the reconcile loop's poll) and sees the new
// commit. A set whose revision moved is evaluated at once. So a push shows
// within RevisionCheck plus one ref listing of its webhook, and without a
// webhook within the cache's poll interval, like an Application.

// revisions records which repository revisions each set read, and at which
// commit. It is safe for concurrent use.
type revisions struct {
	mu    gosync.Mutex
	bySet map[types.NamespacedName][]RepoRead
}

func newRevisions() *revisions {
	return &revisions{bySet: map[types.NamespacedName][]RepoRead{}}
}

// record replaces what set read.
func (r *revisions) record(set types.NamespacedName, reads []RepoRead) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(reads) == 0 {
		delete(r.bySet, set)
		return
	}
	r.bySet[set] = slices.Clone(reads)
}

// forget drops a deleted set.
func (r *revisions) forget(set types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.bySet, set)
}

// setsReading returns the sets that read repository key.
func (r *revisions) setsReading(key string) []types.NamespacedName {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []types.NamespacedName
	for set, reads := range r.bySet {
		if slices.ContainsFunc(reads, func(rd RepoRead) bool { return rd.Repo == key }) {
			out = append(out, set)
		}
	}
	return out
}

// watched is one repository revision and the commits sets saw it at.
type watched struct {
	url, revision string
	seen          map[types.NamespacedName]string // set → commit it read ("" after a failure)
}

// snapshot groups the recorded reads by repository and revision.
func (r *revisions) snapshot() map[[2]string]*watched {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[[2]string]*watched{}
	for set, reads := range r.bySet {
		for _, rd := range reads {
			k := [2]string{rd.Repo, rd.Revision}
			w := out[k]
			if w == nil {
				w = &watched{url: rd.URL, revision: rd.Revision, seen: map[types.NamespacedName]string{}}
				out[k] = w
			}
			w.seen[set] = rd.Commit
		}
	}
	return out
}

// watchRevisions resolves the recorded revisions every RevisionCheck and
// queues the sets that read an older commit, until ctx ends.
func (c *Controller) watchRevisions(ctx context.Context) {
	if c.opts.Git == nil {
		return
	}
	t := time.NewTicker(c.opts.RevisionCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.checkRevisions(ctx)
	}
}

// checkRevisions is one round of watchRevisions.
func (c *Controller) checkRevisions(ctx context.Context) {
	for _, w := range c.revs.snapshot() {
		if w.url == "" {
			continue
		}
		sha, err := c.opts.Git.Resolve(ctx, w.url, w.revision)
		if err != nil {
			continue // the set's own evaluation reports it; a fix moves the revision
		}
		for set, seen := range w.seen {
			if seen != sha {
				c.queue.Add(set)
			}
		}
	}
}

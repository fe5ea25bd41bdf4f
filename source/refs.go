package source

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
)

// refList is one ref listing of a remote: what git ls-remote prints.
type refList struct {
	head    plumbing.Hash            // what HEAD points at; zero if none
	refs    map[string]plumbing.Hash // full ref name → advertised hash
	peeled  map[string]plumbing.Hash // annotated tag name → commit, when the server peels
	shallow bool                     // the server can send shallow packs
}

// newRefList reads an advertisement.
func newRefList(ar *packp.AdvRefs) *refList {
	l := &refList{
		refs:    make(map[string]plumbing.Hash, len(ar.References)),
		peeled:  make(map[string]plumbing.Hash, len(ar.Peeled)),
		shallow: ar.Capabilities.Supports(capability.Shallow),
	}
	if ar.Head != nil {
		l.head = *ar.Head
	}
	for name, h := range ar.References {
		l.refs[name] = h
	}
	for name, h := range ar.Peeled {
		l.peeled[name] = h
	}
	return l
}

// remoteRef is what a revision matched in a listing.
type remoteRef struct {
	name   string        // full ref name, or "HEAD"
	want   plumbing.Hash // advertised hash: what to fetch
	commit plumbing.Hash // peeled commit when the server said; else zero
}

// match finds revision in the listing the way git rev-parse does: HEAD, a
// full ref name, then refs/tags/<rev>, then refs/heads/<rev>. A tag and a
// branch of one name resolve to the tag.
func (l *refList) match(revision string) (remoteRef, bool) {
	if revision == "HEAD" {
		if l.head.IsZero() {
			return remoteRef{}, false
		}
		return remoteRef{name: "HEAD", want: l.head, commit: l.head}, true
	}
	candidates := []string{"refs/tags/" + revision, "refs/heads/" + revision}
	if strings.HasPrefix(revision, "refs/") {
		candidates = []string{revision}
	}
	for _, name := range candidates {
		h, ok := l.refs[name]
		if !ok {
			continue
		}
		ref := remoteRef{name: name, want: h}
		if c, ok := l.peeled[name]; ok {
			ref.commit = c
		} else if !strings.HasPrefix(name, "refs/tags/") {
			ref.commit = h // branches point at commits
		}
		return ref, true
	}
	return remoteRef{}, false
}

// matchPrefix returns the ref tip (peeled) whose SHA starts with prefix, if
// exactly one commit does.
func (l *refList) matchPrefix(prefix string) (remoteRef, bool) {
	var found []remoteRef
	seen := map[plumbing.Hash]bool{}
	add := func(name string, want, commit plumbing.Hash) {
		if strings.HasPrefix(commit.String(), prefix) && !seen[commit] {
			seen[commit] = true
			found = append(found, remoteRef{name: name, want: want, commit: commit})
		}
	}
	for name, h := range l.refs {
		if c, ok := l.peeled[name]; ok {
			add(name, h, c)
		} else if !strings.HasPrefix(name, "refs/tags/") {
			add(name, h, h)
		}
	}
	if len(found) != 1 {
		return remoteRef{}, false
	}
	return found[0], true
}

// maxListWait caps the default Options.ListWait.
const maxListWait = 5 * time.Second

// listFlights is what a repository knows of its ref listings under way. It
// is guarded by repository.mu.
type listFlights struct {
	running int       // listings under way (one per generation asked for)
	since   time.Time // when the oldest of them began, by the wall clock that times them out
	// abandoned is set when a caller stopped waiting for a listing and
	// made do with less; the poll loop then reports the repository once
	// the listing ends (recheck), so that the caller looks again.
	abandoned bool
	recheck   bool
}

// refs returns the ref listing of r, reusing the last one until its poll
// interval passes. Concurrent callers share one listing; a caller whose ctx
// ends stops waiting, without cancelling the listing the others wait for.
//
// No caller waits for a listing longer than wait (Options.ListWait for
// Resolve) from when it began, however long the server takes: past that it
// gets r's last listing (stale, but what the cluster was last synced from),
// else the error the last listing ended with, else an ErrUnreachable error,
// and the listing goes on in the background until Options.Timeout. While the last listing
// failed, a caller that finds a retry under way gets that failure at once.
// So a server that accepts connections and never answers holds no worker
// and no poll round, and the apps of other repositories go on.
func (c *Cache) refs(ctx context.Context, r *repository, wait time.Duration) (*refList, error) {
	c.dropStaleListing(r)
	now := c.clock.Now()
	r.mu.Lock()
	if now.Before(r.expires) && (r.listing != nil || r.listingErr != nil) {
		l, err := r.listing, r.listingErr
		r.mu.Unlock()
		return l, err
	}
	if r.inFlight.running > 0 && r.listingErr != nil {
		err := r.listingErr // the server failed last time; the retry is under way
		r.mu.Unlock()
		return nil, err
	}
	gen := r.generation
	r.mu.Unlock()

	ch := r.lists.DoChan(strconv.FormatUint(gen, 10), func() (any, error) {
		// A flight that just ended may have stored a fresh listing.
		r.mu.Lock()
		if c.clock.Now().Before(r.expires) && r.generation == gen && (r.listing != nil || r.listingErr != nil) {
			l, err := r.listing, r.listingErr
			r.mu.Unlock()
			return l, err
		}
		if r.inFlight.running == 0 {
			r.inFlight.since = time.Now()
		}
		r.inFlight.running++
		r.mu.Unlock()

		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.Timeout)
		defer cancel()
		l, err := c.listRefs(lctx, r)
		r.mu.Lock()
		if r.generation == gen {
			r.listing, r.listingErr = l, err
			r.expires = c.nextExpiry(r)
		}
		r.inFlight.running--
		wake := r.inFlight.running == 0 && r.inFlight.abandoned
		if wake {
			r.inFlight.abandoned = false
			r.inFlight.recheck = true
		}
		r.mu.Unlock()
		if wake {
			c.wakePoll()
		}
		return l, err
	})

	r.mu.Lock()
	began := time.Now()
	if r.inFlight.running > 0 {
		began = r.inFlight.since
	}
	r.mu.Unlock()
	timer := time.NewTimer(time.Until(began.Add(wait)))
	defer timer.Stop()
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*refList), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for ref listing: %w", ctx.Err())
	case <-timer.C:
		return c.listingTooSlow(r)
	}
}

// listingTooSlow answers a caller that waited as long as it may for a
// listing of r: with the last listing, else the last failure, else an
// ErrUnreachable error. The listing goes on, and the poll loop reports r
// when it ends.
func (c *Cache) listingTooSlow(r *repository) (*refList, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inFlight.running == 0 {
		// It ended just now; the caller may as well have what it stored.
		if r.listing != nil || r.listingErr != nil {
			return r.listing, r.listingErr
		}
	}
	first := !r.inFlight.abandoned
	r.inFlight.abandoned = true
	waited := time.Since(r.inFlight.since).Round(100 * time.Millisecond)
	switch {
	case r.listing != nil:
		if first {
			c.log.Warn("ref listing is slow; using the last one meanwhile", "repo", r.key, "waited", waited, "timeout", c.opts.Timeout)
		}
		return r.listing, nil
	case r.listingErr != nil:
		return nil, r.listingErr
	}
	return nil, &stepError{op: OpListRefs, err: fmt.Errorf("%w: no answer after %s, still trying for up to %s: %w", ErrUnreachable, waited, c.opts.Timeout, context.DeadlineExceeded)}
}

// takeRecheck reports whether a listing of r that a caller gave up on has
// ended since the last call, and clears the mark.
func (r *repository) takeRecheck() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	done := r.inFlight.recheck
	r.inFlight.recheck = false
	return done
}

// storeListing records a listing obtained by a fetch, which advertises refs
// too, so the next Resolve need not list again.
func (c *Cache) storeListing(r *repository, l *refList) {
	r.mu.Lock()
	r.listing, r.listingErr = l, nil
	r.expires = c.nextExpiry(r)
	r.mu.Unlock()
}

// listRefs performs one ref listing: git ls-remote.
func (c *Cache) listRefs(ctx context.Context, r *repository) (l *refList, err error) {
	start := c.clock.Now()
	defer func() { c.observe(r, RequestListRefs, start, err) }()
	sess, creds, err := c.session(r)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return nil, &stepError{op: OpListRefs, err: noCredentialsHint(scrub(err, ErrUnreachable, creds.secrets()...), creds)}
	}
	return newRefList(ar), nil
}

package source

import (
	"context"
	"fmt"
	"strconv"
	"strings"

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

// refs returns the ref listing of r, reusing the last one until its poll
// interval passes. Concurrent callers share one listing; a caller whose ctx
// ends stops waiting, without cancelling the listing the others wait for.
func (c *Cache) refs(ctx context.Context, r *repository) (*refList, error) {
	now := c.clock.Now()
	r.mu.Lock()
	if now.Before(r.expires) && (r.listing != nil || r.listingErr != nil) {
		l, err := r.listing, r.listingErr
		r.mu.Unlock()
		return l, err
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
		r.mu.Unlock()

		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.Timeout)
		defer cancel()
		l, err := c.listRefs(lctx, r)
		r.mu.Lock()
		if r.generation == gen {
			r.listing, r.listingErr = l, err
			r.expires = c.nextExpiry(r)
		}
		r.mu.Unlock()
		return l, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*refList), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for ref listing: %w", ctx.Err())
	}
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
		return nil, &stepError{op: OpListRefs, err: scrub(err, ErrUnreachable, creds.secrets()...)}
	}
	return newRefList(ar), nil
}

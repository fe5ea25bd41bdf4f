package source

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// Resolve returns the commit SHA that revision names in repoURL, fetching
// the commit into the cache when it is not there yet, so that Files and
// ChangedPaths can read it.
//
// revision is a branch, a tag (annotated tags are peeled to their commit), a
// full ref name, a full or short commit SHA, or HEAD; empty means HEAD. A
// name that is both a tag and a branch resolves to the tag, as in git.
//
// Resolve lists the remote's refs at most once per poll interval per
// repository, however many callers ask, and fetches only when the commit is
// not already in the cache: resolving an unchanged revision costs no network
// within the interval and one ref listing after it. A full SHA already in
// the cache costs no network at all. A failed listing is remembered for the
// interval too, so a broken repository costs one attempt per interval
// however many apps use it; Refresh retries at once. A server that is slow
// to list, or never answers, holds a caller for at most Options.ListWait:
// it then resolves through the last listing, or gets the last failure.
func (c *Cache) Resolve(ctx context.Context, repoURL, revision string) (string, error) {
	r, err := c.repository(repoURL)
	if err != nil {
		return "", urlError(OpResolve, repoURL, revision, err)
	}
	rev := strings.TrimSpace(revision)
	if rev == "" {
		rev = "HEAD"
	}
	commit, want, err := c.resolve(ctx, r, rev)
	if err != nil {
		return "", r.errorf(OpResolve, rev, "", err)
	}
	if !want.IsZero() {
		r.mu.Lock()
		if w := r.watched[rev]; w != nil {
			// Keep the hash the poll loop last reported: callers that
			// resolved through an older listing than this one are behind,
			// and only the loop's next comparison tells them.
			w.lastUsed = c.clock.Now()
		} else {
			r.watched[rev] = &watch{want: want, lastUsed: c.clock.Now()}
		}
		r.mu.Unlock()
	}
	return commit.String(), nil
}

// resolve does Resolve's work. want is the advertised hash a symbolic
// revision resolved through, for the poll loop; zero for a SHA.
func (c *Cache) resolve(ctx context.Context, r *repository, rev string) (commit, want plumbing.Hash, err error) {
	sha := isHex(rev) && len(rev) >= 4 && len(rev) <= 40
	if sha && len(rev) == 40 {
		commit, ok, err := r.peel(plumbing.NewHash(rev))
		if err != nil || ok {
			return commit, plumbing.ZeroHash, err
		}
	}
	l, err := c.refs(ctx, r, c.opts.ListWait)
	if err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	if ref, ok := l.match(rev); ok {
		return c.ensureRef(ctx, r, rev, ref)
	}
	if !sha {
		return plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("%w: no branch or tag named %q", ErrRevisionNotFound, rev)
	}
	commit, err = c.resolveSHA(ctx, r, strings.ToLower(rev), l)
	return commit, plumbing.ZeroHash, err
}

// ensureRef returns the commit ref points at, fetching it when absent. When
// the ref moved since the listing, the fetch brings its new tip, which is
// what is returned.
func (c *Cache) ensureRef(ctx context.Context, r *repository, rev string, ref remoteRef) (plumbing.Hash, plumbing.Hash, error) {
	if commit, ok, err := r.peelRef(ref); err != nil || ok {
		return commit, ref.want, err
	}
	if err := r.lockFetch(ctx); err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	defer r.unlockFetch()
	// Another caller may have fetched it while this one waited.
	if l := r.freshListing(c.clock.Now()); l != nil {
		if again, ok := l.match(rev); ok {
			ref = again
		}
	}
	if commit, ok, err := r.peelRef(ref); err != nil || ok {
		return commit, ref.want, err
	}
	l, err := c.fetch(ctx, r, fetchPlan{ref: ref.name})
	if err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	ref, ok := l.match(rev)
	if !ok {
		return plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("%w: %s was deleted while fetching", ErrRevisionNotFound, rev)
	}
	commit, ok, err := r.peelRef(ref)
	if err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	if !ok {
		return plumbing.ZeroHash, plumbing.ZeroHash, &stepError{op: OpFetch,
			err: fmt.Errorf("server did not send %s (%s)", ref.want, ref.name)}
	}
	return commit, ref.want, nil
}

// peelRef returns the commit ref points at when it is in the cache: the
// peeled commit the server advertised, else whatever the advertised object
// peels to locally.
func (r *repository) peelRef(ref remoteRef) (plumbing.Hash, bool, error) {
	if !ref.commit.IsZero() {
		if commit, ok, err := r.peel(ref.commit); err != nil || ok {
			return commit, ok, err
		}
	}
	return r.peel(ref.want)
}

// resolveSHA finds a full or short commit SHA: at a ref tip (fetched
// shallowly), else in the cache, else after fetching all history. A SHA
// found nowhere is remembered as missing until the listing expires, so bad
// input does not cost a full fetch per call.
func (c *Cache) resolveSHA(ctx context.Context, r *repository, sha string, l *refList) (plumbing.Hash, error) {
	if ref, ok := l.matchPrefix(sha); ok {
		commit, _, err := c.ensureRef(ctx, r, ref.name, ref)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if strings.HasPrefix(commit.String(), sha) {
			return commit, nil
		}
		// The ref moved on; the commit is in its history.
	}
	local := func() (plumbing.Hash, bool, error) {
		if len(sha) == 40 {
			return r.peel(plumbing.NewHash(sha))
		}
		return r.findShort(sha)
	}
	if commit, ok, err := local(); err != nil || ok {
		return commit, err
	}
	r.mu.Lock()
	missing := r.missing[sha] == r.expires && !r.expires.IsZero()
	r.mu.Unlock()
	if missing {
		return plumbing.ZeroHash, notFoundSHA(sha)
	}
	if err := r.lockFetch(ctx); err != nil {
		return plumbing.ZeroHash, err
	}
	defer r.unlockFetch()
	if commit, ok, err := local(); err != nil || ok {
		return commit, err
	}
	if _, err := c.fetch(ctx, r, fetchPlan{}); err != nil {
		return plumbing.ZeroHash, err
	}
	commit, ok, err := local()
	if err != nil || ok {
		return commit, err
	}
	r.mu.Lock()
	for s, at := range r.missing {
		if at != r.expires {
			delete(r.missing, s) // missed under an older listing
		}
	}
	r.missing[sha] = r.expires
	r.mu.Unlock()
	return plumbing.ZeroHash, notFoundSHA(sha)
}

func notFoundSHA(sha string) error {
	return fmt.Errorf("%w: no branch or tag named %q, and no commit %s in the history of any branch or tag", ErrRevisionNotFound, sha, sha)
}

// lockFetch waits for r's fetch slot, or for ctx to end.
func (r *repository) lockFetch(ctx context.Context) error {
	select {
	case r.fetchSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for another fetch: %w", ctx.Err())
	}
}

func (r *repository) unlockFetch() { <-r.fetchSem }

// freshListing returns the cached listing when it has not expired.
func (r *repository) freshListing(now time.Time) *refList {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.listing != nil && now.Before(r.expires) {
		return r.listing
	}
	return nil
}

// isHex reports whether s is non-empty and all hexadecimal digits.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= '0' && b <= '9', b >= 'a' && b <= 'f', b >= 'A' && b <= 'F':
		default:
			return false
		}
	}
	return true
}

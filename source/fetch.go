package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// infiniteDepth is git's "deepen" value for --unshallow.
const infiniteDepth = 0x7fffffff

// headRef is where a fetched remote HEAD is recorded locally.
const headRef = "refs/gyre/HEAD"

// fetchPlan says what a fetch brings in.
type fetchPlan struct {
	// ref is the one ref whose current tip to fetch, shallowly when the
	// server allows. Empty means every branch and tag with full history,
	// which is what a commit that is not a ref tip needs.
	ref string
}

// session opens an upload-pack session to r with the credentials in force
// now, and returns them so that error messages can be scrubbed of them.
func (c *Cache) session(r *repository) (transport.UploadPackSession, Credentials, error) {
	var creds Credentials
	if c.opts.Credentials != nil {
		cr, err := c.opts.Credentials.Credentials(r.url)
		if err != nil {
			return nil, creds, fmt.Errorf("%w: looking up credentials: %w", ErrAuth, err)
		}
		creds = cr
	}
	ep, err := transport.NewEndpoint(r.url)
	if err != nil {
		return nil, creds, scrub(err, nil, creds.secrets()...)
	}
	t := c.transports[ep.Protocol]
	if t == nil {
		return nil, creds, fmt.Errorf("unsupported scheme %q", ep.Protocol)
	}
	auth, err := r.authFor(ep, creds, c.opts)
	if err != nil {
		return nil, creds, scrub(err, ErrAuth, creds.secrets()...)
	}
	sess, err := t.NewUploadPackSession(ep, auth)
	if err != nil {
		return nil, creds, scrub(err, ErrUnreachable, creds.secrets()...)
	}
	return sess, creds, nil
}

// authFor returns the auth method for creds on ep, reusing the one built
// for the same credentials last time (building an ssh one parses keys).
func (r *repository) authFor(ep *transport.Endpoint, creds Credentials, opts Options) (transport.AuthMethod, error) {
	ep.CaBundle = creds.CAData
	ep.InsecureSkipTLS = creds.InsecureSkipVerify
	fp := creds.fingerprint()
	r.mu.Lock()
	if r.authBuilt && r.authKey == fp {
		a := r.auth
		r.mu.Unlock()
		return a, nil
	}
	r.mu.Unlock()
	a, err := authMethod(ep, creds, opts.Timeout)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.auth, r.authKey, r.authBuilt = a, fp, true
	r.mu.Unlock()
	return a, nil
}

// fetch brings the objects plan asks for into r's store, records the fetched
// tips as local refs, and returns the ref listing the server advertised on
// the way, which is as fresh as a listing gets. The caller holds fetchSem.
func (c *Cache) fetch(ctx context.Context, r *repository, plan fetchPlan) (l *refList, err error) {
	start := c.clock.Now()
	defer func() { c.observe(r, RequestFetch, start, err) }()
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()

	l, err = c.fetchOnce(ctx, r, plan, true)
	if err != nil && !isTransportFailure(err) {
		// A have the server does not know (history rewritten upstream)
		// fails some servers; asking without haves costs bandwidth only.
		c.log.Debug("fetch failed, retrying without haves", "repo", r.key, "err", err)
		l, err = c.fetchOnce(ctx, r, plan, false)
	}
	if err != nil {
		return nil, &stepError{op: OpFetch, err: err}
	}
	c.storeListing(r, l)
	if err := c.consolidatePacks(r); err != nil {
		c.log.Warn("merging packs failed", "repo", r.key, "err", err)
	}
	c.log.Info("fetched", "repo", r.key, "ref", plan.ref, "duration", c.clock.Now().Sub(start))
	return l, nil
}

// isTransportFailure reports whether err is about reaching or
// authenticating to the server rather than about the exchange itself.
func isTransportFailure(err error) bool {
	return errors.Is(err, ErrAuth) || errors.Is(err, ErrUnreachable) ||
		errors.Is(err, ErrRepositoryNotFound) || errors.Is(err, ErrRevisionNotFound) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// fetchOnce performs one upload-pack exchange.
func (c *Cache) fetchOnce(ctx context.Context, r *repository, plan fetchPlan, withHaves bool) (*refList, error) {
	sess, creds, err := c.session(r)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	fail := func(err error) error { return scrub(err, nil, creds.secrets()...) }

	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return nil, scrub(err, ErrUnreachable, creds.secrets()...)
	}
	l := newRefList(ar)

	// The writer gets a storage of its own, so readers are not blocked.
	ws := newStorage(r.dir, 0)
	defer ws.Close()

	updates := map[string]plumbing.Hash{} // local ref → tip
	switch {
	case plan.ref == "HEAD":
		if l.head.IsZero() {
			return l, nil
		}
		updates[headRef] = l.head
	case plan.ref != "":
		h, ok := l.refs[plan.ref]
		if !ok {
			return l, nil // gone since the listing; the caller reports it
		}
		updates[plan.ref] = h
	default:
		for name, h := range l.refs {
			if strings.HasPrefix(name, "refs/heads/") || strings.HasPrefix(name, "refs/tags/") {
				updates[name] = h
			}
		}
		if !l.head.IsZero() {
			updates[headRef] = l.head
		}
	}

	shallows, err := ws.Shallow()
	if err != nil {
		return nil, fail(err)
	}
	req := packp.NewUploadPackRequestFromCapabilities(ar.Capabilities)
	// go-git stores packs as received; a thin pack's external bases
	// would make it unreadable.
	req.Capabilities.Delete(capability.ThinPack)
	if ar.Capabilities.Supports(capability.NoProgress) {
		_ = req.Capabilities.Set(capability.NoProgress)
	}
	deepen := false
	if l.shallow {
		switch {
		case plan.ref != "":
			req.Depth = packp.DepthCommits(1)
			if since, ok := refTime(ws, updates); ok && withHaves && ar.Capabilities.Supports(capability.DeepenSince) {
				req.Depth = packp.DepthSince(since.Add(-sinceSlack))
				_ = req.Capabilities.Set(capability.DeepenSince)
			}
		case len(shallows) > 0:
			req.Depth = packp.DepthCommits(infiniteDepth)
			deepen = true
		}
		if !req.Depth.IsZero() {
			_ = req.Capabilities.Set(capability.Shallow)
			req.Shallows = shallows
		}
	}

	seen := map[plumbing.Hash]bool{}
	for _, h := range updates {
		if seen[h] {
			continue
		}
		seen[h] = true
		if deepen || !hasObject(ws, h) {
			req.Wants = append(req.Wants, h)
		}
	}
	if len(req.Wants) > 0 {
		if withHaves {
			req.Haves, err = localTips(ws)
			if err != nil {
				return nil, fail(err)
			}
		}
		resp, err := sess.UploadPack(ctx, req)
		switch {
		case errors.Is(err, transport.ErrEmptyUploadPackRequest):
		case err != nil:
			return nil, scrub(err, nil, creds.secrets()...)
		default:
			err = packfile.UpdateObjectStorage(ws, demux(req.Capabilities, resp))
			resp.Close()
			if err != nil && !errors.Is(err, packfile.ErrEmptyPackfile) {
				return nil, fail(err)
			}
			if !req.Depth.IsZero() {
				if err := ws.SetShallow(mergeShallows(shallows, resp.Shallows, resp.Unshallows)); err != nil {
					return nil, fail(err)
				}
			}
		}
		if since, ok := req.Depth.(packp.DepthSince); ok {
			for _, h := range req.Wants {
				if !hasObject(ws, h) {
					// A ref moved to an older commit; the caller asks again
					// without haves, at depth 1.
					return nil, fmt.Errorf("server sent no commit since %s for %s", time.Time(since).UTC().Format(time.RFC3339), h)
				}
			}
		}
	}
	for name, h := range updates {
		if err := ws.SetReference(plumbing.NewHashReference(plumbing.ReferenceName(name), h)); err != nil {
			return nil, fail(err)
		}
	}
	r.reindex()
	return l, nil
}

// sinceSlack is how much older than the commit the cache holds a ref at
// the commits a follow-up fetch of the ref asks for may be.
//
// A depth-1 fetch brings the new commit's whole tree, however little
// changed, because the server cannot count what the cache has as the
// parent of what it sends (upload-pack marks the trees of "have" commits
// as sent only at the edge of the commits it walks). Asking for the
// commits since the one the cache holds (deepen-since) lets the walk reach
// it, and a push that changed one file costs one file's objects. Commits
// of a push dated before that (clocks differ between machines) are
// tolerated up to sinceSlack; when a push has none that recent (a branch
// reset to an older commit the cache lacks), the server sends nothing, and
// the fetch is made again without haves, at depth 1.
const sinceSlack = time.Hour

// refTime is the committer time of the commit s holds one of refs at.
func refTime(s *filesystem.Storage, refs map[string]plumbing.Hash) (time.Time, bool) {
	for name := range refs {
		ref, err := s.Reference(plumbing.ReferenceName(name))
		if err != nil {
			continue
		}
		if c, err := object.GetCommit(s, ref.Hash()); err == nil {
			return c.Committer.When, true
		}
	}
	return time.Time{}, false
}

// hasObject reports whether s holds h.
func hasObject(s *filesystem.Storage, h plumbing.Hash) bool {
	return s.HasEncodedObject(h) == nil
}

// localTips lists the commits at the tips of the local refs, which the
// server need not send again, nor anything they reach.
func localTips(s *filesystem.Storage) ([]plumbing.Hash, error) {
	iter, err := s.IterReferences()
	if err != nil {
		return nil, err
	}
	seen := map[plumbing.Hash]bool{}
	var haves []plumbing.Hash
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		h := ref.Hash()
		if ref.Type() != plumbing.HashReference || seen[h] || !hasObject(s, h) {
			return nil
		}
		seen[h] = true
		haves = append(haves, h)
		return nil
	})
	return haves, err
}

// mergeShallows is the shallow list after a fetch: the old one plus the new
// boundaries, minus the commits the server deepened past.
func mergeShallows(old, added, removed []plumbing.Hash) []plumbing.Hash {
	gone := map[plumbing.Hash]bool{}
	for _, h := range removed {
		gone[h] = true
	}
	seen := map[plumbing.Hash]bool{}
	var out []plumbing.Hash
	for _, list := range [][]plumbing.Hash{old, added} {
		for _, h := range list {
			if !gone[h] && !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	return out
}

// demux strips the side-band framing from a pack stream when it is used.
func demux(caps *capability.List, r io.Reader) io.Reader {
	switch {
	case caps.Supports(capability.Sideband64k):
		return sideband.NewDemuxer(sideband.Sideband64k, r)
	case caps.Supports(capability.Sideband):
		return sideband.NewDemuxer(sideband.Sideband, r)
	}
	return r
}

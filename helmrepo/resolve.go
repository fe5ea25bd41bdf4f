package helmrepo

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gyre-cd/gyre/source"
)

// Resolve returns the newest version of chart in repoURL that
// targetRevision (an exact version or a semver constraint) allows.
//
// targetRevision is a version as the index spells it ("1.2.3", with or
// without a leading "v"), or a constraint ("6.*", ">=1.2 <2", "^3", "~1.4",
// "*"); empty means the newest stable version. Prereleases are chosen only
// when the constraint names one, as in Helm. For an OCI registry chart may
// be empty when repoURL ends in the chart's name, as Argo CD writes it.
//
// The index (or tag list) is fetched at most once per poll interval per
// repository however many callers ask, conditionally when the server gave
// an ETag or Last-Modified, and answers are memoised for as long as the
// index is unchanged. A failed fetch is remembered for the interval too,
// unless the credentials change. Resolve downloads only when the index
// gives no digest for the version (or, for a registry, to learn the
// manifest's digest), and then keeps the archive, so Files costs nothing.
func (c *Cache) Resolve(ctx context.Context, repoURL, chart, targetRevision string) (Chart, error) {
	r, name, err := c.repository(repoURL, chart)
	if err != nil {
		return Chart{}, fail(OpResolve, repoURL, chart, "", err)
	}
	ch, err := c.resolve(ctx, r, name, targetRevision)
	if err != nil {
		return Chart{}, fail(OpResolve, repoURL, name, "", err)
	}
	now := c.clock.Now()
	k := watchKey{chart: name, revision: targetRevision}
	r.mu.Lock()
	if w := r.watched[k]; w != nil {
		// Keep the answer Poll last compared: a caller that saw a newer
		// index than the loop did is told through the loop.
		w.lastUsed = now
	} else {
		r.watched[k] = &watch{version: ch.Version, digest: ch.Digest, lastUsed: now}
	}
	r.mu.Unlock()
	c.touch(ch.Digest)
	ch.RepoURL = redactURL(repoURL)
	return ch, nil
}

// resolve does Resolve's work; the returned Chart has no RepoURL.
func (c *Cache) resolve(ctx context.Context, r *repository, name, targetRevision string) (Chart, error) {
	idx, err := c.index(ctx, r)
	if err != nil {
		return Chart{}, err
	}
	cv, err := idx.resolve(name, targetRevision)
	if err != nil {
		return Chart{}, err
	}
	digest := cv.digest
	if digest == "" {
		if digest, err = c.learnDigest(ctx, r, name, cv); err != nil {
			return Chart{}, err
		}
	}
	return Chart{Name: name, Version: cv.version, Digest: digest, Created: cv.created}, nil
}

// freshLocked reports whether r's last fetch may still be used by a caller who
// would present creds. The caller holds r.mu.
func (r *repository) freshLocked(now time.Time, creds source.Credentials) bool {
	return r.checked && now.Before(r.expires) && sameCredentials(r.creds, creds)
}

// sameCredentials is Credentials.Equal without hashing: Resolve asks it
// on every call.
func sameCredentials(a, b source.Credentials) bool {
	return a.Username == b.Username && a.Password == b.Password &&
		bytes.Equal(a.CAData, b.CAData) && a.InsecureSkipVerify == b.InsecureSkipVerify &&
		bytes.Equal(a.SSHPrivateKey, b.SSHPrivateKey) && bytes.Equal(a.KnownHosts, b.KnownHosts) &&
		a.InsecureIgnoreHostKey == b.InsecureIgnoreHostKey
}

// redactURL is source.Redact, skipped for the usual URL that has no user
// information to remove.
func redactURL(repoURL string) string {
	repoURL = strings.TrimSpace(repoURL)
	if !strings.Contains(repoURL, "@") {
		return repoURL
	}
	return source.Redact(repoURL)
}

// index returns r's index, fetching it when the last fetch is stale or
// was made with other credentials than those in force now. Concurrent
// callers share one fetch.
func (c *Cache) index(ctx context.Context, r *repository) (*index, error) {
	creds, err := c.credentials(r)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	fresh := r.freshLocked(c.clock.Now(), creds)
	idx, idxErr := r.index, r.indexErr
	r.mu.Unlock()
	if fresh {
		return idx, idxErr
	}
	return share(ctx, &r.flights, "index", c.opts.Timeout, func(ctx context.Context) (*index, error) {
		return c.fetchIndex(ctx, r)
	})
}

// fetchIndex fetches r's index (or tag list) and records the outcome for
// the poll interval.
func (c *Cache) fetchIndex(ctx context.Context, r *repository) (*index, error) {
	creds, err := c.credentials(r)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.freshLocked(c.clock.Now(), creds) {
		// A fetch that ended while this caller was deciding to fetch.
		idx, idxErr := r.index, r.indexErr
		r.mu.Unlock()
		return idx, idxErr
	}
	old, etag, lastModified := r.index, r.etag, r.lastModified
	r.mu.Unlock()

	start := c.clock.Now()
	var idx *index
	typ := RequestIndex
	if r.ociRef != "" {
		typ = RequestTags
		idx, err = c.listTags(ctx, r, creds)
	} else {
		idx, etag, lastModified, err = c.fetchHTTPIndex(ctx, r, creds, old, etag, lastModified)
	}
	c.observe(r, typ, start, err)

	r.mu.Lock()
	defer r.mu.Unlock()
	r.checked, r.expires, r.creds = true, c.nextExpiry(), creds
	if err != nil {
		r.indexErr = &stepError{op: OpIndex, err: err}
		return nil, r.indexErr
	}
	r.index, r.indexErr, r.etag, r.lastModified = idx, nil, etag, lastModified
	return idx, nil
}

// fetchHTTPIndex GETs <repo>/index.yaml, conditionally when an earlier
// answer gave an ETag or Last-Modified: a 304 keeps old.
func (c *Cache) fetchHTTPIndex(ctx context.Context, r *repository, creds source.Credentials, old *index, etag, lastModified string) (*index, string, string, error) {
	u := r.base.ResolveReference(&url.URL{Path: "index.yaml"})
	header := http.Header{}
	if old != nil && etag != "" {
		header.Set("If-None-Match", etag)
	}
	if old != nil && lastModified != "" {
		header.Set("If-Modified-Since", lastModified)
	}
	resp, err := c.get(ctx, r, u, creds, header)
	if err != nil {
		return nil, "", "", err
	}
	defer drain(resp)
	switch {
	case resp.StatusCode == http.StatusNotModified && old != nil:
		return old, etag, lastModified, nil
	case resp.StatusCode != http.StatusOK:
		return nil, "", "", statusError("index.yaml", resp, creds, true)
	}
	data, err := readLimited(resp, c.opts.MaxIndexBytes, "index.yaml", creds.Password)
	if err != nil {
		return nil, "", "", err
	}
	idx, err := parseIndex(data)
	if err != nil {
		return nil, "", "", err
	}
	return idx, resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"), nil
}

// learnDigest returns the digest of a version its index gives none for:
// for an http repository that of the archive, which it downloads and keeps;
// for a registry that of the manifest, which it pulls, keeping the archive.
// Digests learnt are remembered for the repository's life (for a registry,
// until Refresh, as a tag may be pushed again).
func (c *Cache) learnDigest(ctx context.Context, r *repository, name string, cv *chartVersion) (string, error) {
	k := cv.version
	if r.ociRef == "" {
		if len(cv.urls) == 0 {
			return "", fmt.Errorf("version %s: %w", cv.version, errNoURL)
		}
		k = cv.urls[0] + "@" + cv.created.Format(time.RFC3339Nano)
	}
	r.mu.Lock()
	d, ok := r.digests[k]
	r.mu.Unlock()
	if ok {
		return d, nil
	}
	if r.ociRef != "" {
		p, err := c.pull(ctx, r, cv.version)
		if err != nil {
			return "", &stepError{op: OpDownload, err: err}
		}
		d = p.Digest
	} else {
		data, err := c.download(ctx, r, cv)
		if err != nil {
			return "", &stepError{op: OpDownload, err: err}
		}
		if d, err = c.store.write(data); err != nil {
			c.log.Warn("keeping chart archive failed", "repo", r.key, "chart", name, "version", cv.version, "err", err)
		}
	}
	r.mu.Lock()
	r.digests[k] = d
	r.mu.Unlock()
	return d, nil
}

// download fetches the archive of cv: its first URL, resolved against the
// repository's URL when relative. Concurrent downloads of one URL share
// one request.
func (c *Cache) download(ctx context.Context, r *repository, cv *chartVersion) ([]byte, error) {
	if len(cv.urls) == 0 {
		return nil, fmt.Errorf("version %s: %w", cv.version, errNoURL)
	}
	ref, err := url.Parse(strings.TrimSpace(cv.urls[0]))
	if err != nil {
		return nil, fmt.Errorf("version %s: archive URL %q is not a valid URL", cv.version, source.Redact(cv.urls[0]))
	}
	u := r.base.ResolveReference(ref)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("version %s: archive URL %q: unsupported scheme", cv.version, source.Redact(u.String()))
	}
	u.User = nil
	return share(ctx, &c.archives, "http "+u.String(), c.opts.Timeout, func(ctx context.Context) ([]byte, error) {
		creds, err := c.credentials(r)
		if err != nil {
			return nil, err
		}
		start := c.clock.Now()
		data, err := c.fetchArchive(ctx, r, u, creds)
		c.observe(r, RequestDownload, start, err)
		return data, err
	})
}

// fetchArchive GETs one archive, bounded by MaxChartBytes.
func (c *Cache) fetchArchive(ctx context.Context, r *repository, u *url.URL, creds source.Credentials) ([]byte, error) {
	resp, err := c.get(ctx, r, u, creds, nil)
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(source.Redact(u.String()), resp, creds, false)
	}
	return readLimited(resp, c.opts.MaxChartBytes, "chart archive", creds.Password)
}

// share runs fn once for all concurrent callers with one key, detached from
// the first caller's cancellation and bounded by timeout; each caller
// waits until fn ends or its own ctx does.
func share[T any](ctx context.Context, g *singleflight.Group, key string, timeout time.Duration, fn func(context.Context) (T, error)) (T, error) {
	ch := g.DoChan(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		return fn(ctx)
	})
	select {
	case res := <-ch:
		v, _ := res.Val.(T)
		return v, res.Err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

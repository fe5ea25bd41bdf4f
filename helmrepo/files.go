package helmrepo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// extractedKey finds an extracted chart: one archive, under one name.
type extractedKey struct{ digest, name string }

// Files returns the files of ch under a directory named ch.Name.
//
// The archive is read from Options.Dir when an earlier call (in this
// process or an earlier one) kept it, and checked against its digest; else
// it is downloaded (pulled, for a registry) with the repository's
// credentials, which go only to the repository's own host, checked
// against ch.Digest (a mismatch is ErrDigestMismatch and keeps nothing)
// and kept. It is then extracted into memory, refusing anything that is not
// a plain file or directory inside the chart's one directory
// (ErrBadArchive) or that expands too far (ErrTooLarge). The last 64
// charts extracted stay in memory, and concurrent callers for one chart
// share one download and one extraction. The returned fs.FS is read-only
// and shared.
func (c *Cache) Files(ctx context.Context, ch Chart) (fs.FS, error) {
	failed := func(op Op, err error) error { return fail(op, ch.RepoURL, ch.Name, ch.Version, err) }
	if err := checkChartName(ch.Name); err != nil {
		return nil, failed(OpDownload, err)
	}
	if normalizeDigest(ch.Digest) != ch.Digest {
		return nil, failed(OpDownload, fmt.Errorf("digest %q is not a sha256 digest: pass a Chart that Resolve returned", ch.Digest))
	}
	k := extractedKey{digest: ch.Digest, name: ch.Name}
	if fsys, ok := c.extracted.get(k); ok {
		c.touch(ch.Digest, fsys.archive)
		return fsys, nil
	}
	fsys, err := share(ctx, &c.files, ch.Digest+" "+ch.Name, 2*c.opts.Timeout, func(ctx context.Context) (*chartFS, error) {
		data, err := c.archive(ctx, ch)
		if err != nil {
			return nil, err
		}
		fsys, err := extract(data, ch.Name, c.limits())
		if err != nil {
			return nil, &stepError{op: OpExtract, err: err}
		}
		c.extracted.add(k, fsys)
		c.touch(ch.Digest, fsys.archive)
		return fsys, nil
	})
	if err != nil {
		return nil, failed(OpDownload, err)
	}
	return fsys, nil
}

// archive returns the archive of ch, from disk or from the network.
func (c *Cache) archive(ctx context.Context, ch Chart) ([]byte, error) {
	if IsOCI(ch.RepoURL) {
		return c.ociArchive(ctx, ch)
	}
	if data, ok := c.fromDisk(ch.Digest); ok {
		return data, nil
	}
	r, name, err := c.repository(ch.RepoURL, ch.Name)
	if err != nil {
		return nil, err
	}
	idx, err := c.index(ctx, r)
	if err != nil {
		return nil, err
	}
	cv, ok := idx.version(name, ch.Version)
	if !ok {
		return nil, fmt.Errorf("the repository's index no longer lists this version: %w", ErrVersionNotFound)
	}
	data, err := c.download(ctx, r, cv)
	if err != nil {
		return nil, err
	}
	if got := digestOf(data); got != ch.Digest {
		return nil, fmt.Errorf("archive is %s, expected %s: %w", got, ch.Digest, ErrDigestMismatch)
	}
	if _, err := c.store.write(data); err != nil {
		c.log.Warn("keeping chart archive failed", "repo", r.key, "chart", name, "version", ch.Version, "err", err)
	}
	return data, nil
}

// fromDisk reads a kept archive, reporting one found corrupted.
func (c *Cache) fromDisk(digest string) ([]byte, bool) {
	data, err := c.store.read(digest)
	switch {
	case err == nil:
		return data, true
	case errors.Is(err, errCorrupt):
		c.log.Warn("chart archive on disk was corrupted; downloading it again", "digest", digest, "dir", c.opts.Dir)
	case !errors.Is(err, os.ErrNotExist):
		c.log.Warn("reading chart archive failed", "digest", digest, "err", err)
	}
	return nil, false
}

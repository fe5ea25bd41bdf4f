package helmrepo

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/gyre-cd/gyre/helmrepo/oci"
	"github.com/gyre-cd/gyre/source"
)

// splitOCI reads an oci:// URL into its host (lowercased, with a port when
// one is given) and its path (without leading or trailing "/"). User
// information is dropped: credentials come from Secrets.
func splitOCI(repoURL string) (host, p string, err error) {
	s := strings.TrimSpace(repoURL)
	u, err := url.Parse("oci://" + s[len("oci://"):])
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("registry URL %q is not an oci://host/path URL", redactText(s))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("registry URL %q: a registry URL has no query or fragment", redactText(s))
	}
	p = strings.Trim(path.Clean("/"+u.Path), "/")
	if strings.Contains(u.Path, "..") {
		return "", "", fmt.Errorf("registry URL %q: path holds \"..\"", redactText(s))
	}
	return strings.ToLower(u.Host), p, nil
}

// ociReference returns the repository reference (host/path/chart, no
// scheme) that holds chart in the registry repoURL names, and the chart's
// name. With chart empty, repoURL names the chart's repository itself and
// its last path element is the chart's name (Argo CD's form). A chart equal
// to that last element is read the same way, so that a Chart that Resolve
// returned for Argo CD's form finds its repository again.
func ociReference(repoURL, chart string) (ref, name string, err error) {
	host, p, err := splitOCI(repoURL)
	if err != nil {
		return "", "", err
	}
	chart = strings.Trim(strings.TrimSpace(chart), "/")
	last := path.Base(p)
	switch {
	case chart == "" && p == "":
		return "", "", fmt.Errorf("registry URL %q names no repository and no chart is given", redactText(repoURL))
	case chart == "" || chart == last:
		ref, name = host+"/"+p, last
	case p == "":
		ref, name = host+"/"+chart, path.Base(chart)
	default:
		ref, name = host+"/"+p+"/"+chart, path.Base(chart)
	}
	if err := checkChartName(name); err != nil {
		return "", "", err
	}
	if strings.Contains(chart, "..") {
		return "", "", fmt.Errorf("chart %q: path holds \"..\"", chart)
	}
	return ref, name, nil
}

// tagOf is the tag a chart version is pushed as: Helm writes "+" as "_".
func tagOf(version string) string { return strings.ReplaceAll(version, "+", "_") }

// ociOptions are the options of a request to r's registry.
func (c *Cache) ociOptions(r *repository, creds source.Credentials) oci.Options {
	host, _, _ := strings.Cut(r.ociRef, "/")
	return oci.Options{
		Credentials: creds,
		PlainHTTP:   c.plainHTTP[host],
		Timeout:     c.opts.Timeout,
		MaxBytes:    c.opts.MaxChartBytes,
	}
}

// listTags lists the tags of r's chart as its index.
func (c *Cache) listTags(ctx context.Context, r *repository, creds source.Credentials) (*index, error) {
	opts := c.ociOptions(r, creds)
	tags, err := oci.Tags(ctx, r.ociRef, opts)
	if err != nil {
		return nil, scrubOCI(err, opts)
	}
	return tagIndex(r.ociName, tags), nil
}

// pull pulls version of r's chart, keeps its archive on disk (linked from
// the manifest's digest, so Files finds it), and returns it. Concurrent
// pulls of one tag share one request.
func (c *Cache) pull(ctx context.Context, r *repository, version string) (oci.Pulled, error) {
	tag := tagOf(version)
	return share(ctx, &c.archives, "oci "+r.ociRef+":"+tag, c.opts.Timeout, func(ctx context.Context) (oci.Pulled, error) {
		creds, err := c.credentials(r)
		if err != nil {
			return oci.Pulled{}, err
		}
		opts := c.ociOptions(r, creds)
		start := c.clock.Now()
		p, err := oci.Pull(ctx, r.ociRef, tag, opts)
		if err == nil && normalizeDigest(p.Digest) != p.Digest {
			err = fmt.Errorf("registry gave manifest digest %q, not a sha256 digest", p.Digest)
		}
		if err == nil && int64(len(p.Archive)) > c.opts.MaxChartBytes {
			err = fmt.Errorf("chart archive is %d bytes, more than the limit of %d: %w", len(p.Archive), c.opts.MaxChartBytes, ErrTooLarge)
		}
		err = scrubOCI(err, opts)
		c.observe(r, RequestPull, start, err)
		if err != nil {
			return oci.Pulled{}, err
		}
		archive, err := c.store.write(p.Archive)
		if err == nil {
			err = c.store.link(p.Digest, archive)
		}
		if err != nil {
			c.log.Warn("keeping chart archive failed", "repo", r.key, "ref", r.ociRef, "tag", tag, "err", err)
		}
		c.touch(p.Digest, archive)
		return p, nil
	})
}

// ociArchive returns the archive of a chart from a registry: from disk
// through its manifest's digest, else pulled and checked against it.
func (c *Cache) ociArchive(ctx context.Context, ch Chart) ([]byte, error) {
	if archive, ok := c.store.readLink(ch.Digest); ok {
		if data, ok := c.fromDisk(archive); ok {
			return data, nil
		}
	}
	r, _, err := c.repository(ch.RepoURL, ch.Name)
	if err != nil {
		return nil, err
	}
	p, err := c.pull(ctx, r, ch.Version)
	if err != nil {
		return nil, err
	}
	if p.Digest != ch.Digest {
		return nil, fmt.Errorf("tag %s now has manifest %s, expected %s: %w", tagOf(ch.Version), p.Digest, ch.Digest, ErrDigestMismatch)
	}
	return p.Archive, nil
}

// scrubOCI removes the credentials from a registry client's error, keeping
// the sentinels it wraps (the oci package classifies its errors with
// source's), and classifies a bare network error as unreachable.
func scrubOCI(err error, opts oci.Options) error {
	if err == nil {
		return nil
	}
	return &cleanError{msg: redactText(err.Error(), opts.Credentials.Password), kind: sentinels(err)}
}

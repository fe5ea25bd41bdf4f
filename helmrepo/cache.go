package helmrepo

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gyre-cd/gyre/source"
)

// Options configure a Cache. Zero fields take the defaults listed.
type Options struct {
	// Dir holds the downloaded chart archives, one file per digest.
	// Required.
	Dir string
	// PollInterval is how long an index (or a registry's tag list) is
	// reused before Resolve or Poll fetches it again. Default 60s; each
	// repository's interval varies by up to a tenth either way, so that
	// many repositories spread out.
	PollInterval time.Duration
	// Timeout bounds every network request. Default 60s.
	Timeout time.Duration
	// MaxIndexBytes bounds an index.yaml. Default 32 MiB.
	MaxIndexBytes int64
	// MaxChartBytes bounds a chart archive, compressed. Default 20 MiB.
	// Its files may hold ten times as much, at most Helm's own limit
	// (loader.MaxDecompressedChartSize), and no file more than
	// loader.MaxDecompressedFileSize.
	MaxChartBytes int64
	// IdleTimeout is how long a repository that no caller used, and that
	// Retain was not told to keep, stays in memory, and how long an
	// archive on disk that no caller read stays there. Default 10m.
	IdleTimeout time.Duration
	// Credentials returns the credentials Secret's credentials of type
	// typ (source.RepoTypeHelm or source.RepoTypeOCI) for repoURL; nil
	// means anonymous access everywhere. Asked before every request.
	Credentials func(typ source.RepoType, repoURL string) (source.Credentials, error)
	// PlainHTTPRegistries lists the OCI registries (host or host:port)
	// spoken to over plain http instead of https: local and test
	// registries.
	PlainHTTPRegistries []string
	// Observer hears of every request, as source's does.
	Observer source.Observer
	// Logger receives structured logs. Default slog.Default().
	Logger *slog.Logger
	// Clock tells the time and wakes the poll loop. Default the wall
	// clock; tests move a fake one by hand.
	Clock source.Clock
}

// DefaultOptions returns the defaults for a cache keeping archives in dir.
func DefaultOptions(dir string) Options {
	return Options{
		Dir:           dir,
		PollInterval:  60 * time.Second,
		Timeout:       60 * time.Second,
		MaxIndexBytes: 32 << 20,
		MaxChartBytes: 20 << 20,
		IdleTimeout:   10 * time.Minute,
	}
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	d := DefaultOptions(o.Dir)
	if o.PollInterval <= 0 {
		o.PollInterval = d.PollInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.MaxIndexBytes <= 0 {
		o.MaxIndexBytes = d.MaxIndexBytes
	}
	if o.MaxChartBytes <= 0 {
		o.MaxChartBytes = d.MaxChartBytes
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = d.IdleTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = wallClock{}
	}
	return o
}

// wallClock is the real time.
type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// The requests a Cache reports to its Observer, beside source's.
const (
	// RequestIndex is a fetch of a repository's index.yaml.
	RequestIndex source.RequestType = "index"
	// RequestDownload is a download of a chart archive over http.
	RequestDownload source.RequestType = "download"
	// RequestTags is a listing of an OCI repository's tags.
	RequestTags source.RequestType = "tags"
	// RequestPull is a pull of a chart from an OCI registry.
	RequestPull source.RequestType = "pull"
)

// extractedCharts is how many extracted charts stay in memory.
const extractedCharts = 64

// Cache resolves chart versions and serves chart files, for every chart
// repository and registry gyre reads, sharing one index per repository and
// one archive per digest among all callers. It is safe for concurrent use.
type Cache struct {
	opts      Options
	log       *slog.Logger
	clock     source.Clock
	store     store
	created   time.Time
	wake      chan struct{}                // Refresh pokes the poll loop
	archives  singleflight.Group           // downloads and pulls, by URL or reference
	files     singleflight.Group           // Files, by digest and name
	extracted *lru[extractedKey, *chartFS] // by digest and name
	plainHTTP map[string]bool              // OCI registries spoken to over http

	mu      sync.Mutex
	repos   map[string]*repository // by repository id
	used    map[string]time.Time   // archive and manifest digest → last use
	clients map[clientKey]*http.Client
}

// New returns a Cache keeping archives in opts.Dir, creating the directory
// if needed.
func New(opts Options) (*Cache, error) {
	opts = opts.withDefaults()
	if opts.Dir == "" {
		return nil, errors.New("helm repository cache: Options.Dir is required")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("helm repository cache %s: %w", opts.Dir, err)
	}
	c := &Cache{
		opts:      opts,
		log:       opts.Logger,
		clock:     opts.Clock,
		store:     store{dir: opts.Dir},
		created:   opts.Clock.Now(),
		wake:      make(chan struct{}, 1),
		extracted: newLRU[extractedKey, *chartFS](extractedCharts),
		plainHTTP: map[string]bool{},
		repos:     map[string]*repository{},
		used:      map[string]time.Time{},
		clients:   map[clientKey]*http.Client{},
	}
	for _, h := range opts.PlainHTTPRegistries {
		c.plainHTTP[strings.ToLower(h)] = true
	}
	return c, nil
}

// IsOCI reports whether repoURL names an OCI registry (oci://).
func IsOCI(repoURL string) bool {
	s := strings.TrimSpace(repoURL)
	return len(s) >= len("oci://") && strings.EqualFold(s[:len("oci://")], "oci://")
}

// Key returns the identity of a chart repository: what Poll reports and
// webhooks and credentials match on. For http(s) it is
// source.NormalizeURL's; for an OCI registry it is "oci://", the host
// lowercased and the path without a trailing "/".
func Key(repoURL string) (string, error) {
	if IsOCI(repoURL) {
		host, p, err := splitOCI(repoURL)
		if err != nil {
			return "", err
		}
		if p == "" {
			return "oci://" + host, nil
		}
		return "oci://" + host + "/" + p, nil
	}
	return source.NormalizeURL(repoURL)
}

// repository is what the cache holds for one Helm repository, or one chart
// of an OCI registry (whose tags are listed per chart).
type repository struct {
	key     string             // Key of the URL: what Poll reports
	id      string             // key in Cache.repos
	url     string             // the URL without user information: what credentials are asked for
	base    *url.URL           // http: the URL with a trailing "/", which index and archive URLs resolve against
	ociRef  string             // OCI: host/path/chart
	ociName string             // OCI: the chart's name
	flights singleflight.Group // index fetches
	log     requestLog

	mu           sync.Mutex
	index        *index             // last index fetched; nil before the first
	indexErr     error              // why the last fetch failed; nil if it did not
	checked      bool               // a fetch ended since the last Refresh
	expires      time.Time          // when the last fetch goes stale
	creds        source.Credentials // presented by the last fetch
	etag         string             // of index
	lastModified string             // of index
	digests      map[string]string  // digests learnt by downloading: by archive URL and created, or by OCI tag
	watched      map[watchKey]*watch
	lastUsed     time.Time
}

// repository returns the shared state of the repository that chart of
// repoURL lives in, creating it on first use, and the chart's name.
func (c *Cache) repository(repoURL, chart string) (*repository, string, error) {
	key, err := Key(repoURL)
	if err != nil {
		return nil, "", err
	}
	id, name, ref := key, strings.TrimSpace(chart), ""
	if IsOCI(repoURL) {
		ref, name, err = ociReference(repoURL, chart)
		if err != nil {
			return nil, "", err
		}
		id = "oci://" + ref
	} else if err := checkChartName(name); err != nil {
		return nil, "", err
	}

	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.repos[id]; r != nil {
		r.lastUsed = now
		return r, name, nil
	}
	r := &repository{
		key:      key,
		id:       id,
		url:      source.Redact(strings.TrimSpace(repoURL)),
		ociRef:   ref,
		digests:  map[string]string{},
		watched:  map[watchKey]*watch{},
		lastUsed: now,
	}
	if ref == "" {
		base, err := baseURL(repoURL)
		if err != nil {
			return nil, "", err
		}
		r.base = base
	} else {
		r.ociName = name
	}
	c.repos[id] = r
	return r, name, nil
}

// checkChartName refuses a chart name that could not be a directory name.
func checkChartName(name string) error {
	if name == "" {
		return errors.New("no chart name: a Helm repository source needs spec.source.chart")
	}
	if name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("chart name %q is not a single path element", name)
	}
	return nil
}

// baseURL is the repository URL that index.yaml and relative archive URLs
// resolve against: without user information, query or fragment, and with
// a trailing "/".
func baseURL(repoURL string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(repoURL))
	if err != nil {
		return nil, fmt.Errorf("repository URL %q is not a valid URL", source.Redact(repoURL))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("repository URL %q: unsupported scheme %q (want https, http or oci)", source.Redact(repoURL), u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("repository URL %q has no host", source.Redact(repoURL))
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// credentials asks Options.Credentials for r's credentials.
func (c *Cache) credentials(r *repository) (source.Credentials, error) {
	if c.opts.Credentials == nil {
		return source.Credentials{}, nil
	}
	typ := source.RepoTypeHelm
	if r.ociRef != "" {
		typ = source.RepoTypeOCI
	}
	creds, err := c.opts.Credentials(typ, r.url)
	if err != nil {
		return source.Credentials{}, fmt.Errorf("credentials: %s", redactText(err.Error(), creds.Password))
	}
	return creds, nil
}

// nextExpiry is when an index fetched now goes stale: PollInterval from
// now, give or take a tenth.
func (c *Cache) nextExpiry() time.Time {
	d := c.opts.PollInterval
	if j := int64(d / 10); j > 0 {
		d += time.Duration(rand.Int64N(2*j+1) - j)
	}
	return c.clock.Now().Add(d)
}

// observe reports one request to the Observer, the repository's status and
// the log.
func (c *Cache) observe(r *repository, typ source.RequestType, start time.Time, err error) {
	end := c.clock.Now()
	d := end.Sub(start)
	r.log.record(typ, end, err)
	if c.opts.Observer != nil {
		c.opts.Observer.GitRequest(r.key, typ, d, err)
	}
	if err != nil {
		c.log.Debug("helm repository request failed", "repo", r.key, "request", string(typ), "duration", d, "err", err)
		return
	}
	c.log.Debug("helm repository request", "repo", r.key, "request", string(typ), "duration", d)
}

// touch records that the archives or manifests with these digests were
// used now, so Retain keeps them on disk.
func (c *Cache) touch(digests ...string) {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range digests {
		if d != "" {
			c.used[d] = now
		}
	}
}

// Refresh drops the freshness of repoURL's index (every chart's tag list,
// for a registry), so the next Resolve fetches it again, and wakes the poll
// loop. Webhooks and `gyre app refresh` call it. Unknown repositories are
// ignored.
func (c *Cache) Refresh(repoURL string) {
	key, err := Key(repoURL)
	if err != nil {
		return
	}
	for _, r := range c.repositories() {
		if r.key != key {
			continue
		}
		r.mu.Lock()
		r.expires = time.Time{}
		r.checked = false
		if r.ociRef != "" {
			// A tag may have been pushed again.
			clear(r.digests)
		}
		r.mu.Unlock()
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// repositories returns every repository the cache holds.
func (c *Cache) repositories() []*repository {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*repository, 0, len(c.repos))
	for _, r := range c.repos {
		out = append(out, r)
	}
	return out
}

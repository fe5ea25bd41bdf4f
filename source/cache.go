package source

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/git"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// Clock tells the Cache the time and wakes the poll loop. Tests substitute a
// fake one so that nothing sleeps.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// RequestType is the kind of network request an Observer is told about.
type RequestType string

// The network requests the Cache makes.
const (
	// RequestListRefs is a ref listing (git ls-remote).
	RequestListRefs RequestType = "ls-remote"
	// RequestFetch is a fetch of objects (git fetch).
	RequestFetch RequestType = "fetch"
)

// Observer is told about every network request, for metrics. web/ wires it
// to gyre_git_request_total{repo,request_type} and
// gyre_git_request_duration_seconds. repo is the normalised URL, which holds
// no credentials. It must be safe for concurrent use and return quickly.
type Observer interface {
	GitRequest(repo string, requestType RequestType, d time.Duration, err error)
}

// Options configure a Cache. Zero fields take the defaults listed.
type Options struct {
	// Dir is the cache root: one bare repository per normalised URL lives
	// below it, named by a hash of that URL. Required. One process per Dir.
	Dir string
	// PollInterval is how long a ref listing is reused, per repository,
	// before Resolve or the poll loop lists refs again. Default 60s.
	PollInterval time.Duration
	// PollJitter spreads listings of many repositories apart: each interval
	// is PollInterval ± a random amount up to PollJitter. Default a tenth of
	// PollInterval; negative means none.
	PollJitter time.Duration
	// PollIntervals overrides PollInterval per repository, keyed by any
	// spelling of its URL.
	PollIntervals map[string]time.Duration
	// Timeout bounds every network operation. Default 60s.
	Timeout time.Duration
	// ListWait is the longest a caller waits for a ref listing that is in
	// flight, counted from when the listing began. A caller still waiting
	// then is answered with the repository's last listing, or the reason
	// the last one failed, or an ErrUnreachable error, while the listing
	// goes on in the background until Timeout: a server that stops
	// answering holds no caller, worker or poll round for longer than
	// this. Zero means a quarter of Timeout, at most 5s.
	ListWait time.Duration
	// IdleTimeout is how long the cache of a repository that no caller
	// has used, and that Retain was not told to keep, stays in memory and
	// on disk before Retain releases it. Default 10m; keep it well above
	// Timeout.
	IdleTimeout time.Duration
	// AllowFileURLs lets Applications read repositories on this machine's
	// disk (file:// URLs and plain paths). `gyre up` allows them, for local
	// repositories; `gyre serve` only with --allow-file-repos, since on a
	// shared agent they let a tenant read whatever git repository the
	// agent's disk holds. Whatever it says, no repository inside Dir (the
	// cache of every other repository, private ones included) is ever read
	// this way.
	AllowFileURLs bool
	// Credentials answers which credentials to use for a repository. Nil
	// means anonymous access everywhere.
	Credentials CredentialSource
	// Observer is told about every network request. Optional.
	Observer Observer
	// Logger receives structured logs. Default slog.Default().
	Logger *slog.Logger
	// Clock tells the time. Default the wall clock.
	Clock Clock
	// WrapTransport, when set, is called once per URL scheme ("https",
	// "http", "ssh", "git", "file") with the go-git transport gyre uses for
	// it, and returns the one to use instead: a hook for instrumentation,
	// tests, or routing a scheme elsewhere. gyre's transports are go-git's
	// clients, and for file an in-process server, so no git binary is
	// needed at run time.
	WrapTransport func(scheme string, t transport.Transport) transport.Transport
}

// DefaultOptions returns the defaults for a cache rooted at dir.
func DefaultOptions(dir string) Options {
	return Options{
		Dir:          dir,
		PollInterval: 60 * time.Second,
		PollJitter:   6 * time.Second,
		Timeout:      60 * time.Second,
		IdleTimeout:  10 * time.Minute,
	}
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	d := DefaultOptions(o.Dir)
	if o.PollInterval <= 0 {
		o.PollInterval = d.PollInterval
	}
	if o.PollJitter == 0 {
		o.PollJitter = o.PollInterval / 10
	}
	if o.PollJitter < 0 {
		o.PollJitter = 0
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.ListWait <= 0 {
		o.ListWait = min(maxListWait, o.Timeout/4)
	}
	o.ListWait = min(o.ListWait, o.Timeout)
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = d.IdleTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	return o
}

// Cache resolves revisions to commits and serves the files of commits, for
// every repository gyre reads, sharing one on-disk repository and one ref
// listing per repository among all callers. It is safe for concurrent use.
type Cache struct {
	opts       Options
	log        *slog.Logger
	clock      Clock
	transports map[string]transport.Transport
	local      localLoader
	intervals  map[string]time.Duration // by normalised URL
	wake       chan struct{}            // Refresh pokes the poll loop
	maxPacks   int                      // see consolidatePacks
	compaction compaction               // see compact
	created    time.Time                // when New ran: orphan directories wait IdleTimeout from here

	mu    sync.Mutex
	repos map[string]*repository // by normalised URL
	keys  map[string]string      // raw URL → normalised URL, to skip parsing
}

// New returns a Cache rooted at opts.Dir, creating the directory if needed.
func New(opts Options) (*Cache, error) {
	opts = opts.withDefaults()
	if opts.Dir == "" {
		return nil, errors.New("source cache: Options.Dir is required")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("source cache %s: %w", opts.Dir, err)
	}
	local := localLoader{allow: opts.AllowFileURLs, protected: opts.Dir}
	c := &Cache{
		local: local,
		opts:  opts,
		log:   opts.Logger,
		clock: opts.Clock,
		transports: map[string]transport.Transport{
			"https": githttp.DefaultClient,
			"http":  githttp.DefaultClient,
			"ssh":   gitssh.DefaultClient,
			"git":   git.DefaultClient,
			"file":  server.NewClient(local),
		},
		intervals:  map[string]time.Duration{},
		wake:       make(chan struct{}, 1),
		maxPacks:   defaultMaxPacks,
		compaction: defaultCompaction(),
		created:    opts.Clock.Now(),
		repos:      map[string]*repository{},
		keys:       map[string]string{},
	}
	if opts.WrapTransport != nil {
		for scheme, t := range c.transports {
			c.transports[scheme] = opts.WrapTransport(scheme, t)
		}
	}
	for raw, d := range opts.PollIntervals {
		key, err := NormalizeURL(raw)
		if err != nil {
			return nil, fmt.Errorf("source cache: PollIntervals: %w", err)
		}
		c.intervals[key] = d
	}
	return c, nil
}

// Refresh drops the cached ref listing of repoURL, so that the next Resolve
// lists refs at once, and wakes the poll loop, which then reports any
// revision that moved. Webhooks call it. Unknown repositories are ignored.
func (c *Cache) Refresh(repoURL string) {
	key, err := c.key(repoURL)
	if err != nil {
		return
	}
	c.mu.Lock()
	r := c.repos[key]
	c.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	r.listing = nil
	r.listingErr = nil
	r.generation++
	r.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// key returns the normalised URL of raw, memoised.
func (c *Cache) key(raw string) (string, error) {
	c.mu.Lock()
	key, ok := c.keys[raw]
	c.mu.Unlock()
	if ok {
		return key, nil
	}
	key, err := NormalizeURL(raw)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.keys[raw] = key
	c.mu.Unlock()
	return key, nil
}

// repository returns the shared state of repoURL, opening or creating its
// on-disk repository on first use.
func (c *Cache) repository(repoURL string) (*repository, error) {
	key, err := c.key(repoURL)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(key, "oci://") {
		return nil, fmt.Errorf("repository URL %q is an OCI registry, not a git repository: it holds charts (set chart)", Redact(repoURL))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.repos[key]; r != nil {
		r.lastUsed = c.clock.Now()
		return r, nil
	}
	u, err := transportURL(repoURL)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(key, "file://") {
		if err := c.local.check(filepath.FromSlash(u)); err != nil {
			return nil, err
		}
	}
	dir := filepath.Join(c.opts.Dir, dirName(key))
	store, err := openStore(dir)
	if err != nil {
		return nil, fmt.Errorf("open cache of %s in %s: %w", key, dir, err)
	}
	r := &repository{
		key:      key,
		url:      u,
		dir:      dir,
		interval: c.opts.PollInterval,
		fetchSem: make(chan struct{}, 1),
		store:    store,
		objects:  map[plumbing.Hash]plumbing.Hash{},
		short:    map[string]plumbing.Hash{},
		commits:  map[plumbing.Hash]commitInfo{},
		missing:  map[string]time.Time{},
		watched:  map[string]*watch{},
		used:     map[plumbing.Hash]time.Time{},
		now:      c.clock.Now,
		lastUsed: c.clock.Now(),
	}
	r.compactedAt = r.lastUsed
	if d, ok := c.intervals[key]; ok && d > 0 {
		r.interval = d
	}
	c.repos[key] = r
	return r, nil
}

// dirName is the name of the directory below Options.Dir that holds the
// repository with normalised URL key.
func dirName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// nextExpiry is when a listing made now goes stale for r.
func (c *Cache) nextExpiry(r *repository) time.Time {
	d := r.interval
	if j := c.opts.PollJitter; j > 0 {
		d += time.Duration(rand.Int64N(int64(2*j)+1)) - j
	}
	return c.clock.Now().Add(d)
}

// observe reports one network request to the Observer and the log.
func (c *Cache) observe(r *repository, typ RequestType, start time.Time, err error) {
	end := c.clock.Now()
	d := end.Sub(start)
	r.requests.record(typ, end, err)
	if c.opts.Observer != nil {
		c.opts.Observer.GitRequest(r.key, typ, d, err)
	}
	if err != nil {
		c.log.Debug("git request failed", "repo", r.key, "request", string(typ), "duration", d, "err", err)
		return
	}
	c.log.Debug("git request", "repo", r.key, "request", string(typ), "duration", d)
}

// stepError records which step of an operation failed, so the *Error an
// exported function returns names it.
type stepError struct {
	op  Op
	err error
}

func (e *stepError) Error() string { return string(e.op) + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// errorf wraps err into an *Error about r: op is the step unless err names
// a more precise one.
func (r *repository) errorf(op Op, revision, path string, err error) error {
	if e, ok := err.(*Error); ok {
		return e
	}
	var se *stepError
	if errors.As(err, &se) {
		op, err = se.op, se.err
	}
	return &Error{Op: op, Repo: r.key, Revision: revision, Path: path, Err: err}
}

// urlError wraps an error about a URL that could not become a repository.
func urlError(op Op, repoURL, revision string, err error) error {
	return &Error{Op: op, Repo: Redact(repoURL), Revision: revision, Err: scrub(err, nil)}
}

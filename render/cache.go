package render

import (
	"container/list"
	"context"
	"io/fs"
	"sync"
)

// Key identifies one render by content: the commit, the source path and the
// options hash. The same key always renders to the same objects, so a
// cached result never goes stale.
type Key struct {
	// Revision is the commit SHA the file tree comes from.
	Revision string
	// Path is the source path, cleaned.
	Path string
	// OptionsHash is Options.Hash of the render options.
	OptionsHash string
}

// NewKey returns the key of rendering dir at revision with opts.
func NewKey(revision, dir string, opts Options) Key {
	return Key{Revision: revision, Path: cleanDir(dir), OptionsHash: opts.Hash()}
}

// String returns the key as one string.
func (k Key) String() string {
	return k.Revision + "\x00" + k.Path + "\x00" + k.OptionsHash
}

// DefaultCacheSize is the number of results a Cache keeps by default.
const DefaultCacheSize = 256

// CacheOptions configure a Cache.
type CacheOptions struct {
	// Size is the number of results kept; the least recently used goes
	// first. Zero means DefaultCacheSize.
	Size int
	// Sandbox, when set, renders on a miss, in its worker processes; Render
	// is then not used. gyre always sets it: a repository's templates are
	// not trusted to finish, or to fit in memory.
	Sandbox *Sandbox
	// Render renders on a miss when there is no Sandbox; nil means the
	// package's Render, in this process. Tests inject a counting one.
	Render func(fsys fs.FS, dir string, opts Options) (*Result, error)
}

// DefaultCacheOptions returns the options NewCache uses for a zero value.
func DefaultCacheOptions() CacheOptions {
	return CacheOptions{Size: DefaultCacheSize, Render: Render}
}

// Cache keeps rendered results by Key, so that an unchanged application
// costs no render on a periodic reconcile. It is bounded (least recently
// used results are dropped), safe for concurrent use, and collapses
// concurrent renders of one key into a single render. Failed renders are
// not kept. Each caller gets its own deep copy of a result and may modify it.
type Cache struct {
	size   int
	render func(context.Context, fs.FS, string, Options) (*Result, error)

	mu      sync.Mutex
	entries map[Key]*list.Element // of *cacheEntry
	lru     *list.List            // most recently used at the front
	flights map[Key]*flight       // renders in progress
}

// cacheEntry is one cached result.
type cacheEntry struct {
	key Key
	res *Result
}

// flight is a render in progress that callers of the same key wait for.
// It is cancelled when the last of them has stopped waiting.
type flight struct {
	done    chan struct{} // closed when res and err are set
	res     *Result
	err     error
	waiters int // guarded by Cache.mu
	cancel  context.CancelFunc
}

// NewCache returns an empty cache.
func NewCache(opts CacheOptions) *Cache {
	d := DefaultCacheOptions()
	if opts.Size <= 0 {
		opts.Size = d.Size
	}
	c := &Cache{size: opts.Size, entries: map[Key]*list.Element{}, lru: list.New(), flights: map[Key]*flight{}}
	inProcess := opts.Render
	if inProcess == nil {
		inProcess = d.Render
	}
	c.render = func(_ context.Context, fsys fs.FS, dir string, opts Options) (*Result, error) {
		return inProcess(fsys, dir, opts)
	}
	if opts.Sandbox != nil {
		c.render = opts.Sandbox.Render
	}
	return c
}

// Get returns a copy of the cached result for key, if there is one.
func (c *Cache) Get(key Key) (*Result, bool) {
	c.mu.Lock()
	res, ok := c.lookupLocked(key)
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	return res.DeepCopy(), true
}

// Forget drops the cached result of key, so that the next Render renders
// again: a hard refresh asks for it.
func (c *Cache) Forget(key Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.lru.Remove(el)
		delete(c.entries, key)
	}
}

// Render returns the result of rendering dir in fsys (the tree of commit
// revision) with opts, from the cache when this key was rendered before.
// It is RenderContext without a context: a sandboxed render is then bounded
// by the Sandbox's deadline alone.
func (c *Cache) Render(revision string, fsys fs.FS, dir string, opts Options) (*Result, error) {
	return c.RenderContext(context.Background(), revision, fsys, dir, opts)
}

// RenderContext returns the result of rendering dir in fsys (the tree of
// commit revision) with opts, from the cache when this key was rendered
// before. Callers asking for a key that is being rendered wait for that
// render. One whose ctx ends stops waiting and gets ctx.Err(); the render
// goes on for the others, and is cancelled when none is left waiting (a
// sandboxed render stops then; one in this process runs to its end).
func (c *Cache) RenderContext(ctx context.Context, revision string, fsys fs.FS, dir string, opts Options) (*Result, error) {
	key := NewKey(revision, dir, opts)
	c.mu.Lock()
	if res, ok := c.lookupLocked(key); ok {
		c.mu.Unlock()
		return res.DeepCopy(), nil
	}
	f, ok := c.flights[key]
	if !ok {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		c.flights[key] = f
		go c.fly(fctx, key, f, fsys, opts)
	}
	f.waiters++
	c.mu.Unlock()

	select {
	case <-f.done:
		if f.err != nil {
			return nil, f.err
		}
		return f.res.DeepCopy(), nil
	case <-ctx.Done():
		c.mu.Lock()
		if f.waiters--; f.waiters == 0 {
			f.cancel()
			if c.flights[key] == f {
				delete(c.flights, key) // a caller coming later starts afresh
			}
		}
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

// fly renders key for the callers waiting on f and caches a success.
func (c *Cache) fly(ctx context.Context, key Key, f *flight, fsys fs.FS, opts Options) {
	defer f.cancel()
	res, err := c.render(ctx, fsys, key.Path, opts)
	c.mu.Lock()
	if err == nil {
		c.addLocked(key, res)
	}
	if c.flights[key] == f {
		delete(c.flights, key)
	}
	f.res, f.err = res, err
	c.mu.Unlock()
	close(f.done)
}

// Len returns the number of cached results.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// lookupLocked returns the cached result (not a copy) and marks it used.
func (c *Cache) lookupLocked(key Key) (*Result, bool) {
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cacheEntry).res, true
}

// addLocked caches res under key, dropping the least recently used entries
// beyond the size bound.
func (c *Cache) addLocked(key Key, res *Result) {
	if el, ok := c.entries[key]; ok {
		el.Value.(*cacheEntry).res = res
		c.lru.MoveToFront(el)
		return
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, res: res})
	for c.lru.Len() > c.size {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.entries, last.Value.(*cacheEntry).key)
	}
}

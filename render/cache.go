package render

import (
	"container/list"
	"io/fs"
	"sync"

	"golang.org/x/sync/singleflight"
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
	// Render renders on a miss; nil means the package's Render. Tests
	// inject a counting one.
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
	render func(fs.FS, string, Options) (*Result, error)
	group  singleflight.Group

	mu      sync.Mutex
	entries map[Key]*list.Element // of *cacheEntry
	lru     *list.List            // most recently used at the front
}

// cacheEntry is one cached result.
type cacheEntry struct {
	key Key
	res *Result
}

// NewCache returns an empty cache.
func NewCache(opts CacheOptions) *Cache {
	d := DefaultCacheOptions()
	if opts.Size <= 0 {
		opts.Size = d.Size
	}
	if opts.Render == nil {
		opts.Render = d.Render
	}
	return &Cache{size: opts.Size, render: opts.Render, entries: map[Key]*list.Element{}, lru: list.New()}
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

// Render returns the result of rendering dir in fsys (the tree of commit
// revision) with opts, from the cache when this key was rendered before.
func (c *Cache) Render(revision string, fsys fs.FS, dir string, opts Options) (*Result, error) {
	key := NewKey(revision, dir, opts)
	if res, ok := c.Get(key); ok {
		return res, nil
	}
	v, err, _ := c.group.Do(key.String(), func() (any, error) {
		c.mu.Lock()
		res, ok := c.lookupLocked(key)
		c.mu.Unlock()
		if ok {
			return res, nil
		}
		res, err := c.render(fsys, dir, opts)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.addLocked(key, res)
		c.mu.Unlock()
		return res, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Result).DeepCopy(), nil
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

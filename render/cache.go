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

// DefaultCacheSize is the number of results a Cache keeps by default: one
// for each source path of a fleet of a few thousand Applications, and their
// next commits. A result reused for another commit (RenderContent) is
// shared between its keys, so keys of commits that changed little cost
// little memory.
const DefaultCacheSize = 4096

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
// not kept. Results are kept as JSON (see frozen) and each caller gets its
// own decoding of one, which it may modify.
//
// Through RenderContent it also keeps, for each source path, options and
// other inputs, the last result with its read set: every name the render
// opened, stat'ed, read or listed, found or not, and what each held. A
// render of another commit whose read set finds the same content is that
// result, without a render: a push to a monorepo renders only the
// Applications whose files it changed.
type Cache struct {
	size   int
	render func(context.Context, fs.FS, string, Options) (*Result, error)

	mu      sync.Mutex
	entries map[Key]*list.Element // of *cacheEntry
	lru     *list.List            // most recently used at the front
	flights map[Key]*flight       // renders in progress

	content      map[contentKey]*list.Element // of *contentEntry
	contentLRU   *list.List                   // most recently used at the front
	contentReads int                          // reads held by the entries
}

// cacheEntry is one cached result.
type cacheEntry struct {
	key Key
	res *frozen
}

// contentKey is what renders that may stand for each other share: the
// source path, the options hash and the caller's name for every other
// input (RenderContent's inputs).
type contentKey struct {
	path, optionsHash, inputs string
}

// contentEntry is the last result rendered under a contentKey, and what
// the render read.
type contentEntry struct {
	key   contentKey
	res   *frozen
	reads []read
}

// flight is a render in progress that callers of the same key wait for.
// It is cancelled when the last of them has stopped waiting.
type flight struct {
	done     chan struct{} // closed when res, err and rendered are set
	res      *frozen
	err      error
	rendered bool // res comes from a render, not from a read set that matched
	waiters  int  // guarded by Cache.mu
	claimed  bool // a caller was told of the render; guarded by Cache.mu
	cancel   context.CancelFunc
}

// NewCache returns an empty cache.
func NewCache(opts CacheOptions) *Cache {
	d := DefaultCacheOptions()
	if opts.Size <= 0 {
		opts.Size = d.Size
	}
	c := &Cache{
		size: opts.Size, entries: map[Key]*list.Element{}, lru: list.New(), flights: map[Key]*flight{},
		content: map[contentKey]*list.Element{}, contentLRU: list.New(),
	}
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
	out, err := res.thaw()
	return out, err == nil
}

// Forget drops the cached result of key, and the results RenderContent
// keeps for key's path and options whatever the inputs, so that the next
// Render or RenderContent renders again: a hard refresh asks for it.
func (c *Cache) Forget(key Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.lru.Remove(el)
		delete(c.entries, key)
	}
	for ck, el := range c.content {
		if ck.path == key.Path && ck.optionsHash == key.OptionsHash {
			c.removeContentLocked(el)
		}
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
	res, _, err := c.renderKey(ctx, NewKey(revision, dir, opts), nil, fsys, opts)
	return res, err
}

// RenderContent is RenderContext that may also reuse a render of another
// revision of the same source. inputs names everything the render depends
// on besides the files of fsys, dir and opts (the repository, the
// revisions of other trees mounted in fsys, say); it joins dir and the
// options hash in the identity of renders that may stand for each other.
//
// When fsys is an ObjectHashFS, the cache keeps the last result of each
// such identity with its read set, and a request for another revision first
// looks there: when every name the render read holds the same object in
// fsys (and every name it missed is still missing), the result is that
// render's, which the cache then keeps under revision too. A read set that
// cannot be kept (a render that read more than some thousands of names, or
// names whose hash fsys does not know, as under a mount of a tree that is
// not an ObjectHashFS) leaves the render keyed by revision alone, as it is
// when fsys is not an ObjectHashFS.
//
// fresh reports whether the result comes from a render that ran for this
// request rather than from the cache. Of callers that shared one render,
// one alone is told, so that counting fresh results counts renders.
func (c *Cache) RenderContent(ctx context.Context, revision, inputs string, fsys fs.FS, dir string, opts Options) (res *Result, fresh bool, err error) {
	key := NewKey(revision, dir, opts)
	return c.renderKey(ctx, key, &contentKey{path: key.Path, optionsHash: key.OptionsHash, inputs: inputs}, fsys, opts)
}

// renderKey renders key, reusing the result of a read set kept under ck
// when ck is set.
func (c *Cache) renderKey(ctx context.Context, key Key, ck *contentKey, fsys fs.FS, opts Options) (*Result, bool, error) {
	c.mu.Lock()
	if res, ok := c.lookupLocked(key); ok {
		c.mu.Unlock()
		res, err := res.thaw()
		return res, false, err
	}
	f, ok := c.flights[key]
	if !ok {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		c.flights[key] = f
		go c.fly(fctx, key, ck, f, fsys, opts)
	}
	f.waiters++
	c.mu.Unlock()

	select {
	case <-f.done:
		if f.err != nil {
			return nil, false, f.err
		}
		c.mu.Lock()
		fresh := f.rendered && !f.claimed
		f.claimed = true
		c.mu.Unlock()
		res, err := f.res.thaw()
		return res, fresh, err
	case <-ctx.Done():
		c.mu.Lock()
		if f.waiters--; f.waiters == 0 {
			f.cancel()
			if c.flights[key] == f {
				delete(c.flights, key) // a caller coming later starts afresh
			}
		}
		c.mu.Unlock()
		return nil, false, ctx.Err()
	}
}

// fly renders key for the callers waiting on f and caches a success. With
// ck set and an fsys that knows its hashes, it first tries the read set
// kept under ck, and keeps the read set of its own render there.
func (c *Cache) fly(ctx context.Context, key Key, ck *contentKey, f *flight, fsys fs.FS, opts Options) {
	defer f.cancel()
	hashes, _ := fsys.(ObjectHashFS)
	if ck == nil {
		hashes = nil
	}
	var res *frozen
	var err error
	var reads []read
	rendered := true
	if hashes == nil {
		res, err = freeze(c.render(ctx, fsys, key.Path, opts))
	} else if reused, ok := c.reuse(*ck, hashes); ok {
		res, rendered = reused, false
	} else {
		rec := newRecorder()
		res, err = freeze(c.render(ctx, rec.wrap(fsys), key.Path, opts))
		if err == nil {
			reads, _ = rec.readSet(hashes) // nil when it cannot be kept
		}
	}
	c.mu.Lock()
	if err == nil {
		c.addLocked(key, res)
		if reads != nil {
			c.addContentLocked(*ck, res, reads)
		}
	}
	if c.flights[key] == f {
		delete(c.flights, key)
	}
	f.res, f.err, f.rendered = res, err, rendered
	c.mu.Unlock()
	close(f.done)
}

// reuse returns the result kept under ck if its read set finds the same
// content in fsys.
func (c *Cache) reuse(ck contentKey, fsys ObjectHashFS) (*frozen, bool) {
	c.mu.Lock()
	el, ok := c.content[ck]
	if ok {
		c.contentLRU.MoveToFront(el)
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	e := el.Value.(*contentEntry) // not changed once made
	if !sameReads(fsys, e.reads) {
		return nil, false
	}
	return e.res, true
}

// Grow raises the number of results the cache keeps to n, if that is more
// than it keeps now. A least-recently-used cache smaller than the set of
// renders looked at in turn misses on every look, so the reconciler grows
// it with the number of sources it renders.
func (c *Cache) Grow(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.size = max(c.size, n)
}

// Len returns the number of cached results.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// lookupLocked returns the cached result (not a copy) and marks it used.
func (c *Cache) lookupLocked(key Key) (*frozen, bool) {
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cacheEntry).res, true
}

// addLocked caches res under key, dropping the least recently used entries
// beyond the size bound.
func (c *Cache) addLocked(key Key, res *frozen) {
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

// addContentLocked keeps res and its read set under ck, in place of what
// was there, dropping the least recently used read sets beyond the bounds.
func (c *Cache) addContentLocked(ck contentKey, res *frozen, reads []read) {
	if el, ok := c.content[ck]; ok {
		c.removeContentLocked(el)
	}
	c.content[ck] = c.contentLRU.PushFront(&contentEntry{key: ck, res: res, reads: reads})
	c.contentReads += len(reads)
	for c.contentLRU.Len() > c.size || c.contentReads > maxContentReads {
		c.removeContentLocked(c.contentLRU.Back())
	}
}

// removeContentLocked drops one read set.
func (c *Cache) removeContentLocked(el *list.Element) {
	e := el.Value.(*contentEntry)
	c.contentLRU.Remove(el)
	delete(c.content, e.key)
	c.contentReads -= len(e.reads)
}

package source

import (
	"container/list"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// treeCacheBytes bounds the decoded trees kept, across repositories, by
// the estimate of treeSize. The apps/ tree of a 5,000-application monorepo
// takes some 600 KiB, so this keeps the hot trees of dozens of such
// repositories (their root, apps/ and each application's folder).
const treeCacheBytes = 32 << 20

// trees keeps decoded trees for every Snapshot: go-git's object cache
// keeps objects encoded, so without it each lookup would decode every
// tree on its path again, and a file of a tree of thousands of entries
// would cost thousands of entries.
var trees = newTreeCache(treeCacheBytes)

// tree is a decoded git tree, read-only once made, with an index of its
// entries by name.
type tree struct {
	entries []object.TreeEntry
	byName  map[string]int // name → index in entries
	size    int            // estimated bytes held
}

// newTree indexes entries, which the tree takes.
func newTree(entries []object.TreeEntry) *tree {
	t := &tree{entries: entries, byName: make(map[string]int, len(entries)), size: 128}
	for i, e := range entries {
		t.byName[e.Name] = i
		// The entry (name, mode, hash) and its map slot, name shared.
		t.size += len(e.Name) + 96
	}
	return t
}

// find returns the entry named name.
func (t *tree) find(name string) (object.TreeEntry, bool) {
	i, ok := t.byName[name]
	if !ok {
		return object.TreeEntry{}, false
	}
	return t.entries[i], true
}

// treeKey names a tree of one repository. Trees are kept per repository
// directory, so that one repository's objects never answer for another's,
// and an evicted repository's trees just age out.
type treeKey struct {
	repo string
	hash plumbing.Hash
}

// treeCache is a least recently used set of decoded trees, bounded by
// their estimated size. Objects never change, so an entry never goes
// stale. It is safe for concurrent use.
type treeCache struct {
	max int

	mu    sync.Mutex
	bytes int
	byKey map[treeKey]*list.Element // of *treeCacheEntry
	lru   *list.List                // most recently used at the front
}

type treeCacheEntry struct {
	key  treeKey
	tree *tree
}

func newTreeCache(maxBytes int) *treeCache {
	return &treeCache{max: maxBytes, byKey: map[treeKey]*list.Element{}, lru: list.New()}
}

// get returns the tree k names, if it is kept.
func (c *treeCache) get(k treeKey) (*tree, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*treeCacheEntry).tree, true
}

// add keeps t as k, dropping the least recently used trees beyond the
// bound. A tree bigger than the whole bound is not kept.
func (c *treeCache) add(k treeKey, t *tree) {
	if t.size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[k]; ok {
		return
	}
	c.byKey[k] = c.lru.PushFront(&treeCacheEntry{key: k, tree: t})
	c.bytes += t.size
	for c.bytes > c.max {
		last := c.lru.Back()
		e := last.Value.(*treeCacheEntry)
		c.lru.Remove(last)
		delete(c.byKey, e.key)
		c.bytes -= e.tree.size
	}
}

// treeLocked returns the decoded tree h, from the tree cache when it is
// there. The caller holds r.storeMu.
func (s *Snapshot) treeLocked(h plumbing.Hash) (*tree, error) {
	k := treeKey{repo: s.r.dir, hash: h}
	if t, ok := trees.get(k); ok {
		return t, nil
	}
	decoded, err := object.GetTree(s.r.store, h)
	if err != nil {
		return nil, err
	}
	t := newTree(decoded.Entries)
	trees.add(k, t)
	return t, nil
}

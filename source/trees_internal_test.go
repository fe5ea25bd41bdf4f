package source

import (
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// testTree is a tree of n entries, each named by a letter, whose own hash
// is made from id.
func testTree(id string, n int) (treeKey, *tree) {
	entries := make([]object.TreeEntry, n)
	for i := range entries {
		entries[i] = object.TreeEntry{Name: strings.Repeat("x", i+1), Mode: filemode.Regular}
	}
	return treeKey{repo: "repo", hash: plumbing.ComputeHash(plumbing.TreeObject, []byte(id))}, newTree(entries)
}

func TestTreeFind(t *testing.T) {
	_, tr := testTree("t", 3)
	if e, ok := tr.find("xx"); !ok || e.Name != "xx" {
		t.Errorf("find(xx) = %v, %v", e, ok)
	}
	if _, ok := tr.find("y"); ok {
		t.Error("find(y) found an entry that is not there")
	}
}

func TestTreeCacheIsBoundedBySize(t *testing.T) {
	k1, t1 := testTree("one", 10)
	k2, t2 := testTree("two", 10)
	k3, t3 := testTree("three", 10)
	c := newTreeCache(t1.size + t2.size) // room for two
	c.add(k1, t1)
	c.add(k2, t2)
	if _, ok := c.get(k1); !ok { // k1 is now the most recently used
		t.Fatal("first tree not kept")
	}
	c.add(k3, t3)
	if _, ok := c.get(k2); ok {
		t.Error("the least recently used tree was kept past the bound")
	}
	for _, k := range []treeKey{k1, k3} {
		if _, ok := c.get(k); !ok {
			t.Errorf("tree %v dropped, want it kept", k.hash)
		}
	}
	if c.bytes > c.max {
		t.Errorf("cache holds %d bytes, over its bound of %d", c.bytes, c.max)
	}

	// A tree bigger than the whole cache is not kept, and drops nothing.
	kBig, big := testTree("big", 100)
	c.add(kBig, big)
	if _, ok := c.get(kBig); ok {
		t.Error("a tree bigger than the cache was kept")
	}
	if c.lru.Len() != 2 {
		t.Errorf("cache holds %d trees, want 2", c.lru.Len())
	}

	// The same hash in another repository is another tree.
	other := k1
	other.repo = "other"
	if _, ok := c.get(other); ok {
		t.Error("a tree of one repository answered for another's")
	}
}

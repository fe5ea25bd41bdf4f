package source

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// defaultMaxPacks is how many packs a cached repository may hold before
// they are merged into one. Every fetch adds a pack, and every object lookup
// and every re-index after a fetch costs time per pack.
const defaultMaxPacks = 64

// packWindow is the delta window used when merging packs, as git's default.
const packWindow = 10

// consolidatePacks merges r's packs into one when there are more than
// c.maxPacks. Unlike go-git's RepackObjects it keeps every object, not just
// those reachable from refs: a shallow cache holds commits that no ref
// reaches any more but that apps are still deployed at. The caller holds
// fetchSem; readers wait only while the old packs are deleted.
func (c *Cache) consolidatePacks(r *repository) error {
	ws := newStorage(r.dir, 0)
	defer ws.Close()
	packs, err := ws.ObjectPacks()
	if err != nil || len(packs) <= c.maxPacks {
		return err
	}
	all, err := ws.HashesWithPrefix(nil)
	if err != nil {
		return err
	}
	seen := make(map[plumbing.Hash]bool, len(all))
	objs := make([]plumbing.Hash, 0, len(all))
	for _, h := range all {
		if !seen[h] {
			seen[h] = true
			objs = append(objs, h)
		}
	}
	w, err := ws.PackfileWriter()
	if err != nil {
		return err
	}
	merged, err := packfile.NewEncoder(w, ws, false).Encode(objs, packWindow)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	r.storeMu.Lock()
	defer r.storeMu.Unlock()
	if err := r.deletePacksLocked(packs, merged); err != nil {
		return err
	}
	r.store.Reindex()
	c.log.Info("merged packs", "repo", r.key, "packs", len(packs), "objects", len(objs))
	return nil
}

// compaction says when compact runs for a repository that stays in use.
type compaction struct {
	// every is how often at most, and how long a commit no caller has
	// used is kept.
	every time.Duration
	// minSize: smaller object stores are left alone.
	minSize int64
	// growth: a store is compacted once it holds this many times the
	// bytes it held after the last compaction (or when first measured).
	growth int64
}

// defaultCompaction compacts a store of 16 MiB or more that doubled, at
// most hourly.
func defaultCompaction() compaction {
	return compaction{every: time.Hour, minSize: 16 << 20, growth: 2}
}

// compactDue reports whether r's object store should be compacted now. Only
// repositories whose server sends shallow packs qualify: compacting makes
// the cache shallow, and the next fetch must be able to say so.
func (c *Cache) compactDue(r *repository, now time.Time) bool {
	r.mu.Lock()
	shallowOK := r.listing != nil && r.listing.shallow
	since := now.Sub(r.compactedAt)
	baseline := r.compactedSize
	r.mu.Unlock()
	if baseline == 0 {
		r.mu.Lock()
		r.compactedSize = storeSize(r.dir) // first measure: the baseline
		r.mu.Unlock()
		return false
	}
	if !shallowOK || since < c.compaction.every {
		return false
	}
	size := storeSize(r.dir)
	return size >= c.compaction.minSize && size >= c.compaction.growth*baseline
}

// compact rewrites r's object store to hold only what callers still need:
// the commits resolved or read within the last compaction.every, and the
// trees and files of those commits, in one pack. Local refs that point
// elsewhere are deleted, every kept commit whose parents are gone becomes a
// shallow boundary, and the other packs and loose objects are deleted. The
// next fetch is then a shallow one that the server computes against the
// kept commits, and the commits in use cost no fetch at all.
//
// This is what bounds a cache that follows a busy branch for months: every
// fetch adds the new commit's objects, and one fetch of full history (a
// revision that was not a ref tip) adds everything. Unlike go-git's
// RepackObjects, which keeps what refs reach and needs full history to walk
// it, compact keeps what is in use. It takes r's fetch slot, so no fetch
// runs meanwhile; readers wait only while the old packs are deleted. A
// store with no commit in use is left alone.
func (c *Cache) compact(r *repository) error {
	now := c.clock.Now()
	commits := r.usedCommits(now.Add(-c.compaction.every))
	if len(commits) == 0 {
		return nil
	}
	select {
	case r.fetchSem <- struct{}{}:
	default:
		return nil // a fetch runs; try again next time
	}
	defer r.unlockFetch()
	before := storeSize(r.dir)

	ws := newStorage(r.dir, 0)
	defer ws.Close()
	keep, err := reachableFiles(ws, commits)
	if err != nil {
		return err
	}
	if err := pruneRefs(ws, commits, keep); err != nil {
		return err
	}
	var shallow []plumbing.Hash
	for h := range commits {
		co, err := object.GetCommit(ws, h)
		if err != nil {
			return err
		}
		for _, p := range co.ParentHashes {
			if !commits[p] {
				shallow = append(shallow, h)
				break
			}
		}
	}
	objs := make([]plumbing.Hash, 0, len(keep))
	for h := range keep {
		objs = append(objs, h)
	}
	old, err := ws.ObjectPacks()
	if err != nil {
		return err
	}
	var loose []plumbing.Hash
	if err := ws.ForEachObjectHash(func(h plumbing.Hash) error {
		loose = append(loose, h)
		return nil
	}); err != nil {
		return err
	}
	w, err := ws.PackfileWriter()
	if err != nil {
		return err
	}
	merged, err := packfile.NewEncoder(w, ws, false).Encode(objs, packWindow)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// The boundary is recorded before history goes, so that a crash in
	// between leaves a cache that is merely bigger than needed.
	if err := ws.SetShallow(shallow); err != nil {
		return err
	}

	r.storeMu.Lock()
	err = r.deletePacksLocked(old, merged)
	for _, h := range loose {
		if err != nil {
			break
		}
		err = ws.DeleteLooseObject(h)
	}
	r.store.Reindex()
	r.storeMu.Unlock()
	if err != nil {
		return err
	}

	after := storeSize(r.dir)
	r.mu.Lock()
	clear(r.objects) // memos of objects that may be gone
	clear(r.short)
	clear(r.commits)
	r.compactedAt, r.compactedSize = now, after
	r.mu.Unlock()
	c.log.Info("compacted repository cache", "repo", r.key, "commits", len(commits), "objects", len(objs),
		"bytes_before", before, "bytes_after", after)
	return nil
}

// reachableFiles returns commits with every tree and blob their root trees
// reach (submodule entries aside).
func reachableFiles(s *filesystem.Storage, commits map[plumbing.Hash]bool) (map[plumbing.Hash]bool, error) {
	keep := make(map[plumbing.Hash]bool, len(commits))
	var walk func(tree plumbing.Hash) error
	walk = func(tree plumbing.Hash) error {
		if keep[tree] {
			return nil
		}
		keep[tree] = true
		t, err := object.GetTree(s, tree)
		if err != nil {
			return fmt.Errorf("tree %s: %w", tree, err)
		}
		for _, e := range t.Entries {
			switch e.Mode {
			case filemode.Submodule:
			case filemode.Dir:
				if err := walk(e.Hash); err != nil {
					return err
				}
			default:
				keep[e.Hash] = true
			}
		}
		return nil
	}
	for h := range commits {
		co, err := object.GetCommit(s, h)
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", h, err)
		}
		keep[h] = true
		if err := walk(co.TreeHash); err != nil {
			return nil, err
		}
	}
	return keep, nil
}

// pruneRefs deletes the local refs that do not lead to one of commits, and
// adds to keep the annotated tag objects of those that do.
func pruneRefs(s *filesystem.Storage, commits, keep map[plumbing.Hash]bool) error {
	iter, err := s.IterReferences()
	if err != nil {
		return err
	}
	var drop []plumbing.ReferenceName
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() != plumbing.HashReference {
			return nil
		}
		var tags []plumbing.Hash
		h := ref.Hash()
		for range 16 {
			obj, err := s.EncodedObject(plumbing.AnyObject, h)
			if err != nil || obj.Type() != plumbing.TagObject {
				break
			}
			tag, err := object.DecodeTag(s, obj)
			if err != nil {
				break
			}
			tags = append(tags, h)
			h = tag.Target
		}
		if !commits[h] {
			drop = append(drop, ref.Name())
			return nil
		}
		for _, t := range tags {
			keep[t] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, name := range drop {
		if err := s.RemoveReference(name); err != nil {
			return err
		}
	}
	return nil
}

// storeSize returns the bytes below dir/objects.
func storeSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(filepath.Join(dir, "objects"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

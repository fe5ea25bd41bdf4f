package source

import (
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
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
	ws := newStorage(r.dir)
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
	for _, h := range packs {
		if h == merged {
			continue
		}
		if err := ws.DeleteOldObjectPackAndIndex(h, time.Time{}); err != nil {
			return err
		}
	}
	r.store.Reindex()
	c.log.Info("merged packs", "repo", r.key, "packs", len(packs), "objects", len(objs))
	return nil
}

package source

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// EvictionObserver is an Observer that also keeps something per
// repository (metric series, say) and wants to drop it when the cache of a
// repository is released. A Cache whose Options.Observer implements it
// calls RepositoryEvicted with the normalised URL of every repository
// Retain releases.
type EvictionObserver interface {
	Observer
	RepositoryEvicted(repo string)
}

// releasedPrefix names a repository directory that Retain took out of use
// and is deleting; one left behind by a crash is deleted by the next Retain.
const releasedPrefix = ".released-"

// Retain tells the cache which repositories are still needed (any spelling
// of their URLs), and releases what it holds for the others once no caller
// has used them for Options.IdleTimeout: the ref listing, the memoised
// lookups, the object cache and the bare repository on disk. Polling does
// not count as use. Directories below Options.Dir that belong to no
// repository (left by an earlier process) are deleted once the cache has
// existed for IdleTimeout. Repositories that stay have their object store
// compacted now and then (see compact). Retain returns the normalised URLs
// it released, sorted.
//
// The reconciler calls it periodically with the repositories of every
// Application. A later Resolve of a released repository starts afresh,
// with one listing and one fetch.
func (c *Cache) Retain(repoURLs []string) []string {
	now := c.clock.Now()
	keep := map[string]bool{}
	for _, u := range repoURLs {
		if key, err := c.key(u); err == nil {
			keep[key] = true
		}
	}

	type released struct {
		r     *repository
		trash string
	}
	var gone []released
	var stay []*repository
	c.mu.Lock()
	for key, r := range c.repos {
		if keep[key] || now.Sub(r.lastUsed) < c.opts.IdleTimeout {
			stay = append(stay, r)
			continue
		}
		select {
		case r.fetchSem <- struct{}{}:
		default:
			stay = append(stay, r) // a fetch runs: it is in use after all
			continue
		}
		// Renamed under c.mu, so that a caller who asks for the
		// repository from now on opens a fresh directory.
		trash := filepath.Join(c.opts.Dir, releasedPrefix+filepath.Base(r.dir))
		if err := os.Rename(r.dir, trash); err != nil && !os.IsNotExist(err) {
			c.log.Warn("releasing repository cache failed", "repo", key, "err", err)
			r.unlockFetch()
			stay = append(stay, r)
			continue
		}
		delete(c.repos, key)
		gone = append(gone, released{r: r, trash: trash})
	}
	for raw, key := range c.keys {
		if c.repos[key] == nil && !keep[key] {
			delete(c.keys, raw)
		}
	}
	orphans := c.orphansLocked(now, keep)
	c.mu.Unlock()

	keys := make([]string, 0, len(gone))
	for _, g := range gone {
		// fetchSem stays taken: a caller that still holds r (one that has
		// been running for IdleTimeout) cannot write into the deleted
		// directory.
		g.r.storeMu.Lock()
		_ = g.r.store.Close()
		g.r.storeMu.Unlock()
		if err := os.RemoveAll(g.trash); err != nil {
			c.log.Warn("deleting repository cache failed", "repo", g.r.key, "dir", g.trash, "err", err)
		}
		if o, ok := c.opts.Observer.(EvictionObserver); ok {
			o.RepositoryEvicted(g.r.key)
		}
		c.log.Info("released repository cache", "repo", g.r.key, "idle", now.Sub(g.r.lastUsed).Round(time.Second))
		keys = append(keys, g.r.key)
	}
	for _, dir := range orphans {
		if err := os.RemoveAll(dir); err != nil {
			c.log.Warn("deleting unused repository cache failed", "dir", dir, "err", err)
		} else {
			c.log.Info("deleted unused repository cache", "dir", dir)
		}
	}
	for _, r := range stay {
		r.forgetCommitsBefore(now.Add(-c.compaction.every))
		if c.compactDue(r, now) {
			if err := c.compact(r); err != nil {
				c.log.Warn("compacting repository cache failed", "repo", r.key, "err", err)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// orphansLocked returns the directories below Options.Dir to delete: those
// Retain renamed before a crash, and, once the cache has existed for
// IdleTimeout, repository directories no open or kept repository owns. The
// latter are renamed here, under c.mu, so that no caller opens them while
// they are deleted. The caller holds c.mu.
func (c *Cache) orphansLocked(now time.Time, keep map[string]bool) []string {
	entries, err := os.ReadDir(c.opts.Dir)
	if err != nil {
		return nil
	}
	owned := map[string]bool{}
	for key, r := range c.repos {
		owned[filepath.Base(r.dir)] = true
		owned[dirName(key)] = true
	}
	for key := range keep {
		owned[dirName(key)] = true
	}
	settled := now.Sub(c.created) >= c.opts.IdleTimeout
	var out []string
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(c.opts.Dir, name)
		switch {
		case !e.IsDir():
		case strings.HasPrefix(name, releasedPrefix):
			out = append(out, path)
		case settled && !owned[name] && isRepositoryDir(path, name):
			trash := filepath.Join(c.opts.Dir, releasedPrefix+name)
			if os.Rename(path, trash) == nil {
				out = append(out, trash)
			}
		}
	}
	return out
}

// isRepositoryDir reports whether path, named name, is one of the cache's
// bare repositories: 32 hex digits, holding a HEAD or config file.
func isRepositoryDir(path, name string) bool {
	if len(name) != 32 {
		return false
	}
	if _, err := hex.DecodeString(name); err != nil {
		return false
	}
	for _, f := range []string{"HEAD", "config"} {
		if _, err := os.Stat(filepath.Join(path, f)); err == nil {
			return true
		}
	}
	return false
}

// forgetCommitsBefore drops what r remembers about commits no caller has
// used since before, so that the memos stay as small as the set of commits
// in use.
func (r *repository) forgetCommitsBefore(before time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for h, at := range r.used {
		if at.Before(before) {
			delete(r.used, h)
		}
	}
	for h, commit := range r.objects {
		if _, ok := r.used[commit]; !ok {
			delete(r.objects, h)
		}
	}
	for prefix, commit := range r.short {
		if _, ok := r.used[commit]; !ok {
			delete(r.short, prefix)
		}
	}
	for commit := range r.commits {
		if _, ok := r.used[commit]; !ok {
			delete(r.commits, commit)
		}
	}
}

// usedCommits returns the commits a caller used since before.
func (r *repository) usedCommits(before time.Time) map[plumbing.Hash]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[plumbing.Hash]bool, len(r.used))
	for h, at := range r.used {
		if !at.Before(before) {
			out[h] = true
		}
	}
	return out
}

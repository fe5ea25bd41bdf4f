package helmrepo

import (
	"os"
	"path/filepath"
	"strings"
)

// Retain releases the repositories not in keys (Keys, or any spelling of
// the repositories' URLs) that no caller used for Options.IdleTimeout: their
// indexes, memos and watches leave memory. Archives on disk that no caller
// read or resolved for IdleTimeout, and that no watched resolution of a
// repository still held names, are deleted, as are files left half-written
// by an earlier process. The reconciler calls it periodically with the
// repositories of every Application.
func (c *Cache) Retain(keys []string) {
	now := c.clock.Now()
	keep := map[string]bool{}
	for _, k := range keys {
		if key, err := Key(k); err == nil {
			keep[key] = true
		}
	}
	inUse := map[string]bool{}
	c.mu.Lock()
	for id, r := range c.repos {
		if keep[r.key] || now.Sub(r.lastUsed) < c.opts.IdleTimeout {
			continue
		}
		delete(c.repos, id)
		c.log.Debug("released helm repository", "repo", r.key)
	}
	for _, r := range c.repos {
		r.mu.Lock()
		for _, w := range r.watched {
			inUse[w.digest] = true
		}
		r.mu.Unlock()
	}
	for d, at := range c.used {
		if now.Sub(at) < c.opts.IdleTimeout {
			inUse[d] = true
		} else if !inUse[d] {
			delete(c.used, d)
		}
	}
	settled := now.Sub(c.created) >= c.opts.IdleTimeout
	c.mu.Unlock()

	entries, err := os.ReadDir(c.opts.Dir)
	if err != nil {
		c.log.Warn("listing chart archives failed", "dir", c.opts.Dir, "err", err)
		return
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tempPrefix) {
			if settled {
				_ = os.Remove(filepath.Join(c.opts.Dir, name))
			}
			continue
		}
		digest, ok := digestOfFile(name)
		if !ok || inUse[digest] || !settled {
			continue
		}
		if strings.HasSuffix(name, linkSuffix) {
			// A manifest in use keeps its archive.
			if archive, ok := c.store.readLink(digest); ok && inUse[archive] {
				continue
			}
		}
		if err := os.Remove(filepath.Join(c.opts.Dir, name)); err != nil {
			c.log.Warn("deleting chart archive failed", "file", name, "err", err)
		}
	}
}

package source

import "time"

// SetMaxPacks lets tests merge packs early.
func SetMaxPacks(c *Cache, n int) { c.maxPacks = n }

// SetCompaction lets tests compact small stores on their own schedule.
func SetCompaction(c *Cache, every time.Duration, minSize int64) {
	c.compaction = compaction{every: every, minSize: minSize, growth: 2}
}

// CommitMemos returns how many commits Files remembers the tree of in
// the repository at url.
func CommitMemos(c *Cache, url string) int {
	r, err := c.repository(url)
	if err != nil {
		return -1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.commits)
}

package source

import "time"

// SetMaxPacks lets tests merge packs early.
func SetMaxPacks(c *Cache, n int) { c.maxPacks = n }

// SetCompaction lets tests compact small stores on their own schedule.
func SetCompaction(c *Cache, every time.Duration, minSize int64) {
	c.compaction = compaction{every: every, minSize: minSize, growth: 2}
}

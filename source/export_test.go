package source

// SetMaxPacks lets tests merge packs early.
func SetMaxPacks(c *Cache, n int) { c.maxPacks = n }

package admit

// Match reports whether s matches the glob pattern: "*" matches any run of
// characters, slashes included, "?" matches one character, and every other
// character matches itself. It runs in time linear in len(pattern)*len(s),
// whatever the pattern.
func Match(pattern, s string) bool {
	// Classic two-pointer wildcard matching with one backtrack point: on a
	// mismatch, the last "*" takes one more character.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

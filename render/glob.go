package render

import (
	"fmt"
	"path"
	"strings"
)

// pattern is one compiled include/exclude glob (see DirectoryOptions): the
// brace alternatives expanded, each split into path segments.
type pattern struct {
	source   string
	baseName bool       // no slash: match the base name at any depth
	alts     [][]string // segments of each alternative
}

// compilePatterns checks and compiles globs.
func compilePatterns(globs []string) ([]pattern, error) {
	var out []pattern
	for _, g := range globs {
		g = strings.TrimSuffix(strings.TrimPrefix(g, "./"), "/")
		if g == "" {
			continue
		}
		p := pattern{source: g, baseName: !strings.Contains(g, "/")}
		alts, err := expandBraces(g)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", g, err)
		}
		for _, a := range alts {
			segs := strings.Split(a, "/")
			for _, s := range segs {
				if s == "**" {
					continue
				}
				if _, err := path.Match(s, ""); err != nil {
					return nil, fmt.Errorf("pattern %q: %w", g, err)
				}
			}
			p.alts = append(p.alts, segs)
		}
		out = append(out, p)
	}
	return out, nil
}

// matchAny reports whether one of ps matches rel, a slash-separated file path.
func matchAny(ps []pattern, rel string) bool {
	for _, p := range ps {
		if p.match(rel) {
			return true
		}
	}
	return false
}

// match reports whether p matches rel or one of its parent directories.
func (p pattern) match(rel string) bool {
	segs := strings.Split(rel, "/")
	for _, alt := range p.alts {
		if p.baseName {
			for _, s := range segs {
				if ok, _ := path.Match(alt[0], s); ok {
					return true
				}
			}
			continue
		}
		for n := len(segs); n > 0; n-- {
			if matchSegments(alt, segs[:n]) {
				return true
			}
		}
	}
	return false
}

// matchSegments matches path segments against pattern segments, "**"
// standing for any number of segments. It fills a table of which pattern
// suffixes match which path suffixes, so that many "**" cost
// len(pat)*len(segs) steps rather than a search exponential in them.
func matchSegments(pat, segs []string) bool {
	// match[j] says whether pat[i:] matches segs[j:], for the i last done.
	match := make([]bool, len(segs)+1)
	match[len(segs)] = true // the empty pattern matches the empty path
	for i := len(pat) - 1; i >= 0; i-- {
		next := make([]bool, len(segs)+1)
		for j := len(segs); j >= 0; j-- {
			switch {
			case pat[i] == "**":
				next[j] = match[j] || (j < len(segs) && next[j+1])
			case j < len(segs):
				ok, _ := path.Match(pat[i], segs[j])
				next[j] = ok && match[j+1]
			}
		}
		match = next
	}
	return match[0]
}

// maxAlternatives bounds what one pattern's braces expand to:
// "{a,b}{a,b}…" doubles with each pair.
const maxAlternatives = 256

// expandBraces expands "{a,b}" alternatives, nested or repeated, into at
// most maxAlternatives patterns.
func expandBraces(s string) ([]string, error) {
	return expandBracesIn(s, maxAlternatives)
}

// expandBracesIn is expandBraces, failing beyond limit alternatives.
func expandBracesIn(s string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("braces expand to more than %d patterns", maxAlternatives)
	}
	open := strings.IndexByte(s, '{')
	if open < 0 {
		if strings.IndexByte(s, '}') >= 0 {
			return nil, fmt.Errorf("unmatched }")
		}
		return []string{s}, nil
	}
	depth, end := 0, -1
	var commas []int
	for i := open; i < len(s) && end < 0; i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				end = i
			}
		case ',':
			if depth == 1 {
				commas = append(commas, i)
			}
		}
	}
	if end < 0 {
		return nil, fmt.Errorf("unmatched {")
	}
	var out []string
	prev := open + 1
	for _, c := range append(commas, end) {
		rest, err := expandBracesIn(s[:open]+s[prev:c]+s[end+1:], limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, rest...)
		prev = c + 1
	}
	return out, nil
}

package intern

import "unique"

// maxValue is the longest string value Object shares: longer ones (images,
// messages, certificates) are seldom repeated.
const maxValue = 64

// String returns the shared copy of s.
func String(s string) string {
	return unique.Make(s).Value()
}

// Object replaces, in place, the keys of every map in the decoded JSON
// value v and its string values of up to maxValue bytes with their shared
// copies, and returns v.
func Object(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			// Assigning to an existing key stores the key given: the
			// map keeps the shared copy.
			t[String(k)] = Object(e)
		}
	case []any:
		for i, e := range t {
			t[i] = Object(e)
		}
	case string:
		if len(t) <= maxValue {
			return String(t)
		}
	}
	return v
}

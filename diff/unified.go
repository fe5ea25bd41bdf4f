package diff

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/app"
)

// contextLines is how many unchanged lines surround each change in a hunk.
const contextLines = 3

// maxEditDistance bounds the Myers search (its memory grows with the square
// of the distance); beyond it the changed middle is shown as one block.
const maxEditDistance = 1000

// unified renders the YAML of live against predicted (either may be nil) as
// a unified diff whose headers name the object. When either does not render
// as YAML (the YAML encoder refuses some control characters in strings, DEL
// for one), both are rendered as indented JSON instead, so that a
// difference always shows.
func unified(key app.ResourceKey, live, predicted *unstructured.Unstructured) string {
	a, errA := marshalYAML(live)
	b, errB := marshalYAML(predicted)
	if errA != nil || errB != nil {
		a, b = toJSON(live), toJSON(predicted)
	}
	return unifiedDiff("live "+key.String(), "desired "+key.String(), a, b, contextLines)
}

// toYAML renders obj with sorted keys; nil renders as nothing, and an
// object the YAML encoder refuses as a comment saying why.
func toYAML(obj *unstructured.Unstructured) string {
	s, err := marshalYAML(obj)
	if err != nil {
		return fmt.Sprintf("# cannot render as YAML: %v\n", err)
	}
	return s
}

// marshalYAML renders obj as YAML with sorted keys; nil renders as nothing.
func marshalYAML(obj *unstructured.Unstructured) (string, error) {
	if obj == nil {
		return "", nil
	}
	b, err := yaml.Marshal(obj.Object)
	return string(b), err
}

// toJSON renders obj as indented JSON with sorted keys, one line per field
// like YAML; nil renders as nothing.
func toJSON(obj *unstructured.Unstructured) string {
	if obj == nil {
		return ""
	}
	b, err := json.MarshalIndent(obj.Object, "", "  ")
	if err != nil {
		return fmt.Sprintf("# cannot render as JSON: %v\n", err)
	}
	return string(b) + "\n"
}

// opKind is what an edit does to a line.
type opKind int8

const (
	opEqual opKind = iota
	opDelete
	opInsert
)

// edit is one line of an edit script from a to b.
type edit struct {
	kind opKind
	line string
}

// unifiedDiff returns the unified diff of text a against text b with the
// given context, or "" when they are equal.
func unifiedDiff(fromName, toName, a, b string, context int) string {
	if a == b {
		return ""
	}
	edits := lineEdits(splitLines(a), splitLines(b))
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", fromName, toName)

	// aLine/bLine: 0-based line numbers at edits[i].
	aLine, bLine := make([]int, len(edits)+1), make([]int, len(edits)+1)
	for i, e := range edits {
		aLine[i+1], bLine[i+1] = aLine[i], bLine[i]
		if e.kind != opInsert {
			aLine[i+1]++
		}
		if e.kind != opDelete {
			bLine[i+1]++
		}
	}
	for i := 0; i < len(edits); {
		if edits[i].kind == opEqual {
			i++
			continue
		}
		// A hunk: from context lines before the first change to context
		// lines after the last change that is not separated from the next
		// by more than 2*context unchanged lines.
		start := max(i-context, 0)
		end := i
		for j := i + 1; j < len(edits); j++ {
			if edits[j].kind == opEqual {
				continue
			}
			if j-end-1 > 2*context {
				break
			}
			end = j
		}
		stop := min(end+1+context, len(edits))
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n",
			hunkRange(aLine[start], aLine[stop]-aLine[start]),
			hunkRange(bLine[start], bLine[stop]-bLine[start]))
		for _, e := range edits[start:stop] {
			sb.WriteByte(" -+"[e.kind])
			sb.WriteString(e.line)
			sb.WriteByte('\n')
		}
		i = stop
	}
	return sb.String()
}

// hunkRange formats a hunk header range the way diff -u does: 1-based start,
// the count omitted when 1, and the line before when the range is empty.
func hunkRange(start, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, count)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// lineEdits returns a shortest edit script from a to b (Myers' O(ND)
// algorithm), after taking off the common prefix and suffix.
func lineEdits(a, b []string) []edit {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	out := make([]edit, 0, len(a)+len(b))
	for _, l := range a[:pre] {
		out = append(out, edit{opEqual, l})
	}
	out = append(out, myers(a[pre:len(a)-suf], b[pre:len(b)-suf])...)
	for _, l := range a[len(a)-suf:] {
		out = append(out, edit{opEqual, l})
	}
	return out
}

// myers finds a shortest edit script from a to b; when it is longer than
// maxEditDistance it returns "delete all of a, insert all of b".
func myers(a, b []string) []edit {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return replaceAll(a, b)
	}
	limit := min(n+m, maxEditDistance)
	off := limit + 1
	v := make([]int, 2*limit+3)
	var trace [][]int // trace[d][k+d]: furthest x on diagonal k after d edits
	for d := 0; d <= limit; d++ {
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1] // down: insert
			} else {
				x = v[off+k-1] + 1 // right: delete
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= n && y >= m {
				trace = append(trace, append([]int(nil), v[off-d:off+d+1]...))
				return backtrack(a, b, trace)
			}
		}
		trace = append(trace, append([]int(nil), v[off-d:off+d+1]...))
	}
	return replaceAll(a, b)
}

// backtrack walks the Myers trace back from (len(a), len(b)) to (0, 0).
func backtrack(a, b []string, trace [][]int) []edit {
	x, y := len(a), len(b)
	var rev []edit
	for d := len(trace) - 1; d > 0; d-- {
		prev := trace[d-1] // indexed by k+(d-1)
		at := func(k int) int { return prev[k+d-1] }
		k := x - y
		var pk int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := at(pk)
		py := px - pk
		for x > px && y > py {
			rev = append(rev, edit{opEqual, a[x-1]})
			x, y = x-1, y-1
		}
		if pk == k+1 {
			rev = append(rev, edit{opInsert, b[py]})
		} else {
			rev = append(rev, edit{opDelete, a[px]})
		}
		x, y = px, py
	}
	for x > 0 && y > 0 {
		rev = append(rev, edit{opEqual, a[x-1]})
		x, y = x-1, y-1
	}
	out := make([]edit, len(rev))
	for i, e := range rev {
		out[len(rev)-1-i] = e
	}
	return out
}

func replaceAll(a, b []string) []edit {
	out := make([]edit, 0, len(a)+len(b))
	for _, l := range a {
		out = append(out, edit{opDelete, l})
	}
	for _, l := range b {
		out = append(out, edit{opInsert, l})
	}
	return out
}

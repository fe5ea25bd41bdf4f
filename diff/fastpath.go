package diff

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// provablyInSync reports whether a server-side apply of desired by manager
// would certainly leave live unchanged, so the dry run can be skipped. It is
// conservative: false means "ask the API server", not "out of sync".
//
// It holds when gyre's Apply entry in live's managedFields covers exactly the
// fields desired declares (no field gyre owns that it no longer declares,
// which the apply would remove; no declared field gyre does not own yet,
// whose list or map semantics would be unknown) and live holds every
// declared value. The managed-fields entry also tells how each declared list
// merges, so no schema is needed:
//
//   - a path the entry owns as a whole (a scalar, an atomic map or list) must
//     be equal in live, exactly;
//   - a map the entry owns field by field must hold each declared field;
//     other fields in live belong to someone else (or to defaulting);
//   - an associative list ("k:{...}") must hold each declared item, found by
//     its key fields, and in the declared relative order (apply keeps live's
//     order then); other items in live belong to someone else;
//   - a set list ("v:...") likewise, by value;
//   - anything else (positional "i:" lists, nulls, a status, an entry for
//     another apiVersion) is uncertain and refused.
func provablyInSync(desired, live *unstructured.Unstructured, manager string) bool {
	if desired.GetAPIVersion() != live.GetAPIVersion() || desired.GetKind() != live.GetKind() ||
		desired.GetName() != live.GetName() || desired.GetNamespace() != live.GetNamespace() {
		return false
	}
	if _, ok := desired.Object["status"]; ok {
		return false
	}
	owned, ok := appliedFields(live, manager, desired.GetAPIVersion())
	if !ok {
		return false
	}
	declared, ok := declaredFields(desired.Object)
	if !ok {
		return false
	}
	return covers(declared, live.Object, owned)
}

// declaredFields returns the top of obj as the API server tracks it in
// managedFields: without apiVersion, kind, metadata.name, metadata.namespace
// and a null metadata.creationTimestamp, and without metadata when nothing
// else is left in it. ok is false when obj declares another server-owned
// metadata field.
func declaredFields(obj map[string]any) (map[string]any, bool) {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "apiVersion" && k != "kind" && k != "metadata" {
			out[k] = v
		}
	}
	md, ok := obj["metadata"].(map[string]any)
	if !ok {
		return out, obj["metadata"] == nil
	}
	rest := make(map[string]any, len(md))
	for k, v := range md {
		switch k {
		case "name", "namespace":
		case "creationTimestamp":
			if v != nil {
				return nil, false
			}
		case "uid", "resourceVersion", "generation", "selfLink", "managedFields":
			return nil, false
		default:
			rest[k] = v
		}
	}
	if len(rest) > 0 {
		out["metadata"] = rest
	}
	return out, true
}

// covers reports whether live holds the declared value d and the owned
// fields n are exactly the fields d declares; see provablyInSync.
func covers(d, live any, n *fieldNode) bool {
	if d == nil {
		return false
	}
	if !n.hasChildren() {
		return equal(d, live)
	}
	switch dv := d.(type) {
	case map[string]any:
		return coversMap(dv, live, n)
	case []any:
		lv, ok := live.([]any)
		if !ok || len(n.fields) > 0 || len(n.indexed) > 0 {
			return false
		}
		switch {
		case len(n.keyed) > 0 && len(n.values) == 0:
			return coversKeyedList(dv, lv, n.keyed)
		case len(n.values) > 0 && len(n.keyed) == 0:
			return coversSetList(dv, lv, n.values)
		}
	}
	return false
}

func coversMap(d map[string]any, live any, n *fieldNode) bool {
	lv, ok := live.(map[string]any)
	if !ok || len(n.keyed)+len(n.values)+len(n.indexed) > 0 || len(n.fields) != len(d) {
		return false
	}
	for k, dc := range d {
		child, ok := n.fields[k]
		if !ok {
			return false
		}
		lc, ok := lv[k]
		if !ok || !covers(dc, lc, child) {
			return false
		}
	}
	return true
}

func coversKeyedList(d, live []any, keyed []keyedNode) bool {
	if len(keyed) != len(d) {
		return false
	}
	names, ok := keyNames(keyed)
	if !ok {
		return false
	}
	used := make([]bool, len(keyed))
	last := -1
	for _, item := range d {
		key, ok := itemKey(item, names)
		if !ok {
			return false
		}
		j := -1
		for i, k := range keyed {
			if !used[i] && equal(k.key, key) {
				j = i
				break
			}
		}
		if j < 0 {
			return false
		}
		used[j] = true
		li := uniqueIndex(live, func(l any) bool {
			lk, ok := itemKey(l, names)
			return ok && equal(lk, key)
		})
		if li <= last {
			return false
		}
		last = li
		if !covers(item, live[li], keyed[j].node) {
			return false
		}
	}
	return true
}

func coversSetList(d, live []any, values []valueNode) bool {
	if len(values) != len(d) {
		return false
	}
	used := make([]bool, len(values))
	last := -1
	for _, item := range d {
		if item == nil {
			return false
		}
		j := -1
		for i, v := range values {
			if !used[i] && equal(v.value, item) {
				j = i
				break
			}
		}
		if j < 0 || values[j].node.hasChildren() {
			return false
		}
		used[j] = true
		li := uniqueIndex(live, func(l any) bool { return equal(l, item) })
		if li <= last {
			return false
		}
		last = li
	}
	return true
}

// uniqueIndex returns the index of the one item of list that match accepts,
// or -1 when none or several do.
func uniqueIndex(list []any, match func(any) bool) int {
	found := -1
	for i, item := range list {
		if match(item) {
			if found >= 0 {
				return -1
			}
			found = i
		}
	}
	return found
}

package diff

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// fieldNode is one node of a decoded FieldsV1 set (the format of
// metadata.managedFields[].fieldsV1): the fields a manager owns below one
// path. A node without children owns its path as a whole (a scalar, an
// atomic map or list, or an empty map); member is also set by "." on a list
// item that is owned as well as some of its fields.
type fieldNode struct {
	member  bool
	fields  map[string]*fieldNode // "f:<name>": a map field
	keyed   []keyedNode           // "k:{...}": an associative list item, by key fields
	values  []valueNode           // "v:<json>": a set list item, by value
	indexed []indexNode           // "i:<n>": a list item, by position
}

type keyedNode struct {
	key  map[string]any
	node *fieldNode
}

type valueNode struct {
	value any
	node  *fieldNode
}

type indexNode struct {
	index int
	node  *fieldNode
}

func (n *fieldNode) hasChildren() bool {
	return len(n.fields)+len(n.keyed)+len(n.values)+len(n.indexed) > 0
}

// decodeFields decodes a FieldsV1 map as found in an unstructured object.
func decodeFields(m map[string]any) (*fieldNode, error) {
	n := &fieldNode{member: len(m) == 0}
	for k, v := range m {
		if k == "." {
			n.member = true
			continue
		}
		cm, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("fieldsV1 entry %q: not an object", k)
		}
		child, err := decodeFields(cm)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		prefix, rest, ok := strings.Cut(k, ":")
		if !ok {
			return nil, fmt.Errorf("fieldsV1 entry %q: no type prefix", k)
		}
		switch prefix {
		case "f":
			if n.fields == nil {
				n.fields = map[string]*fieldNode{}
			}
			n.fields[rest] = child
		case "k":
			key, err := decodeJSON(rest)
			if err != nil {
				return nil, fmt.Errorf("fieldsV1 entry %q: %w", k, err)
			}
			km, ok := key.(map[string]any)
			if !ok || len(km) == 0 {
				return nil, fmt.Errorf("fieldsV1 entry %q: key is not an object", k)
			}
			n.keyed = append(n.keyed, keyedNode{key: km, node: child})
		case "v":
			value, err := decodeJSON(rest)
			if err != nil {
				return nil, fmt.Errorf("fieldsV1 entry %q: %w", k, err)
			}
			n.values = append(n.values, valueNode{value: value, node: child})
		case "i":
			i, err := strconv.Atoi(rest)
			if err != nil || i < 0 {
				return nil, fmt.Errorf("fieldsV1 entry %q: bad index", k)
			}
			n.indexed = append(n.indexed, indexNode{index: i, node: child})
		default:
			return nil, fmt.Errorf("fieldsV1 entry %q: unknown type prefix", k)
		}
	}
	return n, nil
}

// decodeJSON decodes a key or value of a FieldsV1 entry. Numbers come out
// as float64, which equal compares by value with int64 (keys are ports and
// names, far from float64's 2^53 limit).
func decodeJSON(s string) (any, error) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// managedFieldsEntry is the part of a metadata.managedFields entry diff reads.
type managedFieldsEntry struct {
	manager, operation, apiVersion, subresource, fieldsType string
	fields                                                  map[string]any
}

// managedFieldsEntries reads obj's metadata.managedFields without converting
// them to typed values.
func managedFieldsEntries(obj *unstructured.Unstructured) []managedFieldsEntry {
	md, _ := obj.Object["metadata"].(map[string]any)
	list, _ := md["managedFields"].([]any) // read in place: NestedSlice would deep-copy
	var out []managedFieldsEntry
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		fields, _ := m["fieldsV1"].(map[string]any)
		out = append(out, managedFieldsEntry{
			manager:     str("manager"),
			operation:   str("operation"),
			apiVersion:  str("apiVersion"),
			subresource: str("subresource"),
			fieldsType:  str("fieldsType"),
			fields:      fields,
		})
	}
	return out
}

// appliedFields returns the fields manager owns in live through server-side
// apply to the main resource. ok is false unless there is exactly one such
// entry, for apiVersion, in the FieldsV1 format.
func appliedFields(live *unstructured.Unstructured, manager, apiVersion string) (n *fieldNode, ok bool) {
	var found *managedFieldsEntry
	entries := managedFieldsEntries(live)
	for i, e := range entries {
		if e.manager != manager || e.operation != "Apply" || e.subresource != "" {
			continue
		}
		if found != nil {
			return nil, false
		}
		found = &entries[i]
	}
	if found == nil || found.apiVersion != apiVersion || found.fieldsType != "FieldsV1" || found.fields == nil {
		return nil, false
	}
	n, err := decodeFields(found.fields)
	if err != nil {
		return nil, false
	}
	n.member = false // the root is the object, never owned as a whole
	return n, true
}

// keyDefault is the value the API server assumes for an associative-list key
// field an item omits. Only protocol has one in the built-in types (ports
// are keyed by port and protocol, and protocol defaults to TCP).
func keyDefault(field string) (any, bool) {
	if field == "protocol" {
		return "TCP", true
	}
	return nil, false
}

// itemKey returns the values of item's key fields names, filling in known
// defaults; ok is false when item is not a map or lacks a key field.
func itemKey(item any, names []string) (map[string]any, bool) {
	m, ok := item.(map[string]any)
	if !ok {
		return nil, false
	}
	key := make(map[string]any, len(names))
	for _, name := range names {
		v, ok := m[name]
		if !ok {
			if v, ok = keyDefault(name); !ok {
				return nil, false
			}
		}
		key[name] = v
	}
	return key, true
}

// keyNames returns the key field names of an associative list node; ok is
// false when its items disagree on them.
func keyNames(keyed []keyedNode) (names []string, ok bool) {
	for name := range keyed[0].key {
		names = append(names, name)
	}
	for _, k := range keyed[1:] {
		if len(k.key) != len(names) {
			return nil, false
		}
		for _, name := range names {
			if _, ok := k.key[name]; !ok {
				return nil, false
			}
		}
	}
	return names, true
}

// removeOwned deletes from v, in place where it can, everything n owns, and
// returns the new value of v (lists are rebuilt). A field owned as a whole
// (no children) goes entirely; a map field whose node also has "." keeps the
// map and loses only the owned children, since the map is shared with other
// managers (an Update manager that added annotations first owns "." of
// metadata.annotations, but not gyre's annotations in it). A list item owned
// with "." goes entirely, as structured-merge-diff removes a set's members:
// it exists because of that manager (an injected sidecar, say).
func removeOwned(v any, n *fieldNode) any {
	switch t := v.(type) {
	case map[string]any:
		for name, child := range n.fields {
			cv, ok := t[name]
			if !ok {
				continue
			}
			if !child.hasChildren() {
				delete(t, name)
				continue
			}
			t[name] = removeOwned(cv, child)
		}
		return t
	case []any:
		out := make([]any, 0, len(t))
		for i, item := range t {
			child := listItemNode(n, i, item)
			switch {
			case child == nil:
				out = append(out, item)
			case child.member:
				// owned as a whole: dropped
			default:
				out = append(out, removeOwned(item, child))
			}
		}
		return out
	}
	return v
}

// listItemNode finds the node of n that owns item, the i-th list item.
func listItemNode(n *fieldNode, i int, item any) *fieldNode {
	for _, ix := range n.indexed {
		if ix.index == i {
			return ix.node
		}
	}
	for _, vn := range n.values {
		if equal(vn.value, item) {
			return vn.node
		}
	}
	if len(n.keyed) == 0 {
		return nil
	}
	names, ok := keyNames(n.keyed)
	if !ok {
		return nil
	}
	key, ok := itemKey(item, names)
	if !ok {
		return nil
	}
	for _, k := range n.keyed {
		if equal(k.key, key) {
			return k.node
		}
	}
	return nil
}

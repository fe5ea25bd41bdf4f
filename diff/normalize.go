package diff

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// lastAppliedAnnotation is client-side apply's copy of the whole applied
// object; it may hold Secret data, so it never leaves normalize.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// serverOwnedMetadata lists the metadata fields the API server writes and
// that never take part in a comparison.
func serverOwnedMetadata() []string {
	return []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"}
}

// normalize returns a copy of obj without the fields the API server owns
// (see the package documentation), with every number an int64 or a float64.
// deletionTimestamp and deletionGracePeriodSeconds stay: they are
// informational and come out equal on both sides.
func normalize(obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	out := make(map[string]any, len(obj.Object))
	for k, v := range obj.Object {
		if k == "status" {
			continue
		}
		md, ok := v.(map[string]any)
		if k != "metadata" || !ok {
			c, err := copyValue(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = c
			continue
		}
		// Copy metadata without what is dropped: managedFields is often the
		// largest part of an object.
		m := make(map[string]any, len(md))
		for mk, mv := range md {
			if slices.Contains(serverOwnedMetadata(), mk) {
				continue
			}
			c, err := copyValue(mv)
			if err != nil {
				return nil, fmt.Errorf("metadata.%s: %w", mk, err)
			}
			m[mk] = c
		}
		if ann, ok := m["annotations"].(map[string]any); ok {
			delete(ann, lastAppliedAnnotation)
			if len(ann) == 0 {
				delete(m, "annotations")
			}
		}
		out[k] = m
	}
	return &unstructured.Unstructured{Object: out}, nil
}

// copyValue deep-copies a JSON-like value, turning every integer type and
// json.Number into int64 (or float64 when not integral) and float32 into
// float64, so objects decoded by different means compare and copy alike.
func copyValue(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			c, err := copyValue(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			c, err := copyValue(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = c
		}
		return out, nil
	case nil, string, bool, int64, float64:
		return t, nil
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i, nil
		}
		f, err := t.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %q: %w", t, err)
		}
		return f, nil
	}
	if n, ok := toNumber(v); ok {
		if n.isInt {
			return n.i, nil
		}
		return n.f, nil
	}
	return nil, fmt.Errorf("value of type %T is not JSON", v)
}

// number is a decoded JSON number: an integer or a float.
type number struct {
	isInt bool
	i     int64
	f     float64
}

// toNumber reads any Go number type; ok is false for anything else.
func toNumber(v any) (n number, ok bool) {
	switch t := v.(type) {
	case int64:
		return number{isInt: true, i: t}, true
	case int:
		return number{isInt: true, i: int64(t)}, true
	case int32:
		return number{isInt: true, i: int64(t)}, true
	case int16:
		return number{isInt: true, i: int64(t)}, true
	case int8:
		return number{isInt: true, i: int64(t)}, true
	case uint32:
		return number{isInt: true, i: int64(t)}, true
	case uint16:
		return number{isInt: true, i: int64(t)}, true
	case uint8:
		return number{isInt: true, i: int64(t)}, true
	case uint64:
		if t <= math.MaxInt64 {
			return number{isInt: true, i: int64(t)}, true
		}
		return number{f: float64(t)}, true
	case uint:
		if uint64(t) <= math.MaxInt64 {
			return number{isInt: true, i: int64(t)}, true
		}
		return number{f: float64(t)}, true
	case float64:
		return number{f: t}, true
	case float32:
		return number{f: float64(t)}, true
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return number{isInt: true, i: i}, true
		}
		f, err := t.Float64()
		return number{f: f}, err == nil
	}
	return number{}, false
}

// equals reports whether two numbers are the same value: 3 == 3.0, whatever
// decoded them.
func (n number) equals(m number) bool {
	switch {
	case n.isInt && m.isInt:
		return n.i == m.i
	case !n.isInt && !m.isInt:
		return n.f == m.f
	case n.isInt:
		return floatEqualsInt(m.f, n.i)
	default:
		return floatEqualsInt(n.f, m.i)
	}
}

func floatEqualsInt(f float64, i int64) bool {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return false
	}
	return int64(f) == i
}

// equal reports whether two JSON-like values are the same: maps with the
// same keys and equal values, lists of equal length and equal items in
// order, numbers by value (int64 3 equals float64 3.0). A key holding null
// differs from an absent key.
func equal(a, b any) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, ae := range av {
			be, ok := bv[k]
			if !ok || !equal(ae, be) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !equal(av[i], bv[i]) {
				return false
			}
		}
		return true
	case string:
		bv, ok := b.(string)
		return ok && av == bv
	case bool:
		bv, ok := b.(bool)
		return ok && av == bv
	case nil:
		return b == nil
	}
	an, ok := toNumber(a)
	if !ok {
		return false
	}
	bn, ok := toNumber(b)
	return ok && an.equals(bn)
}

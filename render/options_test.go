package render_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/render"
)

// TestOptionsHashCoversEveryField sets every field of Options, down to the
// fields of nested structs, slice elements and pointers, then changes each
// in turn and checks that the hash changes: a field left out of the hash
// would let the render cache serve a result rendered with other options. A
// new field fails here until Hash covers it.
func TestOptionsHashCoversEveryField(t *testing.T) {
	paths := leafPaths(reflect.TypeFor[render.Options](), nil)
	if len(paths) < 20 {
		t.Fatalf("found %d fields in Options, want at least 20: is the walk broken?", len(paths))
	}
	all := func() render.Options {
		var o render.Options
		for _, p := range paths {
			setLeaf(t, reflect.ValueOf(&o).Elem(), p, false)
		}
		return o
	}
	base := all().Hash()
	seen := map[string]string{base: "every field set"}
	for _, p := range paths {
		o := all()
		setLeaf(t, reflect.ValueOf(&o).Elem(), p, true)
		name := pathName(p)
		h := o.Hash()
		if other, ok := seen[h]; ok {
			t.Errorf("Options with %s changed hash like %s: Hash leaves it out", name, other)
		}
		seen[h] = name
	}
}

// step is one step of a path into Options: a struct field by index, or -1
// for a pointer's or slice's element.
type step struct {
	index int
	name  string
}

// leafPaths returns the paths to every settable leaf below t.
func leafPaths(t reflect.Type, prefix []step) [][]step {
	switch t.Kind() {
	case reflect.Pointer:
		return leafPaths(t.Elem(), append(prefix, step{-1, "*"}))
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return leafPaths(t.Elem(), append(prefix, step{-1, "[]"}))
		}
	case reflect.Struct:
		var out [][]step
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			p := append(append([]step(nil), prefix...), step{i, f.Name})
			out = append(out, leafPaths(f.Type, p)...)
		}
		return out
	}
	return [][]step{prefix}
}

// setLeaf allocates what the path goes through and gives its leaf a value
// that is neither the zero value nor a default; with other set, a second
// such value (for a bool, false).
func setLeaf(t *testing.T, v reflect.Value, path []step, other bool) {
	t.Helper()
	for _, s := range path {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		case reflect.Slice:
			if v.Len() == 0 {
				v.Set(reflect.MakeSlice(v.Type(), 1, 1))
			}
			v = v.Index(0)
		default:
			v = v.Field(s.index)
		}
	}
	s := map[bool]string{false: "x", true: "z"}[other]
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(!other)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(map[bool]int64{false: 7, true: 9}[other])
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			t.Fatalf("%s: cannot set a %s", pathName(path), v.Type())
		}
		v.Set(reflect.ValueOf([]string{s}))
	case reflect.Map:
		if v.Type() != reflect.TypeFor[map[string]string]() {
			t.Fatalf("%s: cannot set a %s", pathName(path), v.Type())
		}
		v.Set(reflect.ValueOf(map[string]string{"k": s}))
	default:
		t.Fatalf("%s: cannot set a %s", pathName(path), v.Type())
	}
}

// pathName spells a path the way Go spells the field, without the steps
// through pointers and slices.
func pathName(path []step) string {
	var b strings.Builder
	for _, s := range path {
		if s.index < 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.name)
	}
	return b.String()
}

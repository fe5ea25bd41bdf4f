package render

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// frozen is a result as the Cache keeps it: each object as its JSON. An
// unstructured object decoded into nested maps takes five to ten times the
// size of its JSON, and the cache holds two renders of every source; a
// caller decodes its own copy (thaw), which costs about what the deep copy
// it replaces did.
type frozen struct {
	typ     Type
	objects []frozenObject
}

// frozenObject is one object of a frozen result.
type frozenObject struct {
	raw    []byte
	origin Origin
}

// freeze encodes the result of a render, passing a render error on.
func freeze(res *Result, err error) (*frozen, error) {
	if err != nil {
		return nil, err
	}
	f := &frozen{typ: res.Type, objects: make([]frozenObject, len(res.Objects))}
	for i, o := range res.Objects {
		raw, err := json.Marshal(o.Obj.Object)
		if err != nil {
			return nil, fmt.Errorf("object %d from %s: %w", i, o.Origin.File, err)
		}
		f.objects[i] = frozenObject{raw: raw, origin: o.Origin}
	}
	return f, nil
}

// thaw decodes f into a result of the caller's own.
func (f *frozen) thaw() (*Result, error) {
	res := &Result{Type: f.typ, Objects: make([]Object, len(f.objects))}
	for i, o := range f.objects {
		var obj map[string]any
		// utiljson decodes integers as int64, as decoding a render does.
		if err := utiljson.Unmarshal(o.raw, &obj); err != nil {
			return nil, fmt.Errorf("object %d from %s: %w", i, o.origin.File, err)
		}
		res.Objects[i] = Object{Obj: &unstructured.Unstructured{Object: obj}, Origin: o.origin}
	}
	return res, nil
}

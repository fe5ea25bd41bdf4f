package sync

import (
	"reflect"
	"testing"

	"github.com/gyre-cd/gyre/app"
)

// TestRenderOptionsCarryEverySourceField sets each field of an
// Application's Helm, Kustomize and Directory options in turn and fails
// when the render options (their hash, the render cache key) stay the same:
// a field added to app.Source but not passed to render would otherwise be
// accepted and ignored.
func TestRenderOptionsCarryEverySourceField(t *testing.T) {
	blocks := map[string]func(*app.Source) reflect.Value{
		"helm": func(s *app.Source) reflect.Value { s.Helm = &app.HelmSource{}; return reflect.ValueOf(s.Helm).Elem() },
		"kustomize": func(s *app.Source) reflect.Value {
			s.Kustomize = &app.KustomizeSource{}
			return reflect.ValueOf(s.Kustomize).Elem()
		},
		"directory": func(s *app.Source) reflect.Value {
			s.Directory = &app.DirectorySource{}
			return reflect.ValueOf(s.Directory).Elem()
		},
	}
	a := &app.Application{}
	a.Name = "opts"
	for name, block := range blocks {
		var empty app.Source
		block(&empty)
		base := RenderOptions(a, empty, nil).Hash()
		fields := block(&app.Source{}).NumField()
		for i := range fields {
			var src app.Source
			v := block(&src)
			f := v.Field(i)
			fill(f)
			if RenderOptions(a, src, nil).Hash() == base {
				t.Errorf("%s.%s does not reach the render options", name, v.Type().Field(i).Name)
			}
		}
	}
}

// fill gives v a value other than its zero value.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x=y")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e)
		m.SetMapIndex(reflect.ValueOf("k"), e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i))
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem())
		v.Set(p)
	}
}

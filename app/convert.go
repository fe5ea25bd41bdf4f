package app

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// FromUnstructured converts an Application read through a dynamic client or
// an informer into the typed form. It fails when obj is not a
// gyre.dev Application or a field has the wrong type.
func FromUnstructured(obj *unstructured.Unstructured) (*Application, error) {
	if obj.GroupVersionKind().GroupKind() != GroupVersionKind().GroupKind() {
		return nil, fmt.Errorf("%s: not a %s/%s", KeyOf(obj), Group, ApplicationKind)
	}
	a := &Application{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, a); err != nil {
		return nil, fmt.Errorf("Application %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return a, nil
}

// ToUnstructured converts the Application for a dynamic client, with its
// apiVersion and kind set.
func (a *Application) ToUnstructured() (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(a)
	if err != nil {
		return nil, fmt.Errorf("Application %s/%s: %w", a.Namespace, a.Name, err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(GroupVersionKind())
	return u, nil
}

// Typed is the informer transform of the Applications watch that gyre's
// components share. It keeps each Application decoded, so that the loop,
// the notifications and the ApplicationSets read one typed copy instead of
// each decoding the watched map (which is also several times bigger), and
// drops metadata.managedFields, which repeat the status field by field and
// which nothing in gyre reads (a status write without them leaves the
// stored ones as they are). An object that does not decode is kept as it
// came, without managedFields, for FromObject to report its error.
// Applying it twice changes nothing.
func Typed(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	u.SetManagedFields(nil)
	a, err := FromUnstructured(u)
	if err != nil {
		return u, nil
	}
	return a, nil
}

// FromObject returns the Application an informer holds, kept typed (see
// Typed) or unstructured. The value may be the informer's own: callers
// must not modify it.
func FromObject(obj any) (*Application, error) {
	switch o := obj.(type) {
	case *Application:
		return o, nil
	case *unstructured.Unstructured:
		return FromUnstructured(o)
	}
	return nil, fmt.Errorf("not an Application: %T", obj)
}

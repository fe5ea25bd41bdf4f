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

// DropManagedFields is an informer transform for Applications: it drops
// metadata.managedFields, which repeat an Application's status field by
// field and which nothing in gyre reads. A status write without them
// leaves the stored ones as they are.
func DropManagedFields(obj any) (any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		u.SetManagedFields(nil)
	}
	return obj, nil
}

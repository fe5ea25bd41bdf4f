package app

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ResourceKey identifies one Kubernetes object independently of its API
// version. It is comparable and used as a map key throughout gyre.
// Group is empty for the core group and Namespace for cluster-scoped
// objects.
type ResourceKey struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// KeyOf returns the ResourceKey of obj.
func KeyOf(obj *unstructured.Unstructured) ResourceKey {
	gvk := obj.GroupVersionKind()
	return ResourceKey{Group: gvk.Group, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// GroupKind returns the key's group and kind.
func (k ResourceKey) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: k.Group, Kind: k.Kind}
}

// String renders the key the way gyre's messages start it:
// [group/]kind/[namespace/]name, the group only when it is not the core
// group and the namespace only for namespaced objects, e.g.
// "apps/Deployment/prod/api", "Service/prod/api" or "Namespace/prod".
func (k ResourceKey) String() string {
	gk := k.Kind
	if k.Group != "" {
		gk = k.Group + "/" + k.Kind
	}
	if k.Namespace == "" {
		return fmt.Sprintf("%s/%s", gk, k.Name)
	}
	return fmt.Sprintf("%s/%s/%s", gk, k.Namespace, k.Name)
}

package app

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The identity of the Application API.
const (
	// Group is the API group of gyre's own kinds.
	Group = "gyre.dev"
	// Version is the API version of the Application kind.
	Version = "v1alpha1"
	// ApplicationKind is the kind of an Application object.
	ApplicationKind = "Application"
	// ApplicationListKind is the kind of a list of Applications.
	ApplicationListKind = "ApplicationList"
	// ApplicationResource is the plural resource name: applications.gyre.dev.
	ApplicationResource = "applications"
)

// SchemeGroupVersion returns gyre.dev/v1alpha1. It is a function rather than
// a variable so that no caller can change it.
func SchemeGroupVersion() schema.GroupVersion {
	return schema.GroupVersion{Group: Group, Version: Version}
}

// GroupVersionKind returns the GroupVersionKind of an Application.
func GroupVersionKind() schema.GroupVersionKind {
	return SchemeGroupVersion().WithKind(ApplicationKind)
}

// GroupVersionResource returns the resource that dynamic clients and
// informers use to reach Applications.
func GroupVersionResource() schema.GroupVersionResource {
	return SchemeGroupVersion().WithResource(ApplicationResource)
}

// AddToScheme registers Application, Project and their lists in s, together with
// the meta/v1 types (ListOptions, Status…) a client needs for the group.
func AddToScheme(s *runtime.Scheme) error {
	gv := SchemeGroupVersion()
	s.AddKnownTypes(gv, &Application{}, &ApplicationList{}, &Project{}, &ProjectList{})
	metav1.AddToGroupVersion(s, gv)
	return nil
}

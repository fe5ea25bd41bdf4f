package diff

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Annotations that set compare options on an object, as a comma-separated
// list. The Argo CD name is read as an alias so manifests written for Argo CD
// keep working.
const (
	CompareOptionsAnnotation     = "gyre.dev/compare-options"
	ArgoCompareOptionsAnnotation = "argocd.argoproj.io/compare-options"
)

// CompareOption is one entry of the compare-options annotation.
type CompareOption string

// The compare options diff understands.
const (
	// IgnoreExtraneous: the object being extraneous (tracked, no longer in
	// git) does not make its Application OutOfSync.
	IgnoreExtraneous CompareOption = "IgnoreExtraneous"
)

// HasCompareOption reports whether obj's compare-options annotation (or its
// Argo CD alias) lists opt. Entries are trimmed and compared exactly.
func HasCompareOption(obj *unstructured.Unstructured, opt CompareOption) bool {
	if obj == nil {
		return false
	}
	ann := obj.GetAnnotations()
	for _, name := range []string{CompareOptionsAnnotation, ArgoCompareOptionsAnnotation} {
		for _, o := range strings.Split(ann[name], ",") {
			if CompareOption(strings.TrimSpace(o)) == opt {
				return true
			}
		}
	}
	return false
}

package health

import (
	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// namespaceHealth: Active is Healthy. A Namespace being deleted
// (Terminating, with a deletionTimestamp; Check brings it here rather than
// calling it pending deletion as it does other kinds) is Progressing while
// the namespace controller removes its content and waits for finalizers,
// and Degraded when the controller reports it cannot go on: an API group
// it cannot discover (an APIService whose backend is down is the usual
// cause), content it fails to delete, a group version it cannot parse.
// Such a namespace stays Terminating until a person fixes the cause.
func namespaceHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	phase, _, err := unstructured.NestedString(obj.Object, "status", "phase")
	if err != nil {
		return unreadable(err)
	}
	if phase != "Terminating" && obj.GetDeletionTimestamp() == nil {
		if phase == "Active" {
			return healthy(""), true
		}
		return progressing("waiting for the namespace to become active"), true
	}
	conds := conditions(obj)
	for _, t := range []string{"NamespaceDeletionDiscoveryFailure", "NamespaceDeletionContentFailure", "NamespaceDeletionGroupVersionParsingFailure"} {
		if c := findCondition(conds, t); c != nil && c.Status == "True" {
			return degraded(join("namespace deletion is blocked", c.text())), true
		}
	}
	for _, t := range []string{"NamespaceContentRemaining", "NamespaceFinalizersRemaining"} {
		if c := findCondition(conds, t); c != nil && c.Status == "True" {
			return progressing(join("namespace is terminating", c.text())), true
		}
	}
	return progressing("namespace is terminating"), true
}

package health

import (
	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// namespaceHealth: Active is Healthy; Terminating is Progressing (deletion
// takes a few seconds by upstream design).
func namespaceHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	phase, _, err := unstructured.NestedString(obj.Object, "status", "phase")
	if err != nil {
		return unreadable(err)
	}
	switch phase {
	case "Active":
		return healthy(""), true
	case "Terminating":
		return progressing("namespace is terminating"), true
	}
	return progressing("waiting for the namespace to become active"), true
}

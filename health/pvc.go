package health

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// pvcHealth: Bound is Healthy, Lost (the volume is gone) is Degraded,
// Pending is Progressing; a claim with WaitForFirstConsumer binding stays
// Pending until a pod uses it.
func pvcHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	phase, _, err := unstructured.NestedString(obj.Object, "status", "phase")
	if err != nil {
		return unreadable(err)
	}
	switch phase {
	case "Bound":
		return healthy("claim is bound"), true
	case "Lost":
		return degraded("claim lost its volume"), true
	case "Pending", "":
		return progressing("waiting for the claim to be bound"), true
	}
	return app.HealthState{Status: app.HealthUnknown, Message: fmt.Sprintf("claim phase %q", phase)}, true
}

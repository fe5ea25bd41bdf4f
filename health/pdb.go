package health

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// pdbHealth, as Argo CD judges a PodDisruptionBudget: Degraded while fewer
// pods are healthy than the budget requires, Healthy otherwise.
func pdbHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	observed, hasStatus := observedGeneration(obj)
	if !hasStatus {
		return progressing("waiting for the disruption controller to report"), true
	}
	if observed < generation(obj) {
		return notObserved(generation(obj), observed), true
	}
	current, _ := intField(obj.Object, "status", "currentHealthy")
	desired, _ := intField(obj.Object, "status", "desiredHealthy")
	if current < desired {
		return degraded(fmt.Sprintf("budget not met: %d healthy pods, %d required", current, desired)), true
	}
	allowed, _ := intField(obj.Object, "status", "disruptionsAllowed")
	return healthy(fmt.Sprintf("%d healthy pods, %d required, %d disruptions allowed", current, desired, allowed)), true
}

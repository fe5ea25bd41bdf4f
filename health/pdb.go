package health

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// pdbHealth judges a PodDisruptionBudget by what the disruption
// controller computed: Degraded when it could not compute the budget
// (DisruptionAllowed False, reason SyncFailed: a selector matching pods
// whose controller has no scale, say); Progressing while fewer pods are
// healthy than the budget requires, since that is the protected workload
// still starting or rolling out, and the workload has health of its own;
// Healthy otherwise, with how many disruptions are allowed.
func pdbHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	observed, hasStatus := observedGeneration(obj)
	if !hasStatus {
		return progressing("waiting for the disruption controller to report"), true
	}
	if observed < generation(obj) {
		return notObserved(generation(obj), observed), true
	}
	if c := findCondition(conditions(obj), "DisruptionAllowed"); c != nil && c.Status == "False" && c.Reason == "SyncFailed" {
		return degraded(join("cannot compute the budget", c.Message)), true
	}
	current, _ := intField(obj.Object, "status", "currentHealthy")
	desired, _ := intField(obj.Object, "status", "desiredHealthy")
	expected, _ := intField(obj.Object, "status", "expectedPods")
	if expected == 0 && desired > 0 {
		return progressing(fmt.Sprintf("budget not met: no pods match the selector, %d required", desired)), true
	}
	if current < desired {
		return progressing(fmt.Sprintf("budget not met: %d healthy pods, %d required", current, desired)), true
	}
	allowed, _ := intField(obj.Object, "status", "disruptionsAllowed")
	return healthy(fmt.Sprintf("%d healthy pods, %d required, %d disruptions allowed", current, desired, allowed)), true
}

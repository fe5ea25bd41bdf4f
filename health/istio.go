package health

import (
	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// istioHealth judges an Istio VirtualService, DestinationRule or Gateway
// (networking.istio.io). Istio writes their status only when istiod runs
// with status enabled (PILOT_ENABLE_STATUS with config distribution
// tracking); without a Reconciled condition the object has no health.
// With one, status.observedGeneration (an int-or-string) behind
// metadata.generation, or Reconciled not True (the configuration is still
// reaching the proxies, "61/122 complete"), is Progressing, and Reconciled
// True is Healthy. The PassedAnalysis condition and validationMessages are
// Istio's analysis, which it documents as informational: they do not
// count.
func istioHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	c := findCondition(conditions(obj), "Reconciled")
	if c == nil {
		return app.HealthState{}, false
	}
	if observed, ok := intOrStringField(obj.Object, "status", "observedGeneration"); ok && observed < generation(obj) {
		return notObserved(generation(obj), observed), true
	}
	if c.Status == "True" {
		return healthy(c.Message), true
	}
	return progressing(join("configuration is being distributed to the proxies", c.text())), true
}

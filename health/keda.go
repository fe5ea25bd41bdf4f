package health

import (
	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The annotations with which KEDA's users pause autoscaling: paused-replicas
// scales the target to that count and holds it there (ScaledObject),
// paused "true" stops scaling where it is (ScaledObject and ScaledJob).
const (
	kedaPausedReplicasAnnotation = "autoscaling.keda.sh/paused-replicas"
	kedaPausedAnnotation         = "autoscaling.keda.sh/paused"
)

// kedaHealth judges a KEDA ScaledObject or ScaledJob (keda.sh) by the
// conditions KEDA documents:
//
//   - a pause annotation, or the Paused condition True: Suspended;
//   - Ready False (a trigger KEDA cannot use, a missing scale target):
//     Degraded;
//   - Fallback True (the scaler is failing and KEDA holds the fallback
//     replica count instead): Degraded;
//   - Ready True: Healthy, whether the triggers are Active (scaling) or not
//     (idle, scaled to the minimum), which the message says;
//   - Ready Unknown or not set yet: Progressing.
func kedaHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	ann := obj.GetAnnotations()
	if n, ok := ann[kedaPausedReplicasAnnotation]; ok {
		return suspended("autoscaling is paused at " + n + " replicas"), true
	}
	conds := conditions(obj)
	if c := findCondition(conds, "Paused"); ann[kedaPausedAnnotation] == "true" || (c != nil && c.Status == "True") {
		return suspended("autoscaling is paused"), true
	}
	if observed, isStale := stale(obj); isStale {
		return notObserved(generation(obj), observed), true
	}
	ready := findCondition(conds, "Ready")
	if c := findCondition(conds, "Fallback"); c != nil && c.Status == "True" && (ready == nil || ready.Status != "False") {
		return degraded(join("scaler is failing, fallback replicas in use", c.text())), true
	}
	switch {
	case ready == nil:
		return progressing("waiting for KEDA to check the triggers"), true
	case ready.Status == "False":
		return degraded(join("Ready is False", ready.text())), true
	case ready.Status != "True":
		return progressing(join("Ready is "+firstNonEmpty(ready.Status, "Unknown"), ready.text())), true
	}
	if active := findCondition(conds, "Active"); active != nil {
		return healthy(active.text()), true
	}
	return healthy(ready.text()), true
}

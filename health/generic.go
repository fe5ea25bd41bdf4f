package health

import (
	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// genericHealth applies the common conventions to kinds without a rule of
// their own, custom resources mostly:
//
//   - status.observedGeneration behind metadata.generation: Progressing;
//   - a Stalled condition True (kstatus): Degraded;
//   - a Reconciling condition True (kstatus): Progressing;
//   - a Ready condition, else an Available one: True is Healthy, False is
//     Degraded, Unknown is Progressing, and a condition whose own
//     observedGeneration is behind is Progressing;
//   - none of these conditions: no health (ok false).
func genericHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	if observed, isStale := stale(obj); isStale {
		return notObserved(generation(obj), observed), true
	}
	conds := conditions(obj)
	if c := findCondition(conds, "Stalled"); c != nil && c.Status == "True" {
		return degraded(c.text()), true
	}
	if c := findCondition(conds, "Reconciling"); c != nil && c.Status == "True" {
		return progressing(c.text()), true
	}
	c := findCondition(conds, "Ready")
	if c == nil {
		c = findCondition(conds, "Available")
	}
	if c == nil {
		return app.HealthState{}, false
	}
	if c.ObservedGeneration != 0 && c.ObservedGeneration < generation(obj) {
		return notObserved(generation(obj), c.ObservedGeneration), true
	}
	switch c.Status {
	case "True":
		return healthy(c.Message), true
	case "False":
		return degraded(join(c.Type+" is False", c.text())), true
	}
	return progressing(join(c.Type+" is "+firstNonEmpty(c.Status, "Unknown"), c.text())), true
}

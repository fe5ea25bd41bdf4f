package health

import (
	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// crdHealth: a CustomResourceDefinition whose names clash with another's
// (NamesAccepted False) or whose schema is not structural is Degraded; one
// being deleted (Terminating) is Progressing; Established is Healthy, once
// the condition describes the current generation (when it says which).
// Established False (reason Installing while the API server serves the new
// names; NotAccepted comes with NamesAccepted False, above) or no
// conditions yet is Progressing.
func crdHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	conds := conditions(obj)
	if c := findCondition(conds, "Terminating"); c != nil && c.Status == "True" {
		return progressing(join("terminating", c.text())), true
	}
	if c := findCondition(conds, "NamesAccepted"); c != nil && c.Status == "False" {
		return degraded(join("names not accepted", c.text())), true
	}
	if c := findCondition(conds, "NonStructuralSchema"); c != nil && c.Status == "True" {
		return degraded(join("schema is not structural", c.text())), true
	}
	c := findCondition(conds, "Established")
	switch {
	case c != nil && c.Status == "True":
		if c.ObservedGeneration != 0 && c.ObservedGeneration < generation(obj) {
			return notObserved(generation(obj), c.ObservedGeneration), true
		}
		return healthy(c.Message), true
	case c != nil:
		return progressing(join("waiting for the definition to be established", c.text())), true
	}
	return progressing("waiting for the definition to be established"), true
}

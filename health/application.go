package health

import (
	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// applicationHealth judges a child Application (app of apps) by the health
// its own reconciler reports in status.health, once that status describes
// the child's current spec.
func applicationHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	if observed, isStale := stale(obj); isStale {
		return notObserved(generation(obj), observed), true
	}
	status, _, err := unstructured.NestedString(obj.Object, "status", "health", "status")
	if err != nil {
		return unreadable(err)
	}
	msg, _, _ := unstructured.NestedString(obj.Object, "status", "health", "message")
	if status == "" {
		return progressing("waiting for the application to be reconciled"), true
	}
	return app.HealthState{Status: app.HealthStatus(status), Message: msg}, true
}

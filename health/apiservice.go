package health

import (
	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// apiServiceHealth: an APIService is Healthy when its Available condition is
// True, and Progressing otherwise, as Argo CD judges it — the service behind
// it is often deployed by the same sync and comes up after it.
func apiServiceHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	c := findCondition(conditions(obj), "Available")
	switch {
	case c == nil:
		return progressing("waiting for the API service to become available"), true
	case c.Status == "True":
		return healthy(c.Message), true
	}
	return progressing(join("API service is not available", firstNonEmpty(joinReason(c), c.text()))), true
}

// joinReason renders "Reason: message", or "" when either is missing.
func joinReason(c *condition) string {
	if c.Reason == "" || c.Message == "" {
		return ""
	}
	return c.Reason + ": " + c.Message
}

package health

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// serviceHealth: a LoadBalancer Service is Progressing until the cloud (or
// the simulated nodes of `gyre up`) gives it an address; other Services are
// Healthy as soon as they exist.
func serviceHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	typ, _, err := unstructured.NestedString(obj.Object, "spec", "type")
	if err != nil {
		return unreadable(err)
	}
	if typ == "LoadBalancer" && !hasLoadBalancerIngress(obj) {
		return progressing("waiting for a load balancer address"), true
	}
	return healthy(""), true
}

// ingressHealth: an Ingress is Progressing until its controller publishes
// an address in status.loadBalancer.ingress. Without one, no controller
// has taken the Ingress on (a wrong ingressClassName, say), or the one that
// did does not publish status; the message names the class to check.
func ingressHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	if !hasLoadBalancerIngress(obj) {
		msg := "waiting for a load balancer address"
		if class, _, _ := unstructured.NestedString(obj.Object, "spec", "ingressClassName"); class != "" {
			msg += fmt.Sprintf(" from the controller of ingress class %q", class)
		}
		return progressing(msg), true
	}
	return healthy(""), true
}

func hasLoadBalancerIngress(obj *unstructured.Unstructured) bool {
	ingress, _, _ := unstructured.NestedSlice(obj.Object, "status", "loadBalancer", "ingress")
	return len(ingress) > 0
}

package health

import (
	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// nodePoolHealth judges a Karpenter NodePool (karpenter.sh) by its Ready
// condition, True once its NodeClass is ready and its requirements are
// valid (ValidationSucceeded, NodeClassReady).
func nodePoolHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	return karpenterReady(obj, "waiting for Karpenter to check the node pool")
}

// nodeClassHealth judges a Karpenter EC2NodeClass (karpenter.k8s.aws) by its
// Ready condition, True once its subnets, security groups, AMIs and
// instance profile have all been resolved.
func nodeClassHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	return karpenterReady(obj, "waiting for Karpenter to resolve the node class")
}

// karpenterReady judges an object by its Ready condition, which Karpenter
// makes the conjunction of the object's other conditions (all of them
// "good when True"); when it is False, the message is the first False one's
// rather than Ready's terse "SubnetsReady=False".
func karpenterReady(obj *unstructured.Unstructured, waiting string) (app.HealthState, bool) {
	st, ok := readyOrWaiting(obj, waiting)
	if st.Status != app.Degraded {
		return st, ok
	}
	for _, c := range conditions(obj) {
		if c.Type != "Ready" && c.Status == "False" {
			return degraded(join(c.Type+" is False", c.text())), true
		}
	}
	return st, ok
}

// nodeClaimSteps are the stages of a NodeClaim's life, in order, as
// Karpenter records them in conditions.
func nodeClaimSteps() []struct{ condition, waiting string } {
	return []struct{ condition, waiting string }{
		{"Launched", "waiting for the instance to launch"},
		{"Registered", "waiting for the node to register"},
		{"Initialized", "waiting for the node to initialize"},
	}
}

// nodeClaimHealth judges a Karpenter NodeClaim (karpenter.sh) by the stages
// of its life: Launched False (the cloud provider refused the instance) is
// Degraded; the first of Launched, Registered and Initialized not yet True
// is Progressing (Karpenter itself gives up on a node that never
// registers, and deletes the claim); after them Ready decides, True or not
// set being Healthy.
func nodeClaimHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	conds := conditions(obj)
	if c := findCondition(conds, "Launched"); c != nil && c.Status == "False" {
		return degraded(join("instance launch failed", c.text())), true
	}
	for _, step := range nodeClaimSteps() {
		c := findCondition(conds, step.condition)
		switch {
		case c == nil:
			return progressing(step.waiting), true
		case c.Status != "True":
			return progressing(join(step.waiting, c.text())), true
		}
	}
	node, _, _ := unstructured.NestedString(obj.Object, "status", "nodeName")
	ready := findCondition(conds, "Ready")
	switch {
	case ready == nil || ready.Status == "True":
		return healthy(join("node initialized", node)), true
	case ready.Status == "False":
		return degraded(join("Ready is False", ready.text())), true
	}
	return progressing(join("Ready is "+firstNonEmpty(ready.Status, "Unknown"), ready.text())), true
}

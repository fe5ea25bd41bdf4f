package health

import (
	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// rolloutHealth judges an Argo Rollouts Rollout (argoproj.io) by the phase
// its controller reports in status.phase, once status.observedGeneration —
// a string in Rollouts — has caught up with metadata.generation: Healthy,
// Progressing and Degraded (an aborted update, an invalid spec, a progress
// deadline passed) as reported; Paused, or spec.paused set, is Suspended:
// the rollout waits at a pause step or for someone to promote it.
func rolloutHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	if observed, ok := intOrStringField(obj.Object, "status", "observedGeneration"); ok && observed < generation(obj) {
		return notObserved(generation(obj), observed), true
	}
	phase, _, err := unstructured.NestedString(obj.Object, "status", "phase")
	if err != nil {
		return unreadable(err)
	}
	msg, _, _ := unstructured.NestedString(obj.Object, "status", "message")
	paused, _, _ := unstructured.NestedBool(obj.Object, "spec", "paused")
	switch {
	case phase == "Degraded":
		return degraded(join("rollout is degraded", msg)), true
	case paused || phase == "Paused":
		return suspended(join("rollout is paused", msg)), true
	case phase == "Healthy":
		return healthy(msg), true
	case phase == "Progressing":
		return progressing(join("rollout is progressing", msg)), true
	case phase == "":
		return progressing("waiting for the rollout controller to report a phase"), true
	}
	return app.HealthState{Status: app.HealthUnknown, Message: join("unknown rollout phase "+phase, msg)}, true
}

package health

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// pvcHealth: Bound is Healthy, Lost (the volume is gone) is Degraded,
// Pending is Progressing; a claim with WaitForFirstConsumer binding stays
// Pending until a pod uses it. A bound claim being resized or modified
// (Resizing, FileSystemResizePending, ModifyingVolume) is Progressing, and
// one whose resize or modification failed (ControllerResizeError,
// NodeResizeError, ModifyVolumeError) is Degraded.
func pvcHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	phase, _, err := unstructured.NestedString(obj.Object, "status", "phase")
	if err != nil {
		return unreadable(err)
	}
	switch phase {
	case "Bound":
		conds := conditions(obj)
		for _, t := range []string{"ControllerResizeError", "NodeResizeError", "ModifyVolumeError"} {
			if c := findCondition(conds, t); c != nil && c.Status == "True" {
				return degraded(join(t, c.text())), true
			}
		}
		for _, t := range []string{"Resizing", "FileSystemResizePending", "ModifyingVolume"} {
			if c := findCondition(conds, t); c != nil && c.Status == "True" {
				return progressing(join("claim is bound; "+t, c.text())), true
			}
		}
		return healthy("claim is bound"), true
	case "Lost":
		return degraded("claim lost its volume"), true
	case "Pending", "":
		return progressing("waiting for the claim to be bound"), true
	}
	return app.HealthState{Status: app.HealthUnknown, Message: fmt.Sprintf("claim phase %q", phase)}, true
}

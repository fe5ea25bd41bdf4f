package health

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// deploymentHealth follows `kubectl rollout status`: the rollout must be
// observed, every replica updated, the old ones gone and the new ones
// available. A paused Deployment is Suspended, whatever its controller has
// observed, since no rollout proceeds until it is resumed; one past its
// progress deadline, or unable to create pods, is Degraded.
func deploymentHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	d, err := fromUnstructured[appsv1.Deployment](obj)
	if err != nil {
		return unreadable(err)
	}
	if d.Spec.Paused {
		return suspended("deployment is paused"), true
	}
	if d.Generation > d.Status.ObservedGeneration {
		return notObserved(d.Generation, d.Status.ObservedGeneration), true
	}
	for _, c := range d.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded":
			return degraded(join("progress deadline exceeded", c.Message)), true
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			return degraded(join("cannot create pods", firstNonEmpty(c.Message, c.Reason))), true
		}
	}
	want := replicas(d.Spec.Replicas)
	s := d.Status
	switch {
	case s.UpdatedReplicas < want:
		return progressing(fmt.Sprintf("waiting for rollout to finish: %d of %d new replicas have been updated", s.UpdatedReplicas, want)), true
	case s.Replicas > s.UpdatedReplicas:
		return progressing(fmt.Sprintf("waiting for rollout to finish: %d old replicas are pending termination", s.Replicas-s.UpdatedReplicas)), true
	case s.AvailableReplicas < s.UpdatedReplicas:
		return progressing(fmt.Sprintf("waiting for rollout to finish: %d of %d updated replicas are available", s.AvailableReplicas, s.UpdatedReplicas)), true
	}
	if want == 0 {
		return healthy("scaled to zero replicas"), true
	}
	return healthy(fmt.Sprintf("%d of %d replicas available", s.AvailableReplicas, want)), true
}

// replicas returns a workload's spec.replicas, which the API server
// defaults to 1.
func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

package health

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// replicaSetHealth: Degraded when pods cannot be created (ReplicaFailure),
// Progressing until every desired replica is available.
func replicaSetHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	rs, err := fromUnstructured[appsv1.ReplicaSet](obj)
	if err != nil {
		return unreadable(err)
	}
	if rs.Generation > rs.Status.ObservedGeneration {
		return notObserved(rs.Generation, rs.Status.ObservedGeneration), true
	}
	for _, c := range rs.Status.Conditions {
		if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
			return degraded(join("cannot create pods", firstNonEmpty(c.Message, c.Reason))), true
		}
	}
	want := replicas(rs.Spec.Replicas)
	if rs.Status.AvailableReplicas < want {
		return progressing(fmt.Sprintf("waiting for rollout to finish: %d of %d replicas are available", rs.Status.AvailableReplicas, want)), true
	}
	return healthy(fmt.Sprintf("%d of %d replicas available", rs.Status.AvailableReplicas, want)), true
}

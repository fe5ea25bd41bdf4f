package health

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// statefulSetHealth follows `kubectl rollout status`: every replica ready,
// then the rolling update complete (currentRevision caught up with
// updateRevision). With a partition only the pods at or above it must be
// updated; with the OnDelete strategy pods change only when deleted, so
// readiness is all that is asked.
func statefulSetHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	sts, err := fromUnstructured[appsv1.StatefulSet](obj)
	if err != nil {
		return unreadable(err)
	}
	s := sts.Status
	if s.ObservedGeneration == 0 || sts.Generation > s.ObservedGeneration {
		return notObserved(sts.Generation, s.ObservedGeneration), true
	}
	want := replicas(sts.Spec.Replicas)
	if s.ReadyReplicas < want {
		return progressing(fmt.Sprintf("waiting for %d of %d pods to be ready", want-s.ReadyReplicas, want)), true
	}
	strategy := sts.Spec.UpdateStrategy
	if strategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return healthy(fmt.Sprintf("%d pods ready; update strategy OnDelete updates a pod only when it is deleted", s.ReadyReplicas)), true
	}
	if ru := strategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		if updated := want - *ru.Partition; s.UpdatedReplicas < updated {
			return progressing(fmt.Sprintf("waiting for partitioned roll out to finish: %d of %d new pods have been updated", s.UpdatedReplicas, updated)), true
		}
		return healthy(fmt.Sprintf("partitioned roll out complete: %d new pods have been updated", s.UpdatedReplicas)), true
	}
	if s.UpdateRevision != s.CurrentRevision {
		return progressing(fmt.Sprintf("waiting for rolling update to complete: %d pods at revision %s", s.UpdatedReplicas, s.UpdateRevision)), true
	}
	return healthy(fmt.Sprintf("rolling update complete: %d pods at revision %s", s.CurrentReplicas, s.CurrentRevision)), true
}

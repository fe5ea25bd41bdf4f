package health

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// statefulSetHealth follows `kubectl rollout status`, checked against what
// the StatefulSet controller writes: every replica ready (available, when
// spec.minReadySeconds asks pods to stay ready a while), no surplus pods
// left from a scale-down, then the update finished for the strategy in use.
//
//   - RollingUpdate with a partition above zero: the pods at or above the
//     partition ordinal, replicas - partition of them, are at the update
//     revision. The controller never moves currentRevision while a
//     partition holds pods back, so the revisions cannot be compared.
//   - RollingUpdate without a partition, and Recreate: currentRevision has
//     caught up with updateRevision, which the controller does only once
//     every replica is updated and ready.
//   - OnDelete: pods change only when someone deletes them, so pods at an
//     older revision are the operator's choice, not a rollout in progress;
//     readiness is all that is asked.
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
	if sts.Spec.MinReadySeconds > 0 && s.AvailableReplicas < want {
		return progressing(fmt.Sprintf("waiting for %d of %d pods to be available (ready for %ds)", want-s.AvailableReplicas, want, sts.Spec.MinReadySeconds)), true
	}
	if s.Replicas > want {
		return progressing(fmt.Sprintf("waiting for scale-down to finish: %d pods pending termination", s.Replicas-want)), true
	}
	strategy := sts.Spec.UpdateStrategy
	if strategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return healthy(fmt.Sprintf("%d pods ready, %d at the update revision; update strategy OnDelete updates a pod only when it is deleted", s.ReadyReplicas, s.UpdatedReplicas)), true
	}
	if ru := strategy.RollingUpdate; strategy.Type != appsv1.RecreateStatefulSetStrategyType && ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		updated := max(want-*ru.Partition, 0)
		if s.UpdatedReplicas < updated {
			return progressing(fmt.Sprintf("waiting for partitioned roll out to finish: %d of %d new pods have been updated", s.UpdatedReplicas, updated)), true
		}
		return healthy(fmt.Sprintf("partitioned roll out complete: %d new pods have been updated, %d held back by partition %d", s.UpdatedReplicas, want-updated, *ru.Partition)), true
	}
	if s.UpdateRevision != s.CurrentRevision {
		return progressing(fmt.Sprintf("waiting for rolling update to complete: %d of %d pods at revision %s", s.UpdatedReplicas, want, s.UpdateRevision)), true
	}
	return healthy(fmt.Sprintf("rolling update complete: %d pods at revision %s", s.CurrentReplicas, s.CurrentRevision)), true
}

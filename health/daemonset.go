package health

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// daemonSetHealth follows `kubectl rollout status`, with the counts the
// DaemonSet controller keeps per eligible node: a pod on every node, every
// one updated, ready and available (numberUnavailable is desired minus
// available, so it says nothing more). With the OnDelete strategy pods change
// only when deleted, so pods at an older revision are the operator's
// choice, and only readiness and availability are asked.
func daemonSetHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	ds, err := fromUnstructured[appsv1.DaemonSet](obj)
	if err != nil {
		return unreadable(err)
	}
	s := ds.Status
	if ds.Generation > s.ObservedGeneration {
		return notObserved(ds.Generation, s.ObservedGeneration), true
	}
	desired := s.DesiredNumberScheduled
	onDelete := ds.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType
	switch {
	case s.CurrentNumberScheduled < desired:
		return progressing(fmt.Sprintf("waiting for pods to be scheduled: %d of %d nodes run a pod", s.CurrentNumberScheduled, desired)), true
	case !onDelete && s.UpdatedNumberScheduled < desired:
		return progressing(fmt.Sprintf("waiting for rollout to finish: %d of %d new pods have been updated", s.UpdatedNumberScheduled, desired)), true
	case s.NumberReady < desired:
		return progressing(fmt.Sprintf("waiting for rollout to finish: %d of %d pods are ready", s.NumberReady, desired)), true
	case s.NumberAvailable < desired:
		return progressing(fmt.Sprintf("waiting for rollout to finish: %d of %d pods are available", s.NumberAvailable, desired)), true
	case desired == 0:
		return healthy("no node is eligible to run a pod"), true
	case onDelete:
		return healthy(fmt.Sprintf("%d of %d pods available, %d updated; update strategy OnDelete updates a pod only when it is deleted",
			s.NumberAvailable, desired, s.UpdatedNumberScheduled)), true
	}
	return healthy(fmt.Sprintf("%d of %d pods available", s.NumberAvailable, desired)), true
}

package health

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// daemonSetHealth follows `kubectl rollout status`: every scheduled pod
// updated and available. With the OnDelete strategy pods change only when
// deleted, so availability is all that is asked.
func daemonSetHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	ds, err := fromUnstructured[appsv1.DaemonSet](obj)
	if err != nil {
		return unreadable(err)
	}
	s := ds.Status
	if ds.Generation > s.ObservedGeneration {
		return notObserved(ds.Generation, s.ObservedGeneration), true
	}
	onDelete := ds.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType
	if !onDelete && s.UpdatedNumberScheduled < s.DesiredNumberScheduled {
		return progressing(fmt.Sprintf("waiting for rollout to finish: %d of %d new pods have been updated", s.UpdatedNumberScheduled, s.DesiredNumberScheduled)), true
	}
	if s.NumberAvailable < s.DesiredNumberScheduled {
		return progressing(fmt.Sprintf("waiting for rollout to finish: %d of %d pods are available", s.NumberAvailable, s.DesiredNumberScheduled)), true
	}
	if onDelete {
		return healthy(fmt.Sprintf("%d of %d pods available, %d updated; update strategy OnDelete updates a pod only when it is deleted",
			s.NumberAvailable, s.DesiredNumberScheduled, s.UpdatedNumberScheduled)), true
	}
	return healthy(fmt.Sprintf("%d of %d pods available", s.NumberAvailable, s.DesiredNumberScheduled)), true
}

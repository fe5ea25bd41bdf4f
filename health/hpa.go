package health

import (
	"encoding/json"
	"strings"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// hpaHealth reads the autoscaler's conditions (autoscaling/v2): AbleToScale
// or ScalingActive False for a failure (FailedGetScale, FailedGetResourceMetric,
// InvalidSelector…) is Degraded; ScalingActive False because the target is
// scaled to zero (ScalingDisabled) is Suspended; AbleToScale True is
// Healthy; no conditions yet is Progressing.
func hpaHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	if observed, isStale := stale(obj); isStale {
		return notObserved(generation(obj), observed), true
	}
	conds := conditions(obj)
	if len(conds) == 0 {
		conds = v1Conditions(obj)
	}
	for _, t := range []string{"AbleToScale", "ScalingActive"} {
		c := findCondition(conds, t)
		if c == nil || c.Status != "False" {
			continue
		}
		if c.Reason == "ScalingDisabled" {
			return suspended(c.text()), true
		}
		if strings.HasPrefix(c.Reason, "Failed") || strings.HasPrefix(c.Reason, "Invalid") {
			return degraded(c.text()), true
		}
	}
	if c := findCondition(conds, "AbleToScale"); c != nil && c.Status == "True" {
		return healthy(c.Message), true
	}
	return progressing("waiting for the autoscaler to report"), true
}

// v1Conditions reads the conditions an autoscaling/v1 HorizontalPodAutoscaler
// carries in an annotation, for a caller that read it at v1.
func v1Conditions(obj *unstructured.Unstructured) []condition {
	raw := obj.GetAnnotations()["autoscaling.alpha.kubernetes.io/conditions"]
	if raw == "" {
		return nil
	}
	var conds []condition
	if err := json.Unmarshal([]byte(raw), &conds); err != nil {
		return nil
	}
	return conds
}

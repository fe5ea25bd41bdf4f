package health

import (
	"encoding/json"
	"strings"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// hpaHealth reads the autoscaler's conditions (autoscaling/v2, or the
// annotation autoscaling/v1 keeps them in). AbleToScale or ScalingActive
// False is Degraded (the target's scale cannot be read or updated, the
// selector is invalid or ambiguous, a metric cannot be read), except:
//
//   - ScalingActive False because the target is scaled to zero
//     (ScalingDisabled): Suspended;
//   - a metric that cannot be read because there is no sample yet (new pods
//     not ready, a metrics pipeline that has not scraped them): Progressing,
//     since the controller reports this for the first minute of every new
//     workload. Metrics that cannot be read for any other reason (no
//     metrics API, a container without a resource request) stay Degraded.
//
// AbleToScale True is then Healthy, and no conditions yet is Progressing.
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
		switch {
		case c == nil || c.Status != "False":
		case c.Reason == "ScalingDisabled":
			return suspended(c.text()), true
		case metricNotYetAvailable(c):
			return progressing(join("waiting for metrics", c.text())), true
		default:
			return degraded(c.text()), true
		}
	}
	if c := findCondition(conds, "AbleToScale"); c != nil && c.Status == "True" {
		return healthy(c.Message), true
	}
	return progressing("waiting for the autoscaler to report"), true
}

// metricNotYetAvailable reports whether c says a metric could not be read
// only because no sample exists yet, in the words of the autoscaler's
// replica calculator and metrics client. An unknown wording counts as a
// failure, so that a change upstream errs towards Degraded.
func metricNotYetAvailable(c *condition) bool {
	if !strings.HasPrefix(c.Reason, "FailedGet") || !strings.HasSuffix(c.Reason, "Metric") {
		return false
	}
	for _, s := range []string{
		"did not receive metrics for targeted pods",
		"no metrics returned from",
		"no metrics returned matched known pods",
		"no pods returned by selector",
	} {
		if strings.Contains(c.Message, s) {
			return true
		}
	}
	return false
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

package health

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// jobHealth: Complete (or SuccessCriteriaMet, a success policy met while
// the last pods finish) is Healthy; Failed, or FailureTarget, the Job being
// failed (backoffLimit reached, deadline exceeded, a pod failure policy),
// is Degraded; a Job whose spec.suspend is true is Suspended; anything else
// is still running: Progressing. spec.suspend decides rather than the
// Suspended condition, which lags behind it both ways.
func jobHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	job, err := fromUnstructured[batchv1.Job](obj)
	if err != nil {
		return unreadable(err)
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobFailed, batchv1.JobFailureTarget:
			return degraded(join("job failed", firstNonEmpty(c.Message, c.Reason))), true
		}
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete, batchv1.JobSuccessCriteriaMet:
			return healthy(join("job completed", c.Message)), true
		}
	}
	if job.Spec.Suspend != nil && *job.Spec.Suspend {
		return suspended("job is suspended"), true
	}
	s := job.Status
	msg := fmt.Sprintf("job is running: %d active, %d succeeded, %d failed", s.Active, s.Succeeded, s.Failed)
	if job.Spec.BackoffLimit != nil && s.Failed > 0 {
		msg += fmt.Sprintf(" (backoff limit %d)", *job.Spec.BackoffLimit)
	}
	return progressing(msg), true
}

// cronJobHealth: a suspended CronJob is Suspended; otherwise it is Healthy —
// the Jobs it creates have health of their own.
func cronJobHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	suspend, _, err := unstructured.NestedBool(obj.Object, "spec", "suspend")
	if err != nil {
		return unreadable(err)
	}
	if suspend {
		return suspended("cronjob is suspended"), true
	}
	return healthy(""), true
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

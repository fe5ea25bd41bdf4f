package health

import (
	"fmt"
	"strings"

	"github.com/gyre-cd/gyre/app"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// podHealth reads the phase, then the containers: a container stuck waiting
// for a reason that will not fix itself (CrashLoopBackOff, ImagePullBackOff,
// ErrImagePull, a bad config) makes the pod Degraded whatever its phase. A
// running pod that restarts forever (restartPolicy Always) is Healthy once
// Ready; one meant to finish (OnFailure, Never) is Progressing until it
// Succeeds.
func podHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	pod, err := fromUnstructured[corev1.Pod](obj)
	if err != nil {
		return unreadable(err)
	}
	if msg, stuck := stuckContainer(pod); stuck {
		return degraded(msg), true
	}
	s := pod.Status
	switch s.Phase {
	case corev1.PodPending:
		if c := podCondition(pod, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse && c.Message != "" {
			return progressing("pod is pending: " + c.Message), true
		}
		return progressing(join("pod is pending", s.Message)), true
	case corev1.PodSucceeded:
		return healthy(join("pod completed", s.Message)), true
	case corev1.PodFailed:
		if s.Message != "" {
			return degraded(join("pod failed", s.Message)), true
		}
		return degraded(join("pod failed", terminatedContainer(pod))), true
	case corev1.PodRunning:
		if pod.Spec.RestartPolicy != corev1.RestartPolicyAlways && pod.Spec.RestartPolicy != "" {
			return progressing("pod is running"), true
		}
		ready := podCondition(pod, corev1.PodReady)
		if ready != nil && ready.Status == corev1.ConditionTrue {
			return healthy("pod is running and ready"), true
		}
		if ready != nil && ready.Message != "" {
			return progressing("pod is running but not ready: " + ready.Message), true
		}
		return progressing("pod is running but not ready"), true
	}
	return app.HealthState{Status: app.HealthUnknown, Message: join(fmt.Sprintf("pod phase %q", s.Phase), s.Message)}, true
}

// stuckContainer finds a container (init containers first) waiting for a
// reason that needs a person: a crash loop, an image that cannot be pulled,
// a configuration that cannot be created.
func stuckContainer(pod *corev1.Pod) (string, bool) {
	statuses := append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range statuses {
		w := cs.State.Waiting
		if w == nil || !stuckReason(w.Reason) {
			continue
		}
		return join(fmt.Sprintf("container %s: %s", cs.Name, w.Reason), w.Message), true
	}
	return "", false
}

// stuckReason reports whether a container waiting reason means the pod will
// not start without a change: CrashLoopBackOff, ImagePullBackOff,
// ErrImagePull, InvalidImageName, CreateContainerConfigError, …
func stuckReason(reason string) bool {
	return strings.HasSuffix(reason, "BackOff") || strings.HasPrefix(reason, "Err") ||
		strings.HasSuffix(reason, "Error") || reason == "InvalidImageName"
}

// terminatedContainer describes the first container that terminated with a
// failure, for a Failed pod without a message of its own.
func terminatedContainer(pod *corev1.Pod) string {
	for _, cs := range append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return join(fmt.Sprintf("container %s: %s (exit code %d)", cs.Name, t.Reason, t.ExitCode), t.Message)
		}
	}
	return ""
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// join appends detail to msg after a colon, when there is a detail.
func join(msg, detail string) string {
	detail = strings.TrimSpace(detail)
	if detail == "" {
		return msg
	}
	return msg + ": " + detail
}

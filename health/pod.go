package health

import (
	"fmt"
	"strings"

	"github.com/gyre-cd/gyre/app"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// IgnoreRestartsAnnotation, set to "true" on a Pod, says its containers
// exit and restart by design: a crash loop or a container that terminated
// with an error and was restarted does not make the Pod Degraded. An image
// that cannot be pulled or a container that cannot be created still does.
const IgnoreRestartsAnnotation = "gyre.dev/ignore-restarts"

// ArgoIgnoreRestartPolicyAnnotation is Argo CD's annotation for a Pod that
// runs for good although its restartPolicy is OnFailure or Never (an
// operator's pod, say): present, with any value, the Pod is judged like one
// with restartPolicy Always, Healthy once Ready rather than Progressing
// until it completes.
const ArgoIgnoreRestartPolicyAnnotation = "argocd.argoproj.io/ignore-restart-policy"

// podHealth reads the containers, then the phase. A container stuck
// waiting for a reason that will not fix itself (CrashLoopBackOff,
// ImagePullBackOff, ErrImagePull, a bad config) makes the pod Degraded
// whatever its phase. A pod that runs for good (restartPolicy Always) is
// Healthy once Ready, and Degraded while it is not Ready because a
// container keeps terminating with an error; one meant to finish
// (OnFailure, Never) is Progressing until it Succeeds.
func podHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	pod, err := fromUnstructured[corev1.Pod](obj)
	if err != nil {
		return unreadable(err)
	}
	ignoreRestarts := pod.Annotations[IgnoreRestartsAnnotation] == "true"
	if msg, stuck := stuckContainer(pod, ignoreRestarts); stuck {
		return degraded(msg), true
	}
	_, runsForGood := pod.Annotations[ArgoIgnoreRestartPolicyAnnotation]
	runsForGood = runsForGood || pod.Spec.RestartPolicy == corev1.RestartPolicyAlways || pod.Spec.RestartPolicy == ""
	crashing := func() (string, bool) {
		if !runsForGood || ignoreRestarts {
			return "", false
		}
		return crashingContainer(pod)
	}
	s := pod.Status
	switch s.Phase {
	case "":
		return progressing("pod has no status yet"), true
	case corev1.PodPending:
		if msg, ok := crashing(); ok {
			return degraded(msg), true
		}
		if c := podCondition(pod, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse {
			if c.Reason == corev1.PodReasonUnschedulable {
				return progressing(join("pod cannot be scheduled", c.Message)), true
			}
			return progressing(join("pod is not scheduled yet", firstNonEmpty(c.Message, c.Reason))), true
		}
		return progressing(join("pod is pending", firstNonEmpty(s.Message, waitingContainer(pod)))), true
	case corev1.PodSucceeded:
		return healthy(join("pod completed", s.Message)), true
	case corev1.PodFailed:
		if s.Message != "" {
			return degraded(join("pod failed", s.Message)), true
		}
		return degraded(join("pod failed", terminatedContainer(pod))), true
	case corev1.PodRunning:
		if !runsForGood {
			return progressing("pod is running"), true
		}
		ready := podCondition(pod, corev1.PodReady)
		if ready != nil && ready.Status == corev1.ConditionTrue {
			return healthy("pod is running and ready"), true
		}
		if msg, ok := crashing(); ok {
			return degraded(msg), true
		}
		if ready != nil && ready.Message != "" {
			return progressing("pod is running but not ready: " + ready.Message), true
		}
		return progressing("pod is running but not ready"), true
	}
	return app.HealthState{Status: app.HealthUnknown, Message: join(fmt.Sprintf("pod phase %q", s.Phase), s.Message)}, true
}

// containerStatuses returns the pod's init container statuses, then its
// other containers'.
func containerStatuses(pod *corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
}

// stuckContainer finds a container (init containers first) waiting for a
// reason that needs a person: a crash loop, an image that cannot be pulled,
// a configuration that cannot be created. With ignoreRestarts a crash loop
// does not count.
func stuckContainer(pod *corev1.Pod, ignoreRestarts bool) (string, bool) {
	for _, cs := range containerStatuses(pod) {
		w := cs.State.Waiting
		if w == nil || !stuckReason(w.Reason) || (ignoreRestarts && w.Reason == "CrashLoopBackOff") {
			continue
		}
		msg := fmt.Sprintf("container %s: %s", cs.Name, w.Reason)
		if t := cs.LastTerminationState.Terminated; t != nil {
			msg += " (last exit: " + exitText(t) + ")"
		}
		return join(msg, w.Message), true
	}
	return "", false
}

// crashingContainer finds a container that is not ready, has been
// restarted, and last terminated with an error: a crash loop between two
// back-offs, while the container runs again but is not ready yet.
func crashingContainer(pod *corev1.Pod) (string, bool) {
	for _, cs := range containerStatuses(pod) {
		if cs.Ready || cs.RestartCount == 0 {
			continue
		}
		if t := cs.State.Terminated; t != nil && t.ExitCode == 0 {
			continue // an init container that has since completed
		}
		t := cs.LastTerminationState.Terminated
		if t == nil {
			t = cs.State.Terminated
		}
		if t == nil || t.ExitCode == 0 {
			continue
		}
		return join(fmt.Sprintf("container %s: restarted %d times, last exit: %s", cs.Name, cs.RestartCount, exitText(t)), t.Message), true
	}
	return "", false
}

// exitText describes a terminated container: "Error, exit code 1".
func exitText(t *corev1.ContainerStateTerminated) string {
	if t.Reason == "" {
		return fmt.Sprintf("exit code %d", t.ExitCode)
	}
	return fmt.Sprintf("%s, exit code %d", t.Reason, t.ExitCode)
}

// waitingContainer describes the first container waiting to start, e.g.
// "container api: ContainerCreating", or "".
func waitingContainer(pod *corev1.Pod) string {
	for _, cs := range containerStatuses(pod) {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return join(fmt.Sprintf("container %s: %s", cs.Name, w.Reason), w.Message)
		}
	}
	return ""
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
	for _, cs := range containerStatuses(pod) {
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

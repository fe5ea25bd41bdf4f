package app

import (
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConditionType names a condition. A condition is present while it holds
// and removed when it no longer does; there is no True/False.
type ConditionType string

// The condition types gyre sets. Types ending in "Error" are errors, the
// rest are notices (see ConditionType.IsError).
const (
	// ConditionComparisonError: git could not be compared with the cluster
	// (unreachable repository, unknown revision, failed render).
	ConditionComparisonError ConditionType = "ComparisonError"
	// ConditionSyncError: the last sync could not be carried out.
	ConditionSyncError ConditionType = "SyncError"
	// ConditionInvalidSpecError: the spec or the operation request is
	// invalid in a way the CRD schema cannot catch.
	ConditionInvalidSpecError ConditionType = "InvalidSpecError"
	// ConditionPermissionDeniedError: the Application's Project or gyre's
	// ownership rules refuse objects git declares (or the Application's
	// repository, destination or namespace); nothing is synced until it is
	// resolved.
	ConditionPermissionDeniedError ConditionType = "PermissionDeniedError"
	// ConditionSharedResourceWarning: an object git declares is tracked by
	// another Application; gyre will not write it, and a sync fails until
	// one of the two gives it up.
	ConditionSharedResourceWarning ConditionType = "SharedResourceWarning"
	// ConditionDeletionError: the Application is being deleted with the
	// resources finalizer and gyre cannot go on (a PreDelete or PostDelete
	// hook failed or is refused, or the hooks cannot be rendered); its
	// objects and the Application stay until it is resolved.
	ConditionDeletionError ConditionType = "DeletionError"
	// ConditionAutomationSuspended: automated sync is suspended after a
	// rollback; see Status.AutomationSuspended.
	ConditionAutomationSuspended ConditionType = "AutomationSuspended"
	// ConditionDependencyWaiting: an Application of spec.dependsOn is not
	// Synced and Healthy at its current spec yet, and syncs wait for it.
	// The message is written by DependencyWaitingMessage and read back by
	// Status.WaitingFor.
	ConditionDependencyWaiting ConditionType = "DependencyWaiting"
	// ConditionDependencyError: spec.dependsOn names an Application that
	// does not exist, or the dependencies form a cycle; nothing syncs
	// until it is resolved.
	ConditionDependencyError ConditionType = "DependencyError"
	// ConditionClusterError: the destination cluster cannot be used: no
	// cluster has that server or name, it belongs to another Project, or
	// it does not answer. Nothing is compared or synced until it is
	// resolved; other clusters' Applications are not held up.
	ConditionClusterError ConditionType = "ClusterError"
)

// dependencyWaitingPrefix begins the DependencyWaiting message.
const dependencyWaitingPrefix = "waiting for "

// syncRequestedPrefix begins the DependencyWaiting message while a
// requested sync waits.
const syncRequestedPrefix = "sync requested, "

// DependencyWaitingMessage returns the DependencyWaiting message for the
// dependencies not ready yet, each written "<namespace>/<name> (<state>)":
// "waiting for gyre/db (OutOfSync), gyre/cache (Progressing)". requested
// says that a sync was asked for and waits: the message then begins "sync
// requested, ".
func DependencyWaitingMessage(waiting []string, requested bool) string {
	msg := dependencyWaitingPrefix + strings.Join(waiting, ", ")
	if requested {
		msg = syncRequestedPrefix + msg
	}
	return msg
}

// WaitingFor returns the dependencies the DependencyWaiting condition
// names, each "<namespace>/<name> (<state>)"; nil when there is none.
func (s *Status) WaitingFor() []string {
	c := s.FindCondition(ConditionDependencyWaiting)
	if c == nil {
		return nil
	}
	rest, ok := strings.CutPrefix(strings.TrimPrefix(c.Message, syncRequestedPrefix), dependencyWaitingPrefix)
	if !ok || rest == "" {
		return nil
	}
	return strings.Split(rest, ", ")
}

// SyncHeld reports whether syncs wait for the Application's dependencies:
// one is not ready (DependencyWaiting), missing or in a cycle
// (DependencyError).
func (s *Status) SyncHeld() bool {
	return s.FindCondition(ConditionDependencyWaiting) != nil || s.FindCondition(ConditionDependencyError) != nil
}

// IsError reports whether the condition type is an error rather than a
// notice.
func (t ConditionType) IsError() bool {
	return strings.HasSuffix(string(t), "Error")
}

// Condition is a problem or notice on an Application.
type Condition struct {
	Type    ConditionType `json:"type"`
	Message string        `json:"message"`
	// LastTransitionTime is when the condition appeared or its message last
	// changed.
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
}

// SetCondition adds the condition t with message msg, or updates its
// message. A message longer than MaxMessageLength is cut (see
// TruncateMessage). now is the caller's clock; it becomes
// LastTransitionTime (to the second, as the API stores it) when the
// condition is new or its message changed. It reports whether the status
// changed.
func (s *Status) SetCondition(t ConditionType, msg string, now time.Time) bool {
	msg = TruncateMessage(msg, MaxMessageLength)
	ts := metav1.NewTime(now).Rfc3339Copy()
	for i := range s.Conditions {
		c := &s.Conditions[i]
		if c.Type != t {
			continue
		}
		if c.Message == msg {
			return false
		}
		c.Message, c.LastTransitionTime = msg, &ts
		return true
	}
	s.Conditions = append(s.Conditions, Condition{Type: t, Message: msg, LastTransitionTime: &ts})
	return true
}

// RemoveCondition removes the condition t and reports whether it was there.
func (s *Status) RemoveCondition(t ConditionType) bool {
	n := len(s.Conditions)
	s.Conditions = slices.DeleteFunc(s.Conditions, func(c Condition) bool { return c.Type == t })
	if len(s.Conditions) == 0 {
		s.Conditions = nil
	}
	return len(s.Conditions) != n
}

// FindCondition returns the condition t, or nil when it is not present.
func (s *Status) FindCondition(t ConditionType) *Condition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

package app

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Application is one unit of delivery: a source in git rendered into
// Kubernetes objects and kept converged in a destination namespace.
//
// Spec is what the user (or a parent app) declares. Operation is a one-shot
// request from a person or tool (sync now, roll back, resume automation); the
// reconciler takes it, records it in Status.OperationState and removes it.
// Status is written only by the reconciler, through the status subresource.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type Application struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec Spec `json:"spec"`
	// Operation, when set, asks the reconciler to do one thing now. See
	// Operation for the protocol.
	Operation *Operation `json:"operation,omitempty"`
	Status    Status     `json:"status,omitempty"`
}

// ApplicationList is a list of Applications, as returned by a list call.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type ApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []Application `json:"items"`
}

// DefaultHistoryLimit is the number of history entries kept when
// spec.revisionHistoryLimit is not set.
const DefaultHistoryLimit = 10

// Key returns the namespace and name of the Application.
func (a *Application) Key() types.NamespacedName {
	return types.NamespacedName{Namespace: a.Namespace, Name: a.Name}
}

// DefaultProject is the Project an Application without spec.project uses.
const DefaultProject = "default"

// ProjectName returns spec.project, or DefaultProject when it is empty.
func (a *Application) ProjectName() string {
	if a.Spec.Project == "" {
		return DefaultProject
	}
	return a.Spec.Project
}

// IsAutomated reports whether the reconciler may sync this Application on its
// own: spec.syncPolicy.automated is set and automation is not suspended by a
// rollback (Status.AutomationSuspended).
func (a *Application) IsAutomated() bool {
	p := a.Spec.SyncPolicy
	return p != nil && p.Automated != nil && a.Status.AutomationSuspended == nil
}

// AutoPrune reports whether automated syncs may prune: the Application is
// automated (see IsAutomated) with automated.prune set. Manual syncs decide
// pruning per operation instead.
func (a *Application) AutoPrune() bool {
	return a.IsAutomated() && a.Spec.SyncPolicy.Automated.Prune
}

// SelfHeal reports whether the reconciler should re-sync when the live state
// drifts while git has not changed.
func (a *Application) SelfHeal() bool {
	return a.IsAutomated() && a.Spec.SyncPolicy.Automated.SelfHeal
}

// SyncOption returns the value of the Application-level sync option name
// ("CreateNamespace=true" has the value "true"); ok is false when the option
// is not set. A later entry overrides an earlier one.
func (a *Application) SyncOption(name SyncOptionName) (value string, ok bool) {
	if a.Spec.SyncPolicy == nil {
		return "", false
	}
	return a.Spec.SyncPolicy.SyncOptions.Get(name)
}

// SyncOptionTrue reports whether the Application-level sync option name is
// set to "true" (case-insensitive).
func (a *Application) SyncOptionTrue(name SyncOptionName) bool {
	if a.Spec.SyncPolicy == nil {
		return false
	}
	return a.Spec.SyncPolicy.SyncOptions.True(name)
}

// HistoryLimit returns how many entries Status.History keeps: the spec's
// revisionHistoryLimit, or DefaultHistoryLimit when unset. Negative values
// (rejected by the CRD schema) count as zero.
func (a *Application) HistoryLimit() int {
	if a.Spec.RevisionHistoryLimit == nil {
		return DefaultHistoryLimit
	}
	return int(max(*a.Spec.RevisionHistoryLimit, 0))
}

// TrackingID returns the tracking annotation value for an object with key k
// applied by this Application.
func (a *Application) TrackingID(k ResourceKey) string {
	return TrackingID(a.Namespace, a.Name, k)
}

// AppLabelValue returns the value of the AppLabel this Application puts on
// the objects it applies.
func (a *Application) AppLabelValue() string {
	return AppLabelValue(a.Namespace, a.Name)
}

// ResourcesFinalizer on an Application asks that deleting it also deletes
// the objects it manages (after its PreDelete hooks, before its PostDelete
// hooks). Without it they stay.
const ResourcesFinalizer = "gyre.dev/resources-finalizer"

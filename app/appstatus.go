package app

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Status is the Application's status subresource: the single record that
// the UI, the CLI, metrics and `kubectl get applications` read. Only the
// reconciler writes it.
type Status struct {
	// Sync compares git with the live state.
	Sync SyncState `json:"sync,omitempty"`
	// Health is the aggregated health of the managed objects: worst wins.
	Health HealthState `json:"health,omitempty"`
	// Resources lists the objects the Application manages, with their own
	// sync and health: all of them, or when there are more than the
	// status can hold (see StatusLimits), those refused, missing, out of
	// sync or unhealthy first, in key order. Summary.Resources counts them
	// all and says when the list is truncated; the API lists them all.
	Resources []ResourceStatus `json:"resources,omitempty"`
	// Conditions are problems and notices worth a person's attention.
	Conditions []Condition `json:"conditions,omitempty"`
	// OperationState is the current or last operation (sync, rollback).
	OperationState *OperationState `json:"operationState,omitempty"`
	// History holds the last successful syncs, oldest first, for rollback.
	History []HistoryEntry `json:"history,omitempty"`
	// AutomationSuspended is set while automated sync is suspended, which a
	// rollback does so that nothing silently undoes it. A Resume operation
	// clears it. See Application.SuspendAutomation.
	AutomationSuspended *AutomationSuspension `json:"automationSuspended,omitempty"`
	// SourceType is how the source was rendered (detected or declared).
	SourceType SourceType `json:"sourceType,omitempty"`
	// Summary holds facts for list views.
	Summary Summary `json:"summary,omitempty"`
	// ReconciledAt is when the reconciler last compared git with the cluster.
	ReconciledAt *metav1.Time `json:"reconciledAt,omitempty"`
	// ObservedGeneration is the metadata.generation this status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// SyncState is the result of comparing git with the live state.
type SyncState struct {
	// Status is Synced, OutOfSync or Unknown.
	Status SyncStatus `json:"status,omitempty"`
	// Revision is the commit SHA the comparison used; for a chart,
	// "<version>@<digest>"; for several sources, Revisions joined by ","
	// (see JoinRevisions).
	Revision string `json:"revision,omitempty"`
	// Revisions holds the revision of each of Spec.Sources, in order; it
	// is set only for an Application with several sources.
	Revisions []string `json:"revisions,omitempty"`
	// ComparedTo is the spec the comparison used, so readers can tell
	// whether the status is stale after a spec change.
	ComparedTo *ComparedTo `json:"comparedTo,omitempty"`
}

// ComparedTo records the parts of the spec a comparison was made against.
type ComparedTo struct {
	Source      Source      `json:"source,omitzero"`
	Sources     []Source    `json:"sources,omitempty"`
	Destination Destination `json:"destination"`
}

// HealthState is a health status with a human-readable reason. It is what
// health.Check returns for one object and what the status records for an
// object and for the whole Application.
type HealthState struct {
	Status  HealthStatus `json:"status,omitempty"`
	Message string       `json:"message,omitempty"`
}

// ResourceStatus is one managed object in Status.Resources.
type ResourceStatus struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Status is Synced when the live object matches git, OutOfSync when it
	// differs, is missing, or is no longer declared (see RequiresPruning).
	Status SyncStatus `json:"status,omitempty"`
	// Health is nil for kinds that have no health (ConfigMap, Role…).
	Health *HealthState `json:"health,omitempty"`
	// Hook marks a hook (PreSync, PostSync…): it is not counted in the
	// Application's sync or health.
	Hook bool `json:"hook,omitempty"`
	// RequiresPruning marks a live object git no longer declares.
	RequiresPruning bool `json:"requiresPruning,omitempty"`
	// Message says why the object cannot be synced, when it cannot (its
	// Project forbids it, another Application owns it).
	Message string `json:"message,omitempty"`
}

// Key returns the object's ResourceKey.
func (r *ResourceStatus) Key() ResourceKey {
	return ResourceKey{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

// Summary holds facts about the managed objects for list views.
type Summary struct {
	// Images are the container images of the managed workloads, sorted;
	// at most MaxImages of them.
	Images []string `json:"images,omitempty"`
	// Resources counts the managed objects, listed in Status.Resources or
	// not.
	Resources *ResourcesSummary `json:"resources,omitempty"`
}

// AutomationSuspension records why and since when automated sync is off.
type AutomationSuspension struct {
	// Reason says why, in words, e.g. "rolled back to history 3 (1a2b3c4)".
	Reason string `json:"reason"`
	// HistoryID is the history entry rolled back to, when a rollback
	// suspended automation.
	HistoryID int64 `json:"historyID,omitempty"`
	// Revision is the commit the Application is held at.
	Revision string `json:"revision,omitempty"`
	// Since is when automation was suspended.
	Since metav1.Time `json:"since"`
	// InitiatedBy is who asked for it.
	InitiatedBy InitiatedBy `json:"initiatedBy,omitempty"`
}

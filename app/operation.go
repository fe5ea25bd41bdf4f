package app

import (
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Operation is a one-shot request on an Application, written to its
// top-level `operation` field by the CLI, the UI or `kubectl patch`. Exactly
// one of Sync, Rollback and Resume is set.
//
// The protocol: the reconciler takes a request only when no operation is
// Running. For Sync and Rollback it copies the request into
// Status.OperationState (phase Running), removes the `operation` field, does
// the work and records the phase and change set when done. Resume takes
// effect at once: it clears Status.AutomationSuspended and its condition,
// leaves OperationState untouched, and removes the field. A request written
// while an operation is Running waits for it to finish. An invalid request
// (see Validate) is removed and reported as an InvalidSpecError condition.
type Operation struct {
	// Sync applies git now (manual sync).
	Sync *SyncOperation `json:"sync,omitempty"`
	// Rollback re-syncs a recorded history entry and suspends automation.
	Rollback *RollbackOperation `json:"rollback,omitempty"`
	// Resume ends a suspension of automated sync (see
	// Status.AutomationSuspended).
	Resume *ResumeOperation `json:"resume,omitempty"`
	// InitiatedBy is who asked.
	InitiatedBy InitiatedBy `json:"initiatedBy,omitempty"`
}

// SyncOperation asks for a sync.
type SyncOperation struct {
	// Revision to sync; empty means spec.source.targetRevision.
	Revision string `json:"revision,omitempty"`
	// Prune deletes objects that git no longer declares.
	Prune bool `json:"prune,omitempty"`
	// DryRun computes the change set without changing the cluster.
	DryRun bool `json:"dryRun,omitempty"`
	// Resources limits the sync to these objects; empty means all.
	Resources []ResourceKey `json:"resources,omitempty"`
	// SyncOptions add to (and override) spec.syncPolicy.syncOptions for this
	// sync only.
	SyncOptions SyncOptions `json:"syncOptions,omitempty"`
}

// RollbackOperation asks to sync the revision and source recorded in a
// history entry. A successful rollback suspends automated sync.
type RollbackOperation struct {
	// ID is the HistoryEntry.ID to return to.
	ID int64 `json:"id"`
	// Prune deletes objects the recorded revision does not declare.
	Prune bool `json:"prune,omitempty"`
	// DryRun computes the change set without changing the cluster.
	DryRun bool `json:"dryRun,omitempty"`
}

// ResumeOperation asks to resume automated sync after a rollback. It has no
// fields; write `operation: {resume: {}}`.
type ResumeOperation struct{}

// InitiatedBy says who started an operation.
type InitiatedBy struct {
	// Username is the person, or the tool's name, that asked.
	Username string `json:"username,omitempty"`
	// Automated is true when the reconciler started it on its own.
	Automated bool `json:"automated,omitempty"`
}

// Validate reports a request that does not set exactly one action, or a
// sync whose syncOptions gyre does not know or support.
func (o *Operation) Validate() error {
	n := 0
	for _, set := range []bool{o.Sync != nil, o.Rollback != nil, o.Resume != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return errors.New("operation: none of sync, rollback or resume is set")
	case n > 1:
		return errors.New("operation: more than one of sync, rollback and resume is set")
	case o.Rollback != nil && o.Rollback.ID <= 0:
		return errors.New("operation rollback: id must be a history entry id (> 0)")
	case o.Sync != nil:
		if err := o.Sync.SyncOptions.Check(ScopeApplication); err != nil {
			return fmt.Errorf("operation sync: syncOptions %w", err)
		}
	}
	return nil
}

// OperationPhase is where an operation (or a hook) stands.
type OperationPhase string

// The operation phases.
const (
	// OperationRunning: the operation is in progress.
	OperationRunning OperationPhase = "Running"
	// OperationTerminating: the operation is being stopped.
	OperationTerminating OperationPhase = "Terminating"
	// OperationSucceeded: the operation finished and every step worked.
	OperationSucceeded OperationPhase = "Succeeded"
	// OperationFailed: a step failed (an apply was rejected, a hook failed, a
	// wave did not become healthy).
	OperationFailed OperationPhase = "Failed"
	// OperationError: the operation could not be carried out at all (the render
	// failed, the revision does not exist).
	OperationError OperationPhase = "Error"
)

// Completed reports whether the phase is final.
func (p OperationPhase) Completed() bool {
	return p == OperationSucceeded || p == OperationFailed || p == OperationError
}

// OperationState is the current or last operation.
type OperationState struct {
	// Operation is the request being (or last) carried out.
	Operation Operation `json:"operation"`
	// Phase is where it stands.
	Phase OperationPhase `json:"phase"`
	// Message says what is happening or what went wrong.
	Message string `json:"message,omitempty"`
	// RetryCount is how many times the sync has been retried.
	RetryCount int64 `json:"retryCount,omitempty"`
	// Generation is the Application's metadata.generation when gyre took
	// a requested operation (0 for automated syncs): a request still on the
	// Application at that generation, once the operation finished, is the
	// same request, and is not run twice.
	Generation int64 `json:"generation,omitempty"`
	// StartedAt is when the operation started.
	StartedAt metav1.Time `json:"startedAt"`
	// FinishedAt is when it completed; nil while it runs.
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// SyncResult is the change set of the sync.
	SyncResult *ChangeSet `json:"syncResult,omitempty"`
}

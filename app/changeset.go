package app

// Action is what a sync did, or would do in a dry run, to one object.
type Action string

// The actions of a change set.
const (
	// ActionCreated: the object did not exist and was created.
	ActionCreated Action = "created"
	// ActionConfigured: the object existed and the apply changed it.
	ActionConfigured Action = "configured"
	// ActionUnchanged: the object already matched git.
	ActionUnchanged Action = "unchanged"
	// ActionDeleted: the object was deleted as asked (a hook's delete
	// policy, a Replace).
	ActionDeleted Action = "deleted"
	// ActionPruned: git no longer declares the object and it was deleted.
	ActionPruned Action = "pruned"
	// ActionSkipped: the object was left alone; Message says why (Prune=false,
	// tracked by another Application, pruning not enabled…).
	ActionSkipped Action = "skipped"
	// ActionFailed: the apply, delete or hook failed; Message says why.
	ActionFailed Action = "failed"
)

// SyncPhase is a stage of a sync. Objects are applied phase by phase; hooks
// belong to the phase they run in.
type SyncPhase string

// The sync phases, in the order they run (SyncFail only when a phase
// failed).
const (
	// SyncPhasePreSync runs before anything is applied (migrations, backups).
	SyncPhasePreSync SyncPhase = "PreSync"
	// SyncPhaseSync applies the objects git declares.
	SyncPhaseSync SyncPhase = "Sync"
	// SyncPhasePostSync runs after every wave is healthy (smoke tests,
	// notifications).
	SyncPhasePostSync SyncPhase = "PostSync"
	// SyncPhaseSyncFail runs when an earlier phase failed (clean-up).
	SyncPhaseSyncFail SyncPhase = "SyncFail"
)

// ChangeSet is the result of a sync: one Change per object, in the order the
// sync handled them. It is shared data: the CLI prints it, the UI draws it,
// metrics count it and Status.OperationState.SyncResult records it.
type ChangeSet struct {
	// Revision is the revision that was synced, as SyncState.Revision.
	Revision string `json:"revision,omitempty"`
	// Revisions holds each source's revision for an Application with
	// several sources.
	Revisions []string `json:"revisions,omitempty"`
	// DryRun is true when nothing was changed and the actions say what
	// would have happened.
	DryRun bool `json:"dryRun,omitempty"`
	// Resources holds one entry per object; in a status, only the most
	// useful ones when there are more than it can hold (see Bounded).
	Resources []Change `json:"resources,omitempty"`
	// Summary counts the entries, listed in Resources or not. It is set
	// when the change set is recorded in a status.
	Summary *ChangeSummary `json:"summary,omitempty"`
}

// Change is what a sync did to one object.
type Change struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Action is what was done.
	Action Action `json:"action"`
	// Message explains a failure or a skip, or carries the server's word.
	Message string `json:"message,omitempty"`
	// SyncPhase is the phase the object was handled in.
	SyncPhase SyncPhase `json:"syncPhase,omitempty"`
	// Wave is the object's sync wave within its phase.
	Wave int64 `json:"wave,omitempty"`
	// HookType is the phase a hook belongs to; empty for ordinary objects.
	HookType SyncPhase `json:"hookType,omitempty"`
	// HookPhase is where a hook stands (Running, Succeeded, Failed).
	HookPhase OperationPhase `json:"hookPhase,omitempty"`
}

// Key returns the object's ResourceKey.
func (c *Change) Key() ResourceKey {
	return ResourceKey{Group: c.Group, Kind: c.Kind, Namespace: c.Namespace, Name: c.Name}
}

// Count returns how many entries have action a, counting from Summary
// when Resources lists only some of them.
func (cs *ChangeSet) Count(a Action) int {
	if cs.Summary != nil && cs.Summary.Truncated {
		return int(cs.Summary.Actions[a])
	}
	n := 0
	for i := range cs.Resources {
		if cs.Resources[i].Action == a {
			n++
		}
	}
	return n
}

// Failed reports whether any entry failed.
func (cs *ChangeSet) Failed() bool {
	return cs.Count(ActionFailed) > 0
}

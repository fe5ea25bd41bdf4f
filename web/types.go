package web

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AppSummary is one Application as the list view and the stream show it.
type AppSummary struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// RepoURL, Path, Chart and TargetRevision are those of the first
	// source (spec.source, or the first of spec.sources), RepoURL without
	// credentials; Sources lists them all.
	RepoURL        string `json:"repoURL"`
	Path           string `json:"path"`
	Chart          string `json:"chart,omitempty"`
	TargetRevision string `json:"targetRevision"`
	// Sources are the application's sources in order: spec.source alone,
	// or every one of spec.sources.
	Sources []SourceSummary `json:"sources"`
	// Revision is what the last comparison used: the full commit SHA, a
	// chart's "<version>@sha256:<hex>", or for several sources Revisions
	// joined by ",".
	Revision string `json:"revision"`
	// Revisions holds each source's revision, in the order of Sources,
	// for an application with several sources.
	Revisions      []string           `json:"revisions,omitempty"`
	SyncStatus     app.SyncStatus     `json:"syncStatus"`
	HealthStatus   app.HealthStatus   `json:"healthStatus"`
	HealthMessage  string             `json:"healthMessage"`
	OperationPhase app.OperationPhase `json:"operationPhase"`
	// LastSyncedAt is when the last operation finished, else when the
	// newest history entry was deployed; absent for an app never synced.
	LastSyncedAt *metav1.Time `json:"lastSyncedAt,omitempty"`
	// Automated is set when spec.syncPolicy.automated is.
	Automated bool `json:"automated"`
	// Suspended is set while a rollback holds automated sync off.
	Suspended bool `json:"suspended"`
	// Waiting is set while syncs wait for the applications of
	// spec.dependsOn: one is not ready, missing, or in a cycle.
	Waiting bool `json:"waiting"`
	// WaitingFor lists the dependencies not ready yet, each
	// "<namespace>/<name> (<state>)", e.g. "gyre/db (OutOfSync)".
	WaitingFor []string          `json:"waitingFor,omitempty"`
	Labels     map[string]string `json:"labels"`
}

// SourceSummary is one source of an AppSummary.
type SourceSummary struct {
	// RepoURL is the git repository, Helm repository or OCI registry,
	// without credentials.
	RepoURL string `json:"repoURL"`
	// Path is the directory in git; empty for a chart.
	Path string `json:"path,omitempty"`
	// Chart is the chart's name, for a chart in a Helm repository.
	Chart          string `json:"chart,omitempty"`
	TargetRevision string `json:"targetRevision,omitempty"`
	// Ref is the name the other sources use for this one's files.
	Ref string `json:"ref,omitempty"`
}

// summarizeSource returns the summary of src.
func summarizeSource(src *app.Source) SourceSummary {
	return SourceSummary{
		RepoURL:        redactURL(src.RepoURL),
		Path:           src.Path,
		Chart:          src.Chart,
		TargetRevision: src.TargetRevision,
		Ref:            src.Ref,
	}
}

// summarize returns the summary of a.
func summarize(a *app.Application) AppSummary {
	srcs := a.Spec.SourceList()
	sources := make([]SourceSummary, len(srcs))
	for i := range srcs {
		sources[i] = summarizeSource(&srcs[i])
	}
	first := sources[0]
	s := AppSummary{
		Namespace:      a.Namespace,
		Name:           a.Name,
		RepoURL:        first.RepoURL,
		Path:           first.Path,
		Chart:          first.Chart,
		TargetRevision: first.TargetRevision,
		Sources:        sources,
		Revision:       a.Status.Sync.Revision,
		Revisions:      slices.Clone(a.Status.Sync.Revisions),
		SyncStatus:     a.Status.Sync.Status,
		HealthStatus:   a.Status.Health.Status,
		HealthMessage:  a.Status.Health.Message,
		Automated:      a.Spec.SyncPolicy != nil && a.Spec.SyncPolicy.Automated != nil,
		Suspended:      a.Status.AutomationSuspended != nil,
		Waiting:        a.Status.SyncHeld(),
		WaitingFor:     a.Status.WaitingFor(),
		Labels:         a.Labels,
	}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	if op := a.Status.OperationState; op != nil {
		s.OperationPhase = op.Phase
		s.LastSyncedAt = op.FinishedAt
	}
	if n := len(a.Status.History); s.LastSyncedAt == nil && n > 0 {
		s.LastSyncedAt = &a.Status.History[n-1].DeployedAt
	}
	return s
}

// AppList is the answer of GET /api/v1/applications.
type AppList struct {
	Items []AppSummary `json:"items"`
	// Continue, when not empty, fetches the next page.
	Continue string `json:"continue"`
	// Total is how many applications match the filters, over all pages.
	Total int `json:"total"`
}

// TreeResponse is the answer of GET .../tree.
type TreeResponse struct {
	Nodes []app.TreeNode `json:"nodes"`
}

// ResourcesResponse is the answer of GET .../resources: every object the
// application manages, in key order, where status.resources may list only
// some of them.
type ResourcesResponse struct {
	Items []app.ResourceStatus `json:"items"`
	// Summary counts the items; it is never truncated.
	Summary *app.ResourcesSummary `json:"summary"`
}

// OperationResponse is the answer of GET .../operation: the current or last
// operation, as status.operationState records it but with the complete
// change set while gyre holds it (syncResult.summary.truncated says when it
// does not: after a restart, or from a replica that did not run it).
type OperationResponse struct {
	// OperationState is null before the first operation.
	OperationState *app.OperationState `json:"operationState"`
}

// DiffItem is one object in the answer of GET and POST .../diff. Status
// Missing is an object a sync would create, OutOfSync one it would change,
// Extraneous a live object no longer declared, which a sync with prune
// deletes.
type DiffItem struct {
	Key    app.ResourceKey `json:"key"`
	Status diff.Status     `json:"status"`
	// Diff is a unified diff, Secret values masked; empty when in sync.
	Diff    string `json:"diff"`
	Message string `json:"message"`
	// Refused is set on an object the Application's Project refuses
	// (Status Unknown, Message says which rule): it was not compared, and
	// a sync writes nothing while it is declared.
	Refused bool `json:"refused,omitempty"`
}

// DiffRequest is the body of POST .../diff: the objects of a render made
// elsewhere, a local checkout say, to compare the Application with instead
// of git's render. At most 16 MiB.
type DiffRequest struct {
	// Objects are Kubernetes objects as rendered, before gyre places them
	// in the destination namespace and marks them as its own.
	Objects []json.RawMessage `json:"objects"`
}

// DiffResponse is the answer of GET and POST .../diff.
type DiffResponse struct {
	Items []DiffItem `json:"items"`
	// OutOfSync counts the items that make the application OutOfSync.
	OutOfSync int `json:"outOfSync"`
}

// HistoryResponse is the answer of GET .../history: the recorded syncs,
// oldest first.
type HistoryResponse struct {
	Items []app.HistoryEntry `json:"items"`
}

// EventItem is one Kubernetes event about an object.
type EventItem struct {
	Type          string       `json:"type"`
	Reason        string       `json:"reason"`
	Message       string       `json:"message"`
	Count         int32        `json:"count"`
	LastTimestamp *metav1.Time `json:"lastTimestamp"`
}

// EventsResponse is the answer of GET .../events, newest first.
type EventsResponse struct {
	Items []EventItem `json:"items"`
}

// Accepted is the answer of an operation request and of a webhook.
type Accepted struct {
	Accepted bool `json:"accepted"`
	// Duplicate is set on a webhook whose delivery id gyre handled
	// already; it is not handled again.
	Duplicate bool `json:"duplicate,omitempty"`
}

// StreamTicket is the answer of POST /api/v1/stream/ticket: a credential
// for one connection to GET /api/v1/stream?ticket=, the way a browser's
// EventSource, which cannot send headers, authenticates.
type StreamTicket struct {
	Ticket string `json:"ticket"`
	// ExpiresAt is when the ticket stops being accepted if unused.
	ExpiresAt time.Time `json:"expiresAt"`
}

// SyncRequest is the body of POST .../sync. Every field is optional.
type SyncRequest struct {
	// Revision to sync; empty means spec.source.targetRevision.
	Revision string `json:"revision"`
	Prune    bool   `json:"prune"`
	DryRun   bool   `json:"dryRun"`
	// Resources limits the sync to these objects; empty means all.
	Resources []app.ResourceKey `json:"resources"`
}

// RollbackRequest is the body of POST .../rollback.
type RollbackRequest struct {
	// ID is the history entry to return to. Required.
	ID     *int64 `json:"id"`
	Prune  bool   `json:"prune"`
	DryRun bool   `json:"dryRun"`
}

// VersionResponse is the answer of GET /api/v1/version.
type VersionResponse struct {
	Version   string `json:"version"`
	GoVersion string `json:"goVersion"`
}

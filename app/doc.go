// +k8s:deepcopy-gen=package
// +groupName=gyre.dev

// Package app holds gyre's shared vocabulary: the Application API
// (gyre.dev/v1alpha1), the identity of a managed object (ResourceKey), the
// sync and health statuses, the tracking annotation and label that tie an
// object to the Application that applied it, the change set a sync produces,
// and the resource-tree node type.
//
// It is the one leaf package every other gyre package may import. It depends
// on apimachinery only, which is what keeps sync, diff, health and web free of
// import cycles: they exchange values of these types and nothing else. A test
// fails if it starts importing client-go or another gyre package.
//
// # The Application
//
// An Application is a namespaced custom resource (applications.gyre.dev,
// short names gapp and gyreapp) whose field names follow Argo CD's:
// spec.source (repoURL, targetRevision, path and helm, kustomize or directory
// options), spec.destination.namespace, spec.syncPolicy (automated
// prune/selfHeal, syncOptions, retry), spec.ignoreDifferences and
// spec.revisionHistoryLimit. Its status (sync, health, resources,
// conditions, operationState, history) is the one record everybody reads,
// and it is bounded however many objects the Application manages
// (Status.Bound, bounds.go): the per-object lists keep the most useful
// entries and a summary that counts them all.
// CRD returns the manifest; its OpenAPI schema rejects malformed specs at the
// API server, and Application.Validate checks what a schema cannot.
//
// # Asking for something: the operation field
//
// People and tools ask for a sync, a rollback or a resume by writing the
// top-level `operation` field (see Operation). The reconciler takes the
// request, moves it into status.operationState and removes the field, so a
// request is carried out once, and the status subresource stays the
// reconciler's alone.
//
// # Rollback suspends automation, and says so
//
// A rollback re-syncs a history entry's commit with its recorded options. So
// that the next automated sync does not silently undo it, the reconciler then
// calls Application.SuspendAutomation: status.automationSuspended records why,
// what revision, since when and by whom, and an AutomationSuspended condition
// tells anyone reading the status. The spec is not touched (it may be owned by
// git through an app of apps). IsAutomated is false while suspended. A resume
// operation (`operation: {resume: {}}`) calls ResumeAutomation.
package app

// Package sync is gyre's reconcile loop: it keeps every Application compared
// with git and, when asked or when its policy says so, converges the cluster.
//
// # The loop
//
// Reconciler owns a work queue of Applications. An Application is queued when
// it changes, when an object it manages or a descendant of one changes (the
// live cache reports it), when its repository moves (the source poller
// reports it), when someone calls Refresh, and once per ResyncPeriod. The
// queue has two lanes (lanes.go): refreshes someone asked for and changes of
// live objects go ahead of repository moves, resyncs and Application edits,
// which still get every ninth turn; and while a requested refresh is under
// way, the apps of a repository that moved are queued a second later
// (movedDelay), so that a push a webhook announced reaches the app it
// changed before the others record its revision. A worker takes an Application and reads
// top to bottom:
//
//	resolve revision → render → pair with live → diff → health → status
//	    └─ if an operation is asked for, or automated sync applies:
//	       plan → prune and apply wave by wave (waiting for health between waves) → history
//
// Each step lives in a file named for it: compare.go (resolve, render, pair,
// diff, health; difflocal.go runs its second half on a render made
// elsewhere, for previews), plan.go (pure: phases, waves, kind order, prune filters),
// apply.go (server-side apply and the dry runner diff uses), wait.go (health
// between waves), hooks.go, prune.go (prune, and the finalizer),
// deletehooks.go (PreDelete and PostDelete hooks), operation.go (sync,
// rollback, resume, history) and status.go (what is written back).
//
// # Sync options
//
// Every sync option gyre accepts (app.KnownSyncOptions) does what Argo CD's
// does, and any other is refused, never ignored: in spec.syncPolicy it is an
// InvalidSpecError and nothing syncs; on an object it fails the sync, before
// anything is written. Objects are server-side applied (Force=false: fail
// on another manager's fields instead of taking them), or with Replace=true
// replaced: an update of the whole object with the live resourceVersion, a
// create when it does not exist; the pre-flight dry run uses the same verb.
// Every write asks for strict field validation. RespectIgnoreDifferences
// gives the object to write the live values of the fields
// spec.ignoreDifferences names (diff.KeepIgnored). Pruning happens in the
// Sync phase in the reverse of the apply order, at the start of a wave
// mirrored from the object's own (see Plan); PruneLast=true moves it to a
// last Sync wave of its own, after every other wave is healthy.
// PrunePropagationPolicy chooses the deletion propagation (foreground by
// default). SkipDryRunOnMissingResource lets a custom resource whose CRD is
// not installed yet (and not in the render) through the comparison and the
// pre-flight; it is applied in its wave.
//
// # Costs
//
// An unchanged Application costs no fetch (the source cache lists refs once
// per interval and fetches only new commits), no render (results are cached by
// commit, path and options, and reused for a later commit when every file the
// render read is unchanged; see render.Cache.RenderContent), no dry run
// (diff's fast path proves most objects in sync from the live object and its
// managed fields, and the dry runner memoises by the desired object's hash and
// the live resourceVersion) and no write (status is written only when it
// changed; reconciledAt is the time of the last change, not of the last
// look).
//
// A sync costs two status writes: the first ("Running") carries the
// comparison that started it, made against the watched copy's
// resourceVersion so that a stale copy meets a conflict instead of acting;
// the last carries the outcome and the comparison after it, made once the
// live cache shows what the sync wrote and, for at most a second, until
// the controllers of those objects have observed them (caughtUp): a new
// Deployment's outcome then says Healthy, not "waiting for rollout to be
// observed" followed by a third write. A wave's objects are
// applied a kind tier at a time (applyTier), concurrently within one, and
// the pre-flight dry runs concurrently.
//
// A deleted Application costs nothing either: the first time a worker finds
// it gone it is forgotten (release.go) and not queued again, and every
// ReleaseInterval the git cache and the live cache are told which
// repositories and namespaces the remaining Applications use, and release
// the others after a grace period.
//
// # Status size
//
// A status too large for etcd (about 1.5 MiB per object) could never be
// written again, so every status is bounded on its way out (writeStatus calls
// app.Status.Bound): status.resources and the last change set keep at most
// StatusResourceLimit entries each, the most useful first, with summaries
// that count them all; messages and history are capped. The complete lists
// of the Applications whose status lists only part of them stay in memory
// (fullstatus.go), released by forget when an Application goes, and the API
// serves them through Resources and OperationResult. A replica that does not
// work has not kept them: Resources compares anew, and OperationResult gives
// the status's part, marked truncated.
//
// # Operations
//
// A sync, rollback or resume is asked for by setting the Application's
// top-level operation field (the CLI and UI do this). The reconciler records
// the operation in status.operationState with phase Running, carries it out,
// records the per-object change set and the final phase, and only then
// removes the request. A gyre killed halfway (or a leader that loses its
// lease) leaves a Running state behind; every run is synchronous within one
// reconcile of its Application, so a Running state that a reconcile finds is
// one nobody runs, and it is resumed: the operation runs again, and hooks the
// interrupted run had finished are not run again. A request still present
// after its outcome was recorded (the removal was lost) is recognised by the
// Application's generation and removed, not run twice. Successful syncs are
// appended to status.history; a rollback re-syncs a history entry's commit
// with its recorded source options and suspends automated sync until a
// resume. Automated sync runs once per new revision, again after drift when
// selfHeal is on, and retries failures with the Application's backoff.
//
// # Dependencies
//
// An Application with spec.dependsOn syncs only once each Application it
// names is ready: compared at its current generation, Synced, Healthy and
// not in an operation (depends.go). The comparison runs regardless, and a
// DependencyWaiting condition names what it waits for. An automated sync
// simply does not start. A requested sync is kept on the Application, not
// started and not rejected, and runs when the dependencies are ready; a
// resumed (interrupted) run, a dry run, a rollback and a resume do not wait
// — a rollback restores what was deployed before, often because a
// dependency broke. A dependency that does not exist, or a cycle, is a
// DependencyError: automated syncs do not start, and a requested sync is
// rejected with the reason, since waiting would not resolve it. The
// Application watch keeps an index from each Application to those that
// depend on it (dependencyIndex); when an Application's readiness or its
// own dependencies change, its dependents are queued at once, at a cost of
// its neighbourhood rather than of every Application.
//
// # Safety
//
// Every write is first put to admission (package admit): the Application's
// Project (source repositories, destinations, kind lists, source namespaces)
// and gyre's ownership rules (its own CRDs and namespace, its installation,
// objects another Application tracks). One refused object refuses the whole
// sync, so nothing is written; the comparison shows each refusal, and the
// Application is never Synced. A render that fails applies nothing. Before
// the first apply every object is dry-run applied, so an object the API
// server rejects fails the operation with nothing changed. Later waves never
// start when an earlier wave failed or did not become healthy. A hook
// replaces only its own previous run. Prune and the finalizer read each
// object again and delete it only while its tracking id names this
// Application, with its uid as a precondition, and never one that says
// Prune=false (prune) or Delete=false (finalizer). Deleting an Application
// leaves its objects in place unless it carries the finalizer
// gyre.dev/resources-finalizer. With it, the PreDelete hooks of the
// Application's current render run first, and must succeed, before any
// object is deleted; once all are gone the PostDelete hooks run; then the
// hooks are removed by their delete policy (HookSucceeded by default) and
// the finalizer with them. Each step is found again in the cluster (a hook's
// run by name or tracking id and an annotation; finished phases in an
// annotation on the Application), so a gyre that restarts halfway does not
// run a hook again. A failing or refused delete hook blocks the deletion
// with a DeletionError condition.
package sync

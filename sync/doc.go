// Package sync is gyre's reconcile loop: it keeps every Application compared
// with git and, when asked or when its policy says so, converges the cluster.
//
// # The loop
//
// Reconciler owns a work queue of Applications. An Application is queued when
// it changes, when an object it manages or a descendant of one changes (the
// live cache reports it), when its repository moves (the source poller
// reports it), when someone calls Refresh, and once per ResyncPeriod. A worker
// takes an Application and reads top to bottom:
//
//	resolve revision → render → pair with live → diff → health → status
//	    └─ if an operation is asked for, or automated sync applies:
//	       plan → apply wave by wave (waiting for health between waves) → prune → history
//
// Each step lives in a file named for it: compare.go (resolve, render, pair,
// diff, health), plan.go (pure: phases, waves, kind order, prune filters),
// apply.go (server-side apply and the dry runner diff uses), wait.go (health
// between waves), hooks.go, prune.go, operation.go (sync, rollback, resume,
// history) and status.go (what is written back).
//
// # Costs
//
// An unchanged Application costs no fetch (the source cache lists refs once
// per interval and fetches only new commits), no render (results are cached by
// commit, path and options), no dry run (diff's fast path proves most objects
// in sync from the live object and its managed fields, and the dry runner
// memoises by the desired object's hash and the live resourceVersion) and no
// write (status is written only when it changed; reconciledAt is the time of
// the last change, not of the last look).
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
// gyre.dev/resources-finalizer.
package sync

package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	"github.com/gyre-cd/gyre/health"
	"github.com/gyre-cd/gyre/source"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// syncParams say what one sync operation does.
type syncParams struct {
	Prune     bool
	DryRun    bool
	Resources []app.ResourceKey
	Options   app.SyncOptions
	// Before is the change set of an interrupted run of the same
	// operation, if this one resumes it.
	Before *app.ChangeSet
	// decidedOnWatch says that the operation was decided on the watched
	// copy of the Application, whose status holds a comparison not yet
	// written: the first status write then fails on a conflict instead of
	// overwriting a newer object.
	decidedOnWatch bool
}

// startOperation carries out what an Application's operation field asks
// for. The request stays on the Application until its outcome is recorded
// in status, and is removed only then: a gyre killed halfway (or a leader
// that loses its lease) leaves it in place, and whoever works next finds it
// with a Running operation state and resumes it (see interruptedState).
func (r *Reconciler) startOperation(ctx context.Context, a *app.Application) (time.Duration, error) {
	// The watched copy may predate gyre's own removal of a finished
	// request: decide on what the API server holds.
	a, err := r.fresh(ctx, a.Key())
	if err != nil || a.Operation == nil {
		return 0, err
	}
	op := *a.Operation
	if st := a.Status.OperationState; st != nil && st.Phase != app.OperationRunning && st.Generation == a.Generation && equality.Semantic.DeepEqual(&st.Operation, &op) {
		// Carried out already; only the removal of the request was lost.
		return 0, r.removeOperation(ctx, a.Key(), op)
	}
	if op.Sync != nil && !op.Sync.DryRun && interruptedState(a, &op) == nil {
		if held, err := r.holdForDependencies(ctx, a, op); held || err != nil {
			return 0, err
		}
	}
	requeue, err := r.carryOut(ctx, a, op, interruptedState(a, &op))
	if err != nil {
		return requeue, err // the request stays; the next look tries again
	}
	return requeue, r.removeOperation(ctx, a.Key(), op)
}

// resumeOperation finishes an operation whose state says Running although
// no worker runs it (every run is synchronous within one reconcile of its
// Application): gyre was killed, or lost its lease, halfway through. An
// automated sync has no request on the Application; its state holds the
// operation, which runs again.
func (r *Reconciler) resumeOperation(ctx context.Context, a *app.Application) (time.Duration, error) {
	a, err := r.fresh(ctx, a.Key())
	if err != nil {
		return 0, err
	}
	if a.Operation != nil {
		return r.startOperation(ctx, a)
	}
	st := a.Status.OperationState
	if st == nil || st.Phase != app.OperationRunning {
		return 0, nil // finished meanwhile
	}
	r.log.Info("resuming an interrupted operation", "app", a.Key(), "started", st.StartedAt.Time)
	return r.carryOut(ctx, a, st.Operation, st)
}

// interruptedState returns a's operation state when it records a run of op
// that never finished, so that the run resumes where it was; else nil.
func interruptedState(a *app.Application, op *app.Operation) *app.OperationState {
	st := a.Status.OperationState
	if st == nil || st.Phase != app.OperationRunning || !equality.Semantic.DeepEqual(&st.Operation, op) {
		return nil
	}
	return st
}

// removeOperation removes a carried-out request from the Application,
// unless it has been replaced by another one meanwhile.
func (r *Reconciler) removeOperation(ctx context.Context, key types.NamespacedName, op app.Operation) error {
	for attempt := 0; ; attempt++ {
		a, err := r.fresh(ctx, key)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if a.Operation == nil || !equality.Semantic.DeepEqual(a.Operation, &op) {
			return nil
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": a.ResourceVersion}, "operation": nil})
		_, err = r.dyn.Resource(app.GroupVersionResource()).Namespace(key.Namespace).Patch(ctx, key.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: r.opts.FieldManager})
		if err == nil || !apierrors.IsConflict(err) || attempt >= 5 {
			if err != nil {
				return fmt.Errorf("application %s: remove the finished operation request: %w", key, err)
			}
			return nil
		}
	}
}

// carryOut runs op on a. interrupted, when not nil, is the state of an
// earlier run of op that never finished: the hooks it ran to success are
// not run again.
func (r *Reconciler) carryOut(ctx context.Context, a *app.Application, op app.Operation, interrupted *app.OperationState) (time.Duration, error) {
	if err := op.Validate(); err != nil {
		return 0, r.rejectOperation(ctx, a, err)
	}
	var before *app.ChangeSet
	var retries int64
	if interrupted != nil {
		before, retries = interrupted.SyncResult, interrupted.RetryCount
	}
	switch {
	case op.Resume != nil:
		// Automation resumes from the branch's head as it is now, not as
		// the last poll saw it.
		r.refreshSources(a.Spec.SourceList())
		if a.ResumeAutomation() {
			_, err := r.putStatus(ctx, a, a.Status)
			return 0, err
		}
		return 0, nil
	case op.Rollback != nil:
		h := a.Status.FindHistory(op.Rollback.ID)
		if h == nil {
			return 0, r.rejectOperation(ctx, a, fmt.Errorf("rollback: no history entry with id %d", op.Rollback.ID))
		}
		entry := *h
		cmp := r.compare(ctx, a, restoreCredentials(entry.SourceList(), a.Spec.SourceList()), entry.Revision)
		if !op.Rollback.DryRun {
			a.SuspendAutomation(app.AutomationSuspension{
				Reason:      fmt.Sprintf("rolled back to history entry %d (%s)", entry.ID, app.ShortRevision(entry.Revision)),
				HistoryID:   entry.ID,
				Revision:    entry.Revision,
				InitiatedBy: op.InitiatedBy,
			}, r.opts.Now())
		}
		p := syncParams{Prune: op.Rollback.Prune, DryRun: op.Rollback.DryRun, Before: before}
		return r.runOperation(ctx, a, &op, cmp, p, retries)
	default:
		s := op.Sync
		if interrupted == nil {
			// A sync asked for now syncs what the branch holds now: the
			// listing of the last poll may predate a push made seconds ago.
			// A resumed run keeps to the revision it started with.
			r.refreshSources(a.Spec.SourceList())
		}
		pinned := s.Revision
		if before != nil && s.Revision == "" {
			pinned = before.Revision
		}
		cmp := r.compare(ctx, a, a.Spec.SourceList(), pinned)
		p := syncParams{Prune: s.Prune, DryRun: s.DryRun, Resources: s.Resources, Options: s.SyncOptions, Before: before}
		return r.runOperation(ctx, a, &op, cmp, p, retries)
	}
}

// restoreCredentials returns recorded sources (a history entry's, which
// keeps repository URLs without user information) with the URLs of the
// Application's current sources where they name the same repository.
func restoreCredentials(recorded, current []app.Source) []app.Source {
	out := make([]app.Source, len(recorded))
	for i, src := range recorded {
		for _, cur := range current {
			if sameRepository(src.RepoURL, cur.RepoURL) {
				src.RepoURL = cur.RepoURL
				break
			}
		}
		out[i] = src
	}
	return out
}

// refreshSources drops the cached ref listings and chart indexes of srcs,
// so what resolves next is what their servers hold now.
func (r *Reconciler) refreshSources(srcs []app.Source) {
	for _, src := range srcs {
		if src.IsChart() {
			if r.opts.Charts != nil {
				r.opts.Charts.Refresh(src.RepoURL)
			}
			continue
		}
		r.source.Refresh(src.RepoURL)
	}
}

// rejectOperation records why a requested operation cannot run.
func (r *Reconciler) rejectOperation(ctx context.Context, a *app.Application, cause error) error {
	st := a.Status.DeepCopy()
	st.SetCondition(app.ConditionInvalidSpecError, "operation rejected: "+cause.Error(), r.opts.Now())
	_, err := r.putStatus(ctx, a, *st)
	return err
}

// automatedSync decides whether automated sync should run now. It returns
// the operation to run with its retry count, or how long to wait before a
// retry is due.
func (r *Reconciler) automatedSync(a *app.Application, cmp *comparison) (*app.Operation, int64, time.Duration) {
	if cmp.err != nil || len(cmp.violations) > 0 || !a.IsAutomated() || !cmp.syncable(a.AutoPrune()) {
		return nil, 0, 0
	}
	if a.Status.SyncHeld() {
		// Its dependencies are not ready (see depends.go); when they
		// become so, the Application is queued again.
		return nil, 0, 0
	}
	var retries int64
	if last := a.Status.OperationState; last != nil && last.SyncResult != nil && last.SyncResult.Revision == cmp.revision && !last.SyncResult.DryRun {
		switch {
		case last.Phase == app.OperationSucceeded && !a.SelfHeal():
			return nil, 0, 0 // synced this revision once; drift is only shown
		case last.Phase == app.OperationFailed || last.Phase == app.OperationError:
			var policy *app.RetryStrategy
			if a.Spec.SyncPolicy != nil {
				policy = a.Spec.SyncPolicy.Retry
			}
			if policy == nil || !policy.Allows(last.RetryCount) {
				return nil, 0, 0 // the failure stands until git or a person changes something
			}
			delay, err := policy.Delay(last.RetryCount)
			if err != nil {
				return nil, 0, 0
			}
			if last.FinishedAt != nil {
				if wait := last.FinishedAt.Add(delay).Sub(r.opts.Now()); wait > 0 {
					return nil, 0, wait
				}
			}
			retries = last.RetryCount + 1
		}
	}
	return &app.Operation{
		Sync:        &app.SyncOperation{Revision: cmp.revision, Prune: a.AutoPrune()},
		InitiatedBy: app.InitiatedBy{Automated: true},
	}, retries, 0
}

// runOperation carries out a sync (or the sync half of a rollback) of what
// cmp found and records it in status: Running first, then the change set
// wave by wave, then the outcome and, on success, a history entry.
func (r *Reconciler) runOperation(ctx context.Context, a *app.Application, op *app.Operation, cmp *comparison, p syncParams, retries int64) (time.Duration, error) {
	start := metav1.NewTime(r.opts.Now())
	state := &app.OperationState{Operation: *op, Phase: app.OperationRunning, Message: "syncing", StartedAt: start, RetryCount: retries}
	if a.Operation != nil {
		state.Generation = a.Generation
	}
	if p.Before != nil {
		state.Message = "resuming after an interruption"
		state.SyncResult = p.Before
	}
	st := a.Status.DeepCopy()
	st.OperationState = state
	a, err := r.writeStatus(ctx, a, *st, !p.decidedOnWatch)
	if err != nil {
		return 0, err
	}
	if p.decidedOnWatch && isRefresh(ctx) {
		r.refreshDone(ctx, a.Key())
	}
	progress := func(cs *app.ChangeSet, msg string) {
		st := a.Status.DeepCopy()
		st.OperationState.SyncResult = cs
		st.OperationState.Message = msg
		if updated, err := r.putStatus(ctx, a, *st); err == nil {
			a = updated
		}
	}

	var cs *app.ChangeSet
	var written map[app.ResourceKey]string
	if cmp.err != nil {
		err = fmt.Errorf("comparison failed: %w", cmp.err)
		cs = &app.ChangeSet{Revision: cmp.revision, Revisions: cmp.multiRevisions(), DryRun: p.DryRun}
	} else {
		cs, written, err = r.execute(ctx, a, cmp, p, progress)
	}
	// The comparison the sync leads to is recorded with its outcome, in
	// one write, once the live cache shows what the sync did.
	var after *comparison
	if err == nil && !p.DryRun && ctx.Err() == nil && r.caughtUp(ctx, cmp.dst, written, cs) {
		after = r.compare(ctx, a, a.Spec.SourceList(), "")
	}

	st = a.Status.DeepCopy()
	finished := metav1.NewTime(r.opts.Now())
	st.OperationState.SyncResult = cs
	st.OperationState.FinishedAt = &finished
	if err != nil {
		st.OperationState.Phase = app.OperationFailed
		st.OperationState.Message = err.Error()
		st.SetCondition(app.ConditionSyncError, "sync failed: "+err.Error(), finished.Time)
		r.log.Info("sync failed", "app", a.Key(), "revision", app.ShortRevision(cmp.revision), "err", err)
	} else {
		st.OperationState.Phase = app.OperationSucceeded
		st.OperationState.Message = summarize(cs)
		st.RemoveCondition(app.ConditionSyncError)
		if !p.DryRun {
			e := app.HistoryEntry{
				Revision:        cmp.revision,
				DeployedAt:      finished,
				DeployStartedAt: &start,
				InitiatedBy:     op.InitiatedBy,
			}
			if srcs := historySources(cmp.sources); len(srcs) == 1 {
				e.Source = srcs[0]
			} else {
				e.Sources, e.Revisions = srcs, cmp.revisions
			}
			st.AddHistory(e, a.HistoryLimit())
		}
		r.log.Info("synced", "app", a.Key(), "revision", app.ShortRevision(cmp.revision), "result", st.OperationState.Message)
	}
	if ctx.Err() != nil {
		// Shutting down: record how far the operation got, still Running,
		// with a moment of its own to do so; whoever works next resumes it.
		st.OperationState.Phase = app.OperationRunning
		st.OperationState.FinishedAt = nil
		st.OperationState.Message = "interrupted: gyre stopped during the operation; it resumes when gyre is back"
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := r.putStatus(ctx, a, *st); err != nil {
			return 0, err
		}
		return 0, ctx.Err()
	}
	if after != nil {
		done := a.DeepCopy()
		done.Status = *st
		st, _ = r.comparedStatus(ctx, done, after)
	}
	if _, err := r.putStatus(ctx, a, *st); err != nil {
		return 0, err
	}
	r.opts.Observer.OperationFinished(a.Key(), st.OperationState.Phase)
	return 0, nil // the watch brings the app back with its new status
}

// catchUpTimeout bounds the wait for the live cache to show what a sync
// wrote. The watch usually brings it within milliseconds; when it does not,
// the sync's outcome is written alone and the watch event brings the
// comparison after it.
const catchUpTimeout = 2 * time.Second

// observeTimeout bounds the further wait, once the cache shows what a sync
// wrote, for the controllers of those objects to observe them (see
// health.Observed). A Deployment's controller usually does within
// milliseconds; the outcome written after it then carries the health its
// status leads to, where it would otherwise say "waiting for rollout to be
// observed" and need a second write moments later. Waiting for a rollout
// itself is not this: that is health, which the outcome records as it is.
const observeTimeout = time.Second

// caughtUp waits until dst's live cache shows every object a sync wrote
// (written: their resourceVersions as the writes returned them) at that
// resourceVersion or a later one, and every object its change set pruned
// gone; it reports false when catchUpTimeout passed first. Then it waits,
// at most observeTimeout, for the written objects to be observed by their
// controllers.
func (r *Reconciler) caughtUp(ctx context.Context, dst *target, written map[app.ResourceKey]string, cs *app.ChangeSet) bool {
	if !poll(ctx, catchUpTimeout, func() bool { return dst.shows(written, cs) }) {
		return false
	}
	// Each object is decoded again only when the cache holds a new version.
	unobserved := map[app.ResourceKey]string{} // → the version last found unobserved
	for k := range written {
		unobserved[k] = ""
	}
	poll(ctx, observeTimeout, func() bool {
		for k, seen := range unobserved {
			if v, ok := dst.live.Version(k); ok && v == seen {
				continue
			}
			obj, ok := dst.live.Get(k)
			if !ok || health.Observed(obj) {
				delete(unobserved, k)
				continue
			}
			unobserved[k] = obj.GetResourceVersion()
		}
		return len(unobserved) == 0
	})
	return ctx.Err() == nil
}

// poll calls done every 10 ms until it reports true (poll then does too),
// timeout passes or ctx ends.
func poll(ctx context.Context, timeout time.Duration, done func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if done() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// shows reports whether t's live cache holds what a sync did: see caughtUp.
func (t *target) shows(written map[app.ResourceKey]string, cs *app.ChangeSet) bool {
	for k, rv := range written {
		if v, ok := t.live.Version(k); !ok || !notOlder(v, rv) {
			return false
		}
	}
	for _, c := range cs.Resources {
		if c.Action != app.ActionPruned {
			continue
		}
		k := app.ResourceKey{Group: c.Group, Kind: c.Kind, Namespace: c.Namespace, Name: c.Name}
		if _, ok := t.live.Version(k); ok {
			return false
		}
	}
	return true
}

// notOlder reports whether resourceVersion have is want or a later one.
// resourceVersions are opaque, but those of one resource from one API
// server grow; ones that do not parse as numbers are only compared for
// equality.
func notOlder(have, want string) bool {
	if have == want || want == "" {
		return true
	}
	h, err1 := strconv.ParseUint(have, 10, 64)
	w, err2 := strconv.ParseUint(want, 10, 64)
	return err1 == nil && err2 == nil && h >= w
}

// historySources are srcs as history records them: repository URLs without
// user information, which may hold a password or token.
func historySources(srcs []app.Source) []app.Source {
	out := make([]app.Source, len(srcs))
	for i, src := range srcs {
		src.RepoURL = source.Redact(src.RepoURL)
		out[i] = src
	}
	return out
}

// sameRepository reports whether two spellings of a repository URL name the
// same repository, credentials aside.
func sameRepository(a, b string) bool {
	na, errA := source.NormalizeURL(a)
	nb, errB := source.NormalizeURL(b)
	return errA == nil && errB == nil && na == nb
}

// summarize says what a change set did in one line.
func summarize(cs *app.ChangeSet) string {
	verb := "synced"
	if cs.DryRun {
		verb = "dry run"
	}
	return fmt.Sprintf("%s %s: %d created, %d configured, %d unchanged, %d pruned, %d skipped", verb, app.ShortRevision(cs.Revision),
		cs.Count(app.ActionCreated), cs.Count(app.ActionConfigured), cs.Count(app.ActionUnchanged), cs.Count(app.ActionPruned), cs.Count(app.ActionSkipped))
}

// execute runs the plan for what cmp found: pre-flight dry run of every
// object, then wave by wave prune and apply (waiting for health before the
// next wave). The returned change set holds what was done, also on error;
// the map, the resourceVersion each applied object (hooks aside) was
// written at.
func (r *Reconciler) execute(ctx context.Context, a *app.Application, cmp *comparison, p syncParams, progress func(*app.ChangeSet, string)) (*app.ChangeSet, map[app.ResourceKey]string, error) {
	cs := &app.ChangeSet{Revision: cmp.revision, Revisions: cmp.multiRevisions(), DryRun: p.DryRun}
	// written holds the resourceVersion of every object applied (hooks
	// aside), for caughtUp.
	written := map[app.ResourceKey]string{}
	if len(cmp.violations) > 0 {
		for k, v := range cmp.violations {
			cs.Resources = append(cs.Resources, app.Change{Group: k.Group, Kind: k.Kind, Namespace: k.Namespace, Name: k.Name, Action: app.ActionFailed, Message: v.Error()})
		}
		slices.SortFunc(cs.Resources, func(x, y app.Change) int { return strings.Compare(x.Message, y.Message) })
		return cs, written, fmt.Errorf("%d object(s) refused, nothing was applied: %s", len(cmp.violations), firstFailure(cs))
	}
	options := p.Options
	if a.Spec.SyncPolicy != nil {
		options = append(append(app.SyncOptions{}, a.Spec.SyncPolicy.SyncOptions...), options...)
	}
	plan, err := NewPlan(cmp.desired, cmp.inventory, PlanOptions{AppNamespace: a.Namespace, AppName: a.Name, Prune: p.Prune, Resources: p.Resources,
		PruneLast: options.True(app.OptionPruneLast)})
	if err != nil {
		return cs, written, fmt.Errorf("refused, nothing was applied: %w", err)
	}
	if err := r.admitHooks(ctx, cmp.dst, cmp.policy, plan); err != nil {
		return cs, written, fmt.Errorf("refused, nothing was applied: %w", err)
	}
	pending := "" // a namespace this sync would create but a dry run does not
	if ns := a.Spec.Destination.Namespace; options.True(app.OptionCreateNamespace) && ns != "" {
		if !p.DryRun {
			if err := r.ensureNamespace(ctx, cmp.dst, ns); err != nil {
				return cs, written, err
			}
		} else if _, err := cmp.dst.dyn.Resource(namespaces).Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			pending = ns
		}
	}
	wo := writeOptions{Options: options, Ignore: a.Spec.IgnoreDifferences, dst: cmp.dst}
	if failed := r.preflight(ctx, plan, wo, pending, cs); failed > 0 {
		return cs, written, fmt.Errorf("%d object(s) failed validation, nothing was applied: %s", failed, firstFailure(cs))
	}
	if p.DryRun {
		r.describeDryRun(plan, cmp, cs)
		return cs, written, nil
	}
	statusOf := map[app.ResourceKey]diff.Status{}
	for _, res := range cmp.results {
		statusOf[res.Key] = res.Status
	}
	for i, w := range plan.Waves {
		var applied []*unstructured.Unstructured
		var hooks []hookRun
		for _, t := range w.Prune {
			if t.Action == TaskSkip {
				cs.Resources = append(cs.Resources, pruneChange(t, w, app.ActionSkipped, t.Reason))
				continue
			}
			cs.Resources = append(cs.Resources, r.prune(ctx, cmp.dst, a, cmp.policy, t, w, options))
		}
		// Objects are applied in kind order, those of one apply tier at
		// once (see applyTier); hooks start one by one, in their place.
		var batch []Task
		flush := func() {
			objs, changes := r.applyBatch(ctx, batch, w, wo, func(t Task) bool {
				return options.True(app.OptionApplyOutOfSyncOnly) && statusOf[t.Key] == diff.InSync
			})
			for j, t := range batch {
				cs.Resources = append(cs.Resources, changes[j])
				if objs[j] != nil {
					applied = append(applied, objs[j])
					written[t.Key] = objs[j].GetResourceVersion()
				}
			}
			batch = batch[:0]
		}
		for _, t := range w.Tasks {
			if t.Action == TaskApply {
				if len(batch) > 0 && applyTier(batch[0]) != applyTier(t) {
					flush()
				}
				batch = append(batch, t)
				continue
			}
			flush()
			switch t.Action {
			case TaskSkip:
				cs.Resources = append(cs.Resources, change(t, w, app.ActionSkipped, t.Reason))
			case TaskRunHook:
				if c, done := ranBefore(p.Before, cmp.revision, t, w); done {
					cs.Resources = append(cs.Resources, c)
					continue
				}
				run, c := r.startHook(ctx, t, w, wo)
				cs.Resources = append(cs.Resources, c)
				if run.obj != nil {
					hooks = append(hooks, run)
					applied = append(applied, run.obj)
				}
			}
		}
		flush()
		if cs.Failed() {
			r.runSyncFail(ctx, plan, wo, cs)
			return cs, written, fmt.Errorf("%s wave %d: %s", w.Phase, w.Wave, firstFailure(cs))
		}
		// Progress is recorded while there is something to wait for; the
		// last wave's outcome goes with the operation's.
		last := i == len(plan.Waves)-1
		if !last || len(hooks) > 0 {
			progress(cs, fmt.Sprintf("%s wave %d applied", w.Phase, w.Wave))
			if err := r.waitHealthy(ctx, cmp.dst, applied, r.opts.WaveTimeout); err != nil {
				r.finishHooks(ctx, cmp.dst, hooks, cs, false)
				r.runSyncFail(ctx, plan, wo, cs)
				return cs, written, fmt.Errorf("%s wave %d: %w", w.Phase, w.Wave, err)
			}
			r.finishHooks(ctx, cmp.dst, hooks, cs, true)
			progress(cs, fmt.Sprintf("%s wave %d healthy", w.Phase, w.Wave))
		}
	}
	return cs, written, nil
}

// ranBefore reports whether an interrupted run of this operation (its change
// set before) already ran the hook of task t to success at revision, and
// returns that run's entry: a resumed operation does not run it again.
func ranBefore(before *app.ChangeSet, revision string, t Task, w Wave) (app.Change, bool) {
	if before == nil || before.Revision != revision || t.Desired.GetName() == "" {
		return app.Change{}, false
	}
	for _, c := range before.Resources {
		if c.HookType != "" && c.HookPhase == app.OperationSucceeded && c.Kind == t.Key.Kind && c.Namespace == t.Key.Namespace &&
			c.Name == t.Key.Name && c.SyncPhase == w.Phase && c.Wave == w.Wave {
			c.Message = "ran before the interruption; not run again"
			return c, true
		}
	}
	return app.Change{}, false
}

// change builds the change-set entry of a task.
func change(t Task, w Wave, action app.Action, msg string) app.Change {
	c := app.Change{Group: t.Key.Group, Kind: t.Key.Kind, Namespace: t.Key.Namespace, Name: t.Key.Name,
		Action: action, Message: msg, SyncPhase: w.Phase, Wave: w.Wave}
	if t.Desired != nil {
		c.Version = t.Desired.GroupVersionKind().Version
	}
	if t.Action == TaskRunHook {
		c.HookType = t.Policy.Phase
	}
	return c
}

func firstFailure(cs *app.ChangeSet) string {
	for _, c := range cs.Resources {
		if c.Action == app.ActionFailed {
			return c.Message
		}
	}
	return "failed"
}

// applyConcurrency is how many objects of one apply tier a sync writes at
// once, and how many dry runs its pre-flight check makes at once.
const applyConcurrency = 8

// applyTier groups the kinds whose objects may be applied at once: an
// object may depend on one of an earlier tier being there (a namespace, a
// custom resource definition, the role a binding grants, a webhook's
// configuration coming last), never on one of its own tier. A wave's
// tasks come in kind order, and each run of tasks of one tier is applied
// together, so a tier may come round more than once.
func applyTier(t Task) int {
	switch rank := rankOf(schema.GroupKind{Group: t.Key.Group, Kind: t.Key.Kind}); {
	case rank <= rankCustomResourceDefinition:
		return int(rank)
	case rank == rankClusterRoleBinding || rank == rankClusterRoleBindingList:
		return 3 // after the ClusterRoles; the Roles that follow them come next
	case rank <= rankRoleList:
		return 2 // definitions: policies, accounts, configuration, storage, roles
	case rank <= rankOther:
		return 3 // what uses them: bindings, workloads, services, custom resources
	default:
		return int(rank) // admission policies, their bindings, webhooks: one by one
	}
}

// applyBatch applies the tasks of one tier at once (applyTask each, at most
// applyConcurrency at a time; skip says which ApplyOutOfSyncOnly leaves
// alone) and returns their objects and changes in task order.
func (r *Reconciler) applyBatch(ctx context.Context, tasks []Task, w Wave, wo writeOptions, skip func(Task) bool) ([]*unstructured.Unstructured, []app.Change) {
	objs := make([]*unstructured.Unstructured, len(tasks))
	changes := make([]app.Change, len(tasks))
	var g errgroup.Group
	g.SetLimit(applyConcurrency)
	for i, t := range tasks {
		g.Go(func() error {
			objs[i], changes[i] = r.applyTask(ctx, t, w, wo, skip(t))
			return nil
		})
	}
	g.Wait()
	return objs, changes
}

// applyTask writes one object as wo says (see forTask) and says whether it
// was created, configured or left unchanged.
func (r *Reconciler) applyTask(ctx context.Context, t Task, w Wave, wo writeOptions, skipInSync bool) (*unstructured.Unstructured, app.Change) {
	if skipInSync {
		return t.Live, change(t, w, app.ActionUnchanged, "in sync (ApplyOutOfSyncOnly)")
	}
	desired, o, err := r.forTask(ctx, t, wo)
	if err != nil {
		return nil, change(t, w, app.ActionFailed, fmt.Sprintf("%s: %v", t.Key, err))
	}
	verb := "apply"
	if o.Replace {
		verb = "replace"
	}
	out, err := r.apply(ctx, wo.dst, desired, o)
	if err != nil {
		return nil, change(t, w, app.ActionFailed, fmt.Sprintf("%s: %s failed: %v", t.Key, verb, err))
	}
	if t.Live == nil {
		// Its kind may be new to the live cache (a custom resource whose
		// definition came with this sync): watch it, or the wave would
		// wait for it in vain.
		if err := wo.dst.live.Watch(ctx, out.GroupVersionKind()); err != nil {
			r.log.Warn("cannot watch a created object's kind", "object", t.Key, "err", err)
		}
	}
	switch {
	case t.Live == nil:
		return out, change(t, w, app.ActionCreated, "")
	case out.GetResourceVersion() == t.Live.GetResourceVersion():
		return out, change(t, w, app.ActionUnchanged, "")
	default:
		return out, change(t, w, app.ActionConfigured, "")
	}
}

// preflight dry-runs every object the plan applies, with the verb and
// options the sync will use (apply, or replace), so that an object the API
// server would reject fails the sync before anything is changed. Kinds the
// API server does not know yet (their CRD comes in the same sync, or with
// SkipDryRunOnMissingResource from elsewhere) cannot be checked and are
// skipped, and so are objects in pendingNamespace, which a dry run of a first
// sync does not create. The dry runs are made at once, applyConcurrency at
// a time. It returns how many failed, recording them in cs in plan order.
func (r *Reconciler) preflight(ctx context.Context, plan *Plan, wo writeOptions, pendingNamespace string, cs *app.ChangeSet) int {
	type check struct {
		t   Task
		w   Wave
		err error
	}
	var checks []*check
	for _, w := range plan.Waves {
		for _, t := range w.Tasks {
			if t.Action != TaskApply || t.Desired == nil || (pendingNamespace != "" && t.Desired.GetNamespace() == pendingNamespace) {
				continue
			}
			if _, err := wo.dst.resourceFor(t.Desired); err != nil {
				continue // CRD not installed yet
			}
			checks = append(checks, &check{t: t, w: w})
		}
	}
	var g errgroup.Group
	g.SetLimit(applyConcurrency)
	for _, c := range checks {
		g.Go(func() error {
			desired, o, err := r.forTask(ctx, c.t, wo)
			if err == nil {
				o.DryRun = true
				_, err = r.apply(ctx, wo.dst, desired, o)
			}
			c.err = err
			return nil
		})
	}
	g.Wait()
	failed := 0
	for _, c := range checks {
		if c.err != nil {
			failed++
			cs.Resources = append(cs.Resources, change(c.t, c.w, app.ActionFailed, fmt.Sprintf("%s: %v", c.t.Key, c.err)))
		}
	}
	return failed
}

// describeDryRun fills cs with what a sync would do, from the comparison.
func (r *Reconciler) describeDryRun(plan *Plan, cmp *comparison, cs *app.ChangeSet) {
	statusOf := map[app.ResourceKey]diff.Status{}
	for _, res := range cmp.results {
		statusOf[res.Key] = res.Status
	}
	for _, w := range plan.Waves {
		for _, t := range w.Prune {
			action := app.ActionPruned
			if t.Action == TaskSkip {
				action = app.ActionSkipped
			}
			cs.Resources = append(cs.Resources, pruneChange(t, w, action, t.Reason))
		}
		for _, t := range w.Tasks {
			action := app.ActionConfigured
			switch {
			case t.Action == TaskSkip:
				action = app.ActionSkipped
			case t.Live == nil:
				action = app.ActionCreated
			case statusOf[t.Key] == diff.InSync:
				action = app.ActionUnchanged
			}
			cs.Resources = append(cs.Resources, change(t, w, action, t.Reason))
		}
	}
}

var namespaces = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// ensureNamespace creates the destination namespace if it does not exist. It
// carries no tracking id: gyre never prunes a namespace it created this way.
func (r *Reconciler) ensureNamespace(ctx context.Context, dst *target, name string) error {
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}}
	if _, err := r.apply(ctx, dst, ns, applyOptions{Force: false}); err != nil {
		return fmt.Errorf("Namespace/%s: create: %w", name, err)
	}
	return nil
}

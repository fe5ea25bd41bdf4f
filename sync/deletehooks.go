package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gyre-cd/gyre/admit"
	"github.com/gyre-cd/gyre/app"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// The annotations through which the steps of an Application's deletion are
// recorded in the cluster, so that a gyre that restarts halfway goes on
// where the last one stopped instead of running a hook again.
const (
	// deleteRunAnnotation marks an object gyre created as a run of a delete
	// hook; its value is the phase (PreDelete or PostDelete). Such an object
	// is not deleted with the Application's other objects but cleaned up
	// last, by its delete policy.
	deleteRunAnnotation = "gyre.dev/delete-hook-run"
	// deleteHooksDoneAnnotation, on the Application, lists the delete
	// phases whose hooks have all succeeded.
	deleteHooksDoneAnnotation = "gyre.dev/delete-hooks-done"
)

// hookWait is how soon a deleted Application is looked at again while one
// of its delete hooks runs, and blockedWait how soon after a delete hook
// failed or was refused (deleting the failed run lets it run again).
const (
	hookWait    = 500 * time.Millisecond
	blockedWait = 5 * time.Second
)

// deleteHooks renders the deleted Application a at its target revision and
// returns its PreDelete and PostDelete hooks, placed in their namespaces
// and marked with a's tracking annotation and label, as a sync would. An
// object whose annotations cannot be read is an error only when its hook
// annotation names a delete phase; any other object is no concern of the
// deletion. Hooks from a repository or for an Application the policy
// refuses are an error.
func (r *Reconciler) deleteHooks(ctx context.Context, dst *target, a *app.Application, pol admit.Policy) (map[DeletePhase][]*unstructured.Unstructured, error) {
	rs, err := r.resolveSources(ctx, a.Spec.SourceList(), "")
	if err != nil {
		return nil, err
	}
	res, err := r.renderSources(ctx, a, rs)
	if err != nil {
		return nil, err
	}
	if err := r.watchTracked(ctx, dst, a, res.Unstructured()); err != nil {
		return nil, err
	}
	hooks := map[DeletePhase][]*unstructured.Unstructured{}
	for _, o := range res.Unstructured() {
		p, err := PolicyOf(o)
		if err != nil {
			if _, v, _ := firstAnnotation(o.GetAnnotations(), HookAnnotation, ArgoHookAnnotation); strings.Contains(v, "Delete") {
				return nil, err
			}
			continue
		}
		if len(p.DeletePhases) == 0 {
			continue
		}
		if v := pol.Application(); v != nil {
			return nil, v // its project, every source's repository, its destination
		}
		namespaced, err := dst.namespaced(o.GroupVersionKind())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", describe(o), err)
		}
		switch {
		case !namespaced:
			o.SetNamespace("")
		case o.GetNamespace() == "":
			o.SetNamespace(a.Spec.Destination.Namespace)
		}
		mark(a, o)
		for _, ph := range p.DeletePhases {
			hooks[ph] = append(hooks[ph], o)
		}
	}
	return hooks, nil
}

// runDeleteHooks makes sure every hook of phase has a run that succeeded:
// it creates the runs that do not exist yet and reads how the others
// stand. It returns how soon to look again while a run is not finished, and
// an error, naming the hook, when one failed or may not be written. A run
// is found again by its name (or, for a hook with only a generateName, by
// its tracking id and generateName) and deleteRunAnnotation, so a hook that
// succeeded before gyre restarted is not run again. A failed run stays and
// blocks the deletion, unless the hook's delete policy is HookFailed: then
// it is removed, and runs again at the next look.
func (r *Reconciler) runDeleteHooks(ctx context.Context, dst *target, a *app.Application, pol admit.Policy, phase DeletePhase, hooks []*unstructured.Unstructured) (time.Duration, error) {
	var errs []error
	pending := false
	for _, h := range hooks {
		p, err := PolicyOf(h)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		runs, other, err := r.runsOf(ctx, dst, a, h)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s hook %s: %w", phase, describe(h), err))
			continue
		}
		i := slices.IndexFunc(runs, func(o *unstructured.Unstructured) bool {
			return o.GetAnnotations()[deleteRunAnnotation] == string(phase)
		})
		if i < 0 {
			if err := r.startDeleteHook(ctx, dst, a, pol, phase, h, p, runs, other); err != nil {
				errs = append(errs, fmt.Errorf("%s hook %s: %w", phase, describe(h), err))
				continue
			}
			pending = true
			continue
		}
		run := runs[i]
		done, failed, msg := r.hookOutcome(run)
		switch {
		case failed && p.HasDeletePolicy(HookFailed):
			r.deleteRun(ctx, dst, run)
			errs = append(errs, fmt.Errorf("%s hook %s failed: %s; removed (HookFailed), it runs again at the next attempt", phase, app.KeyOf(run), msg))
		case failed:
			errs = append(errs, fmt.Errorf("%s hook %s failed: %s; the Application and its objects stay until it succeeds (delete the failed object to run it again, or remove the finalizer %s to delete without it)",
				phase, app.KeyOf(run), msg, ResourcesFinalizer))
		case !done:
			pending = true
		}
	}
	if len(errs) > 0 {
		return 0, errors.Join(errs...)
	}
	if pending {
		return hookWait, nil
	}
	return 0, nil
}

// startDeleteHook creates a run of hook h (policy p) for phase, after
// asking the policy. A named hook's object that exists but is not a run for
// this phase (a sync's run of the same hook, or its run in the other delete
// phase) is deleted first.
func (r *Reconciler) startDeleteHook(ctx context.Context, dst *target, a *app.Application, pol admit.Policy, phase DeletePhase, h *unstructured.Unstructured, p ObjectPolicy, runs []*unstructured.Unstructured, other *unstructured.Unstructured) error {
	k := app.KeyOf(h)
	current := other
	if current == nil && h.GetName() != "" && len(runs) > 0 {
		current = runs[0]
	}
	if v := pol.Object(k, h.GetNamespace() != "", current); v != nil {
		return v
	}
	if current != nil {
		if err := r.deletePreviousHook(ctx, dst, h); err != nil {
			return fmt.Errorf("remove the earlier object: %w", err)
		}
	}
	obj := h.DeepCopy()
	ann := obj.GetAnnotations()
	ann[deleteRunAnnotation] = string(phase)
	obj.SetAnnotations(ann)
	var options app.SyncOptions
	if a.Spec.SyncPolicy != nil {
		options = a.Spec.SyncPolicy.SyncOptions
	}
	desired, o, err := r.forTask(ctx, Task{Key: k, Desired: obj, Policy: p, Action: TaskRunHook}, writeOptions{Options: options, dst: dst})
	if err != nil {
		return err
	}
	if _, err := r.apply(ctx, dst, desired, o); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	r.log.Info("delete hook started", "app", a.Key(), "phase", phase, "hook", describe(h))
	return nil
}

// runsOf returns the live runs of delete hook h (objects that carry
// deleteRunAnnotation and h's tracking id), newest first. For a named hook,
// other is the object of that name when it is not such a run; an object of
// that name that another Application or a person owns is an error.
func (r *Reconciler) runsOf(ctx context.Context, dst *target, a *app.Application, h *unstructured.Unstructured) (runs []*unstructured.Unstructured, other *unstructured.Unstructured, err error) {
	ri, err := dst.resourceFor(h)
	if err != nil {
		return nil, nil, err
	}
	tracking := h.GetAnnotations()[app.TrackingAnnotation]
	if name := h.GetName(); name != "" {
		obj, err := ri.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if got := obj.GetAnnotations()[app.TrackingAnnotation]; got != tracking {
			return nil, nil, &admit.Violation{Key: app.KeyOf(h), Rule: admit.RuleOwnedByAnotherApp,
				Message: fmt.Sprintf("an object of this name exists and is not this hook's (tracking id %q); a hook never replaces it", got)}
		}
		if _, ok := obj.GetAnnotations()[deleteRunAnnotation]; !ok {
			return nil, obj, nil
		}
		return []*unstructured.Unstructured{obj}, nil, nil
	}
	list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: labels.Set{app.AppLabel: a.AppLabelValue()}.String()})
	if err != nil {
		return nil, nil, err
	}
	for i := range list.Items {
		o := &list.Items[i]
		if _, ok := o.GetAnnotations()[deleteRunAnnotation]; ok && o.GetAnnotations()[app.TrackingAnnotation] == tracking && o.GetGenerateName() == h.GetGenerateName() {
			runs = append(runs, o)
		}
	}
	slices.SortFunc(runs, func(x, y *unstructured.Unstructured) int {
		return y.GetCreationTimestamp().Compare(x.GetCreationTimestamp().Time)
	})
	return runs, nil, nil
}

// hookOutcome says how a hook's run stands, by its health: done when it is
// Healthy, Suspended or has no health (a ConfigMap, say), failed when it is
// Degraded, else still running.
func (r *Reconciler) hookOutcome(run *unstructured.Unstructured) (done, failed bool, msg string) {
	h, ok := r.opts.Health.Check(run)
	if !ok {
		return true, false, ""
	}
	switch h.Status {
	case app.Healthy, app.Suspended:
		return true, false, h.Message
	case app.Degraded:
		return false, true, h.Message
	}
	return false, false, h.Message
}

// deleteRun deletes a hook's run, best effort.
func (r *Reconciler) deleteRun(ctx context.Context, dst *target, run *unstructured.Unstructured) error {
	ri, err := dst.resourceFor(run)
	if err != nil {
		return err
	}
	uid := run.GetUID()
	err = ri.Delete(ctx, run.GetName(), metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground), Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// cleanUpDeleteHooks deletes the runs of hooks as their delete policies say:
// a run that succeeded goes with HookSucceeded (the default of a hook that
// runs only on deletion), one that failed with HookFailed; others stay.
func (r *Reconciler) cleanUpDeleteHooks(ctx context.Context, dst *target, a *app.Application, hooks []*unstructured.Unstructured) error {
	for _, h := range hooks {
		p, err := PolicyOf(h)
		if err != nil {
			continue
		}
		runs, _, err := r.runsOf(ctx, dst, a, h)
		if err != nil {
			return fmt.Errorf("delete hook %s: clean up: %w", describe(h), err)
		}
		for _, run := range runs {
			done, failed, _ := r.hookOutcome(run)
			if (done && p.HasDeletePolicy(HookSucceeded)) || (failed && p.HasDeletePolicy(HookFailed)) {
				if err := r.deleteRun(ctx, dst, run); err != nil {
					return fmt.Errorf("delete hook %s: clean up: %w", app.KeyOf(run), err)
				}
			}
		}
	}
	return nil
}

// deleteHooksDone returns the delete phases a's deleteHooksDoneAnnotation
// records as finished.
func deleteHooksDone(a *app.Application) map[DeletePhase]bool {
	done := map[DeletePhase]bool{}
	for _, ph := range splitList(a.Annotations[deleteHooksDoneAnnotation]) {
		done[DeletePhase(ph)] = true
	}
	return done
}

// markDeleteHooksDone records on the Application that the hooks of phase
// have all succeeded, and returns the updated Application.
func (r *Reconciler) markDeleteHooksDone(ctx context.Context, a *app.Application, phase DeletePhase) (*app.Application, error) {
	done := splitList(a.Annotations[deleteHooksDoneAnnotation])
	if !slices.Contains(done, string(phase)) {
		done = append(done, string(phase))
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": a.ResourceVersion,
		"annotations":     map[string]any{deleteHooksDoneAnnotation: strings.Join(done, ",")},
	}})
	u, err := r.dyn.Resource(app.GroupVersionResource()).Namespace(a.Namespace).Patch(ctx, a.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: r.opts.FieldManager})
	if err != nil {
		return nil, fmt.Errorf("application %s: record the finished %s hooks: %w", a.Key(), phase, err)
	}
	return app.FromUnstructured(u)
}

// blockDeletion records why the deletion of a cannot go on as a
// DeletionError condition, and says to look again after blockedWait.
func (r *Reconciler) blockDeletion(ctx context.Context, a *app.Application, cause error) (time.Duration, error) {
	r.log.Info("application deletion blocked", "app", a.Key(), "reason", cause)
	st := a.Status.DeepCopy()
	if !st.SetCondition(app.ConditionDeletionError, cause.Error(), r.opts.Now()) {
		return blockedWait, nil
	}
	if _, err := r.putStatus(ctx, a, *st); err != nil {
		return 0, err
	}
	return blockedWait, nil
}

// clearDeletionError removes a DeletionError condition that no longer
// holds.
func (r *Reconciler) clearDeletionError(ctx context.Context, a *app.Application) error {
	st := a.Status.DeepCopy()
	if !st.RemoveCondition(app.ConditionDeletionError) {
		return nil
	}
	_, err := r.putStatus(ctx, a, *st)
	return err
}

// watchTracked makes sure the live cache watches every kind that a's status
// lists or its current render declares, before the finalizer looks for what
// to delete. After a restart a deleting Application is finalized without a
// comparison first, and objects of a kind nothing else made gyre watch yet
// would be missed and left behind. Kinds the API server no longer knows
// have no objects left to delete.
func (r *Reconciler) watchTracked(ctx context.Context, dst *target, a *app.Application, rendered []*unstructured.Unstructured) error {
	seen := map[schema.GroupVersionKind]bool{}
	var gvks []schema.GroupVersionKind
	add := func(gvk schema.GroupVersionKind) {
		if gvk.Kind != "" && gvk.Version != "" && !seen[gvk] {
			seen[gvk] = true
			gvks = append(gvks, gvk)
		}
	}
	for _, rs := range a.Status.Resources {
		add(schema.GroupVersionKind{Group: rs.Group, Version: rs.Version, Kind: rs.Kind})
	}
	for _, o := range rendered {
		add(o.GroupVersionKind())
	}
	for _, gvk := range gvks {
		if err := dst.live.Watch(ctx, gvk); err != nil && !meta.IsNoMatchError(err) {
			return err
		}
	}
	return nil
}

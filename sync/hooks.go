package sync

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gyre-cd/gyre/app"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

// hookRun is a hook started in a wave, finished after the wave's wait.
type hookRun struct {
	task  Task
	wave  Wave
	obj   *unstructured.Unstructured // as created
	index int                        // its entry in the change set
}

// startHook creates a hook's object, written as wo says. With
// BeforeHookCreation (the default) a previous run's object of the same name
// is deleted first.
func (r *Reconciler) startHook(ctx context.Context, t Task, w Wave, wo writeOptions) (hookRun, app.Change) {
	run := hookRun{task: t, wave: w}
	if t.Desired.GetName() != "" && slices.Contains(t.Policy.DeletePolicies, BeforeHookCreation) {
		if err := r.deletePreviousHook(ctx, wo.dst, t.Desired); err != nil {
			return run, change(t, w, app.ActionFailed, fmt.Sprintf("%s: remove previous hook: %v", t.Key, err))
		}
	}
	desired, o, err := r.forTask(ctx, t, wo)
	if err != nil {
		return run, change(t, w, app.ActionFailed, fmt.Sprintf("%s: create hook: %v", t.Key, err))
	}
	obj, err := r.apply(ctx, wo.dst, desired, o)
	if err != nil {
		return run, change(t, w, app.ActionFailed, fmt.Sprintf("%s: create hook: %v", t.Key, err))
	}
	run.obj = obj
	c := change(t, w, app.ActionCreated, "")
	c.Name = obj.GetName()
	c.HookPhase = app.OperationRunning
	return run, c
}

// finishHooks records how the wave's hooks ended and applies their delete
// policies.
func (r *Reconciler) finishHooks(ctx context.Context, dst *target, hooks []hookRun, cs *app.ChangeSet, succeeded bool) {
	for _, h := range hooks {
		phase, policy := app.OperationSucceeded, HookSucceeded
		if !succeeded {
			phase, policy = app.OperationFailed, HookFailed
		}
		for i := range cs.Resources {
			c := &cs.Resources[i]
			if c.Kind == h.obj.GetKind() && c.Namespace == h.obj.GetNamespace() && c.Name == h.obj.GetName() && c.HookType != "" {
				c.HookPhase = phase
			}
		}
		if slices.Contains(h.task.Policy.DeletePolicies, policy) {
			ri, err := dst.resourceFor(h.obj)
			if err == nil {
				ri.Delete(ctx, h.obj.GetName(), metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
			}
		}
	}
}

// runSyncFail runs the SyncFail hooks after a failed phase, best effort.
func (r *Reconciler) runSyncFail(ctx context.Context, plan *Plan, wo writeOptions, cs *app.ChangeSet) {
	w := Wave{Phase: app.SyncPhaseSyncFail}
	var runs []hookRun
	for _, t := range plan.SyncFail {
		run, c := r.startHook(ctx, t, w, wo)
		cs.Resources = append(cs.Resources, c)
		if run.obj != nil {
			runs = append(runs, run)
		}
	}
	if len(runs) == 0 {
		return
	}
	objs := make([]*unstructured.Unstructured, len(runs))
	for i, run := range runs {
		objs[i] = run.obj
	}
	err := r.waitHealthy(ctx, wo.dst, objs, r.opts.WaveTimeout)
	r.finishHooks(ctx, wo.dst, runs, cs, err == nil)
}

// deletePreviousHook deletes the previous run of a hook, if there is one,
// and waits until it is gone. The live object is read first, and deleted
// (with its uid as a precondition) only when its tracking id is the hook's
// own: a hook never replaces an object it does not own.
func (r *Reconciler) deletePreviousHook(ctx context.Context, dst *target, hook *unstructured.Unstructured) error {
	ri, err := dst.resourceFor(hook)
	if err != nil {
		return err
	}
	current, err := ri.Get(ctx, hook.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if got, want := current.GetAnnotations()[app.TrackingAnnotation], hook.GetAnnotations()[app.TrackingAnnotation]; got != want {
		return fmt.Errorf("an object of that name exists and is not this hook's (tracking id %q): gyre will not replace it", got)
	}
	uid := current.GetUID()
	err = ri.Delete(ctx, hook.GetName(), metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground), Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, waitPoll, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := ri.Get(ctx, hook.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

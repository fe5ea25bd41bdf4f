package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gyre-cd/gyre/admit"
	"github.com/gyre-cd/gyre/app"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// ResourcesFinalizer is app.ResourcesFinalizer, under the name sync's
// callers have used.
const ResourcesFinalizer = app.ResourcesFinalizer

// pruneChange builds the change-set entry of prune task t, run in wave w.
func pruneChange(t Task, w Wave, action app.Action, msg string) app.Change {
	c := app.Change{Group: t.Key.Group, Kind: t.Key.Kind, Namespace: t.Key.Namespace, Name: t.Key.Name,
		Action: action, Message: msg, SyncPhase: w.Phase, Wave: w.Wave}
	if t.Live != nil {
		c.Version = t.Live.GroupVersionKind().Version
	}
	return c
}

// prune deletes one object git no longer declares, in wave w, after reading
// it again and checking that its tracking id still names this Application.
// The deletion propagates as the PrunePropagationPolicy option says:
// foreground (the default, as in Argo CD), background or orphan.
func (r *Reconciler) prune(ctx context.Context, dst *target, a *app.Application, pol admit.Policy, t Task, w Wave, options app.SyncOptions) app.Change {
	c := pruneChange(t, w, "", "")
	ri, err := dst.resourceFor(t.Live)
	if err != nil {
		c.Action, c.Message = app.ActionFailed, fmt.Sprintf("%s: prune: %v", t.Key, err)
		return c
	}
	current, err := ri.Get(ctx, t.Key.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		c.Action, c.Message = app.ActionPruned, "already gone"
		return c
	}
	if err != nil {
		c.Action, c.Message = app.ActionFailed, fmt.Sprintf("%s: prune: %v", t.Key, err)
		return c
	}
	if owner := trackedBy(current); owner != a.Namespace+"/"+a.Name {
		c.Action, c.Message = app.ActionSkipped, fmt.Sprintf("now tracked by %q, not this Application", owner)
		return c
	}
	if v := pol.Object(t.Key, t.Key.Namespace != "", current); v != nil {
		c.Action, c.Message = app.ActionFailed, "prune refused: "+v.Error()
		return c
	}
	policy := metav1.DeletePropagationForeground
	if v, ok := options.Get(app.OptionPrunePropagationPolicy); ok {
		switch strings.ToLower(v) {
		case "background":
			policy = metav1.DeletePropagationBackground
		case "orphan":
			policy = metav1.DeletePropagationOrphan
		}
	}
	uid := current.GetUID()
	err = ri.Delete(ctx, t.Key.Name, metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		c.Action, c.Message = app.ActionFailed, fmt.Sprintf("%s: prune: %v", t.Key, err)
		return c
	}
	c.Action = app.ActionPruned
	return c
}

// finalize handles a deleted Application: with ResourcesFinalizer it runs
// the PreDelete hooks of the Application's current render, deletes every
// object the Application manages, runs the PostDelete hooks once they are
// gone, cleans the hooks up and removes the finalizer; without it there is
// nothing to do and the objects stay. Each step is read from the cluster
// again at every look, so a gyre that restarts halfway goes on where it was
// (see runDeleteHooks). A failing or refused hook blocks the deletion with
// a DeletionError condition.
func (r *Reconciler) finalize(ctx context.Context, a *app.Application) (time.Duration, error) {
	if !slices.Contains(a.Finalizers, ResourcesFinalizer) {
		return 0, nil
	}
	dst, err := r.targetFor(a)
	if err != nil {
		return r.blockDeletion(ctx, a, err)
	}
	pol := r.policy(a, dst)
	hooks, err := r.deleteHooks(ctx, dst, a, pol)
	if err != nil {
		return r.blockDeletion(ctx, a, fmt.Errorf("cannot read the delete hooks of the Application's current render: %w (remove the finalizer %s to delete it without them)", err, ResourcesFinalizer))
	}
	done := deleteHooksDone(a)
	if !done[PreDelete] && len(hooks[PreDelete]) > 0 {
		wait, err := r.runDeleteHooks(ctx, dst, a, pol, PreDelete, hooks[PreDelete])
		if err != nil {
			return r.blockDeletion(ctx, a, err)
		}
		if wait > 0 {
			return wait, r.clearDeletionError(ctx, a)
		}
		if a, err = r.markDeleteHooksDone(ctx, a, PreDelete); err != nil {
			return 0, err
		}
	}
	pending, err := r.deleteManaged(ctx, dst, a, pol)
	if err != nil || pending {
		return 200 * time.Millisecond, err // look again until they are gone
	}
	if !done[PostDelete] && len(hooks[PostDelete]) > 0 {
		wait, err := r.runDeleteHooks(ctx, dst, a, pol, PostDelete, hooks[PostDelete])
		if err != nil {
			return r.blockDeletion(ctx, a, err)
		}
		if wait > 0 {
			return wait, r.clearDeletionError(ctx, a)
		}
		if a, err = r.markDeleteHooksDone(ctx, a, PostDelete); err != nil {
			return 0, err
		}
	}
	if err := r.cleanUpDeleteHooks(ctx, dst, a, append(hooks[PreDelete], hooks[PostDelete]...)); err != nil {
		return 0, err
	}
	finalizers := slices.DeleteFunc(slices.Clone(a.Finalizers), func(f string) bool { return f == ResourcesFinalizer })
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": a.ResourceVersion, "finalizers": finalizers}})
	_, err = r.dyn.Resource(app.GroupVersionResource()).Namespace(a.Namespace).Patch(ctx, a.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	return 0, err
}

// deleteManaged deletes every object the deleted Application a manages and
// reports whether any is still there. Each object is read again first and
// deleted only while its tracking id still names a (with its uid as a
// precondition), its sync options do not keep it (Delete=false), it is not
// a run of a delete hook (those are cleaned up last), and admission allows
// it: gyre's own CRDs and installation, and kinds the Project forbids, stay.
func (r *Reconciler) deleteManaged(ctx context.Context, dst *target, a *app.Application, pol admit.Policy) (pending bool, err error) {
	self := a.Namespace + "/" + a.Name
	for _, obj := range dst.live.Managed(a.Namespace, a.Name) {
		if keptOnDelete(obj) {
			continue
		}
		if _, run := obj.GetAnnotations()[deleteRunAnnotation]; run {
			continue
		}
		k := app.KeyOf(obj)
		ri, err := dst.resourceFor(obj)
		if err != nil {
			return false, err
		}
		current, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("%s: read before delete: %w", k, err)
		}
		if trackedBy(current) != self {
			continue
		}
		if current.GetDeletionTimestamp() != nil {
			pending = true
			continue
		}
		if v := pol.Object(k, k.Namespace != "", current); v != nil {
			r.log.Info("left in place on Application delete", "app", a.Key(), "object", k, "reason", v.Error())
			continue
		}
		uid := current.GetUID()
		err = ri.Delete(ctx, obj.GetName(), metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground), Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return false, fmt.Errorf("%s: delete: %w", k, err)
		}
		pending = true
	}
	return pending, nil
}

// keptOnDelete reports whether obj's sync options keep it when its
// Application is deleted: Delete=false, or any value but true (Argo CD's
// Delete=confirm, which gyre refuses in git and does not ask for, keeps an
// object that carries it from before).
func keptOnDelete(obj *unstructured.Unstructured) bool {
	opts := syncOptionsOf(obj.GetAnnotations())
	_, set := opts.Get(app.OptionDelete)
	return set && !opts.True(app.OptionDelete)
}

package sync

import (
	"context"
	"fmt"
	"slices"
	"time"

	"encoding/json"

	"github.com/gyre-cd/gyre/admit"
	"github.com/gyre-cd/gyre/app"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// ResourcesFinalizer on an Application asks that deleting it also deletes
// the objects it manages. Without it they stay.
const ResourcesFinalizer = "gyre.dev/resources-finalizer"

// prune deletes one object git no longer declares, after reading it again
// and checking that its tracking id still names this Application.
func (r *Reconciler) prune(ctx context.Context, a *app.Application, pol admit.Policy, t Task, options app.SyncOptions) app.Change {
	c := app.Change{Group: t.Key.Group, Kind: t.Key.Kind, Namespace: t.Key.Namespace, Name: t.Key.Name, SyncPhase: app.SyncPhaseSync}
	if t.Live != nil {
		c.Version = t.Live.GroupVersionKind().Version
	}
	ri, err := r.resourceFor(t.Live)
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
	policy := metav1.DeletePropagationBackground
	if v, ok := options.Get(app.OptionPrunePropagationPolicy); ok {
		switch v {
		case "foreground":
			policy = metav1.DeletePropagationForeground
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

// finalize handles a deleted Application: with ResourcesFinalizer it deletes
// every object the Application manages and, once they are gone, removes the
// finalizer; without it there is nothing to do and the objects stay. Each
// object is read again first and deleted only while its tracking id still
// names this Application (with its uid as a precondition), its sync options
// do not say Delete=false, and admission allows it: gyre's own CRDs and
// installation, and kinds the Project forbids, stay.
func (r *Reconciler) finalize(ctx context.Context, a *app.Application) (time.Duration, error) {
	if !slices.Contains(a.Finalizers, ResourcesFinalizer) {
		return 0, nil
	}
	pol := r.policy(a)
	self := a.Namespace + "/" + a.Name
	pending := false
	for _, obj := range r.live.Managed(a.Namespace, a.Name) {
		if opts := syncOptionsOf(obj.GetAnnotations()); opts.False(app.OptionDelete) {
			continue
		}
		k := app.KeyOf(obj)
		ri, err := r.resourceFor(obj)
		if err != nil {
			return 0, err
		}
		current, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("%s: read before delete: %w", k, err)
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
			return 0, fmt.Errorf("%s: delete: %w", k, err)
		}
		pending = true
	}
	if pending {
		return 200 * time.Millisecond, nil // look again until they are gone
	}
	finalizers := slices.DeleteFunc(slices.Clone(a.Finalizers), func(f string) bool { return f == ResourcesFinalizer })
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": a.ResourceVersion, "finalizers": finalizers}})
	_, err := r.dyn.Resource(app.GroupVersionResource()).Namespace(a.Namespace).Patch(ctx, a.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	return 0, err
}

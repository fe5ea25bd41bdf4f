package appset

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gyre-cd/gyre/app"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// apply carries out one step of a plan. Creates and updates are
// server-side applies by Options.FieldManager, so that what the set stops
// declaring (a label dropped from the template) goes, and what others
// wrote (gyre's refresh annotation, a person's label) stays.
func (c *Controller) apply(ctx context.Context, set *ApplicationSet, s Step) error {
	apps := c.dyn.Resource(app.GroupVersionResource()).Namespace(set.Namespace)
	switch s.Action {
	case ActionCreate:
		// The watch may lag: a last look keeps the set from taking over
		// an Application someone created a moment ago.
		if _, err := apps.Get(ctx, s.Name, metav1.GetOptions{}); err == nil {
			return fmt.Errorf("Application %s/%s: appeared before it could be created; looking again", set.Namespace, s.Name)
		} else if !apierrors.IsNotFound(err) {
			return fmt.Errorf("Application %s/%s: %w", set.Namespace, s.Name, err)
		}
		fallthrough
	case ActionUpdate:
		obj, err := applyObject(s.Desired)
		if err != nil {
			return err
		}
		if _, err := apps.Apply(ctx, s.Name, obj, metav1.ApplyOptions{FieldManager: c.opts.FieldManager, Force: true}); err != nil {
			return fmt.Errorf("Application %s/%s: %s: %w", set.Namespace, s.Name, s.Action, err)
		}
		c.log.Info("ApplicationSet wrote Application", "appset", set.Key(), "app", s.Name, "action", s.Action)
	case ActionDelete:
		l := s.Live
		if set.Spec.preserve() && slices.ContainsFunc(l.Finalizers, isResourcesFinalizer) {
			// Without its resources finalizer, deleting the Application
			// leaves what it deployed in place.
			patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
				"resourceVersion": l.ResourceVersion,
				"finalizers":      slices.DeleteFunc(slices.Clone(l.Finalizers), isResourcesFinalizer),
			}})
			if _, err := apps.Patch(ctx, l.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: c.opts.FieldManager}); err != nil {
				return fmt.Errorf("Application %s/%s: remove finalizer %s before deleting it: %w", l.Namespace, l.Name, app.ResourcesFinalizer, err)
			}
		}
		uid := l.UID
		err := apps.Delete(ctx, l.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("Application %s/%s: delete: %w", l.Namespace, l.Name, err)
		}
		c.log.Info("ApplicationSet deleted Application", "appset", set.Key(), "app", l.Name, "preserveResources", set.Spec.preserve())
	}
	return nil
}

// applyObject is the apply configuration of a generated Application:
// exactly the fields the set declares.
func applyObject(d *app.Application) (*unstructured.Unstructured, error) {
	spec, err := toMap(d.Spec)
	if err != nil {
		return nil, fmt.Errorf("Application %s/%s: %w", d.Namespace, d.Name, err)
	}
	meta := map[string]any{"name": d.Name, "namespace": d.Namespace}
	if len(d.Labels) > 0 {
		meta["labels"] = d.Labels
	}
	if len(d.Annotations) > 0 {
		meta["annotations"] = d.Annotations
	}
	if len(d.Finalizers) > 0 {
		meta["finalizers"] = d.Finalizers
	}
	refs, err := toMap(map[string]any{"r": d.OwnerReferences})
	if err != nil {
		return nil, err
	}
	meta["ownerReferences"] = refs["r"]
	obj := map[string]any{
		"apiVersion": app.SchemeGroupVersion().String(),
		"kind":       app.ApplicationKind,
		"metadata":   meta,
		"spec":       spec,
	}
	// Round-trip through JSON so that every value is of a type the
	// unstructured helpers accept.
	out, err := toMap(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: out}, nil
}

// toMap encodes v as JSON and decodes it as a map.
func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

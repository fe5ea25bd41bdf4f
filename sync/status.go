package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gyre-cd/gyre/admit"
	"github.com/gyre-cd/gyre/app"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// writeComparison records what a comparison found in a's status, writing
// only when something changed.
func (r *Reconciler) writeComparison(ctx context.Context, a *app.Application, cmp *comparison) (*app.Application, error) {
	st, changed := r.comparedStatus(ctx, a, cmp)
	if !changed {
		return a, nil
	}
	return r.writeCompared(ctx, a, st)
}

// writeCompared writes st, a comparison's status (comparedStatus), as a's.
func (r *Reconciler) writeCompared(ctx context.Context, a *app.Application, st *app.Status) (*app.Application, error) {
	// The watched copy may lag behind gyre's own last write: on a conflict
	// the comparison is dropped and made again from a fresher copy, never
	// written over a newer status.
	written, err := r.writeStatus(ctx, a, *st, false)
	if err == nil && isRefresh(ctx) {
		r.refreshDone(ctx, a.Key())
	}
	return written, err
}

// comparedStatus returns a's status with what cmp found recorded in it, as
// it would be written, and whether it needs writing: it differs from a's
// status other than in reconciledAt, or ctx is a requested comparison's.
// reconciledAt is moved when it does.
func (r *Reconciler) comparedStatus(ctx context.Context, a *app.Application, cmp *comparison) (*app.Status, bool) {
	st := a.Status.DeepCopy()
	now := r.opts.Now()
	var refused *admit.Violation
	var invalid *app.SpecError
	isInvalid := errors.As(cmp.err, &invalid)
	var unusable *ClusterError
	if !errors.As(cmp.err, &unusable) {
		st.RemoveCondition(app.ConditionClusterError)
	}
	if c := st.FindCondition(app.ConditionInvalidSpecError); !isInvalid && c != nil && strings.HasPrefix(c.Message, app.SpecErrorPrefix) {
		st.RemoveCondition(app.ConditionInvalidSpecError) // fixed; a rejected operation's condition stays
	}
	if isInvalid {
		// The spec asks for what gyre does not do (a sync option it does
		// not know, say): nothing is compared or synced until it is fixed.
		st.SetCondition(app.ConditionInvalidSpecError, invalid.Error(), now)
		st.RemoveCondition(app.ConditionComparisonError)
		st.Sync.Status = app.SyncUnknown
	} else if unusable != nil {
		st.SetCondition(app.ConditionClusterError, unusable.Error(), now)
		st.RemoveCondition(app.ConditionComparisonError)
		st.Sync.Status = app.SyncUnknown
		st.Health = app.HealthState{Status: app.HealthUnknown, Message: unusable.Error()}
	} else if errors.As(cmp.err, &refused) {
		// The Application itself is refused (its project, repository or
		// destination): say so as what it is, not as a comparison error.
		// The whole message: a refusal met while rendering (a chart
		// repository a kustomization's helmCharts name) says where.
		st.SetCondition(app.ConditionPermissionDeniedError, cmp.err.Error(), now)
		st.RemoveCondition(app.ConditionComparisonError)
		st.Sync.Status = app.SyncUnknown
	} else if cmp.err != nil {
		st.SetCondition(app.ConditionComparisonError, cmp.err.Error(), now)
		st.RemoveCondition(app.ConditionPermissionDeniedError)
		if cmp.revision != "" {
			// The commit is known but cannot be rendered: the cluster keeps
			// the last good state, which is not what git says.
			st.Sync.Status = app.OutOfSync
			st.Sync.Revision = cmp.revision
			st.Sync.Revisions = cmp.multiRevisions()
			st.Health = app.HealthState{Status: app.Degraded, Message: "render failed: " + cmp.err.Error()}
		} else {
			st.Sync.Status = app.SyncUnknown
		}
	} else {
		st.RemoveCondition(app.ConditionComparisonError)
		st.Sync = app.SyncState{Status: cmp.sync, Revision: cmp.revision, Revisions: cmp.multiRevisions(), ComparedTo: &app.ComparedTo{Destination: a.Spec.Destination}}
		if len(a.Spec.Sources) > 0 {
			st.Sync.ComparedTo.Sources = cmp.sources
		} else {
			st.Sync.ComparedTo.Source = cmp.sources[0]
		}
		st.Health = cmp.health
		r.setResources(a.Key(), st, cmp.resources)
		st.Summary.Images = cmp.images
		st.SourceType = cmp.srcType
		for _, c := range []struct {
			t     app.ConditionType
			owned bool
		}{{app.ConditionSharedResourceWarning, true}, {app.ConditionPermissionDeniedError, false}} {
			if msgs := cmp.violationMessages(c.owned); len(msgs) > 0 {
				st.SetCondition(c.t, app.JoinMessages(msgs, "; ", app.MaxMessageLength), now)
			} else {
				st.RemoveCondition(c.t)
			}
		}
	}
	setDependencyConditions(a, st, r.checkDependencies(a), now)
	st.ObservedGeneration = a.Generation
	r.boundStatus(a.Key(), st) // as it will be written, to compare with what was
	if sameStatus(&a.Status, st) && !isRefresh(ctx) {
		return st, false
	}
	st.ReconciledAt = &metav1.Time{Time: now}
	if prev := a.Status.ReconciledAt; isRefresh(ctx) && prev != nil && !now.Truncate(time.Second).After(prev.Time) {
		// reconciledAt is stored in whole seconds, and whoever asked for
		// this comparison waits for it to move: a second comparison within
		// the same second is recorded one second on.
		st.ReconciledAt = &metav1.Time{Time: prev.Time.Add(time.Second)}
	}
	return st, true
}

// sameStatus compares two statuses as they would be stored, ignoring
// reconciledAt.
func sameStatus(a, b *app.Status) bool {
	ac, bc := *a, *b
	ac.ReconciledAt, bc.ReconciledAt = nil, nil
	aj, err1 := json.Marshal(ac)
	bj, err2 := json.Marshal(bc)
	return err1 == nil && err2 == nil && bytes.Equal(aj, bj)
}

// putStatus writes st as the status of a, which must be the copy gyre last
// wrote or read fresh. gyre alone writes status, so on a conflict (someone
// changed the spec meanwhile) it reads the object again and writes the same
// status over it. It returns the updated Application.
func (r *Reconciler) putStatus(ctx context.Context, a *app.Application, st app.Status) (*app.Application, error) {
	return r.writeStatus(ctx, a, st, true)
}

// writeStatus writes st as a's status, within the limits (see
// boundStatus); with overwrite, a conflict is resolved by writing st over
// the newer object.
func (r *Reconciler) writeStatus(ctx context.Context, a *app.Application, st app.Status, overwrite bool) (*app.Application, error) {
	r.boundStatus(a.Key(), &st)
	ri := r.dyn.Resource(app.GroupVersionResource()).Namespace(a.Namespace)
	cur := a.DeepCopy()
	for attempt := 0; ; attempt++ {
		cur.Status = st
		u, err := cur.ToUnstructured()
		if err != nil {
			return nil, err
		}
		out, err := ri.UpdateStatus(ctx, u, metav1.UpdateOptions{FieldManager: r.opts.FieldManager})
		if apierrors.IsConflict(err) && overwrite && attempt < 5 {
			latest, gerr := ri.Get(ctx, a.Name, metav1.GetOptions{})
			if gerr != nil {
				return nil, gerr
			}
			if cur, gerr = app.FromUnstructured(latest); gerr != nil {
				return nil, gerr
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("application %s/%s: write status: %w", a.Namespace, a.Name, err)
		}
		written, err := app.FromUnstructured(out)
		if err == nil {
			r.wrote(written)
		}
		return written, err
	}
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// installCRD applies one of gyre's own CRDs (idempotent: an unchanged CRD
// is not written) and waits until the API server serves it.
func installCRD(ctx context.Context, dyn dynamic.Interface, manifest []byte, fieldManager string) error {
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(manifest, &obj.Object); err != nil {
		return fmt.Errorf("gyre's CRD: %w", err)
	}
	crds := dyn.Resource(crdResource)
	// A field manager of its own: when an Application (gyre's own chart)
	// also declares the CRD, applying it here must not take away the
	// tracking annotation and label that Application applied as "gyre".
	if _, err := crds.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager + "-install", Force: true}); err != nil {
		return fmt.Errorf("install CRD %s: %w", obj.GetName(), err)
	}
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := crds.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s not established: %w", obj.GetName(), err)
	}
	return nil
}

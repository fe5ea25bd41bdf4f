package sync

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// PruneFilter is one reason not to delete an object that git no longer
// declares. NewPlan passes every prune candidate through its filters in
// order; the first that keeps the object decides, and the object is reported
// as skipped with that filter's reason.
type PruneFilter interface {
	// Name identifies the filter; Task.KeptBy holds it.
	Name() string
	// Keep reports whether obj, a live object git no longer declares, must
	// stay, and why.
	Keep(obj *unstructured.Unstructured, opts PlanOptions) (keep bool, reason string)
}

// DefaultPruneFilters returns the filters NewPlan uses when
// PlanOptions.PruneFilters is nil, in the order they are asked:
// TrackingFilter, PreventPruneFilter, DeletingFilter, HookFilter and, last,
// PruneDisabledFilter, so an object kept with the reason "pruning is
// disabled" is exactly one that an enabled prune would delete (see
// Task.RequiresPruning).
//
// A Namespace that still holds objects of other owners is not guarded here:
// that needs the cluster. A caller that knows can add its own PruneFilter
// before PruneDisabledFilter.
func DefaultPruneFilters() []PruneFilter {
	return []PruneFilter{TrackingFilter{}, PreventPruneFilter{}, DeletingFilter{}, HookFilter{}, PruneDisabledFilter{}}
}

// Compile-time checks that the filters implement PruneFilter.
var (
	_ PruneFilter = TrackingFilter{}
	_ PruneFilter = PreventPruneFilter{}
	_ PruneFilter = DeletingFilter{}
	_ PruneFilter = HookFilter{}
	_ PruneFilter = PruneDisabledFilter{}
)

// TrackingFilter keeps an object whose tracking id does not name this
// Application (PlanOptions.AppNamespace/AppName) and this very object: one
// gyre does not track, one another Application has taken over, or a copy of
// a tracked object made by hand (its tracking id names the original).
type TrackingFilter struct{}

// Name returns "tracking".
func (TrackingFilter) Name() string { return "tracking" }

// Keep implements PruneFilter.
func (TrackingFilter) Keep(obj *unstructured.Unstructured, opts PlanOptions) (bool, string) {
	id, ok := obj.GetAnnotations()[app.TrackingAnnotation]
	if !ok {
		return true, "not tracked by gyre (no " + app.TrackingAnnotation + " annotation)"
	}
	ns, name, key, ok := app.ParseTrackingID(id)
	if !ok {
		return true, fmt.Sprintf("not tracked by gyre: malformed tracking id %q", id)
	}
	if ns != opts.AppNamespace || name != opts.AppName {
		return true, fmt.Sprintf("tracked by another app %s/%s", ns, name)
	}
	if self := app.KeyOf(obj); key != self {
		return true, fmt.Sprintf("its tracking id names %s, not this object (a copy?)", key)
	}
	return false, ""
}

// PreventPruneFilter keeps an object whose sync options (gyre.dev/sync-options
// or argocd.argoproj.io/sync-options) set Prune to anything but true:
// "Prune=false", or Argo CD's "Prune=confirm", which gyre does not ask for
// and so treats as keep.
type PreventPruneFilter struct{}

// Name returns "prevent-prune".
func (PreventPruneFilter) Name() string { return "prevent-prune" }

// Keep implements PruneFilter.
func (PreventPruneFilter) Keep(obj *unstructured.Unstructured, _ PlanOptions) (bool, string) {
	opts := syncOptionsOf(obj.GetAnnotations())
	if v, ok := opts.Get(app.OptionPrune); ok && !opts.True(app.OptionPrune) {
		return true, string(app.OptionPrune) + "=" + v
	}
	return false, ""
}

// DeletingFilter keeps an object that is already being deleted (it has a
// deletionTimestamp): there is nothing to add, and its finalizers decide.
type DeletingFilter struct{}

// Name returns "deleting".
func (DeletingFilter) Name() string { return "deleting" }

// Keep implements PruneFilter.
func (DeletingFilter) Keep(obj *unstructured.Unstructured, _ PlanOptions) (bool, string) {
	if obj.GetDeletionTimestamp() != nil {
		return true, "already being deleted"
	}
	return false, ""
}

// HookFilter keeps hooks and objects marked Skip: a hook's object is removed
// by its delete policy, never pruned. It also keeps an object whose sync
// annotations cannot be read, since it cannot tell whether that is a hook.
type HookFilter struct{}

// Name returns "hook".
func (HookFilter) Name() string { return "hook" }

// Keep implements PruneFilter.
func (HookFilter) Keep(obj *unstructured.Unstructured, _ PlanOptions) (bool, string) {
	p, err := policyOf(obj.GetAnnotations())
	switch {
	case err != nil:
		return true, "cannot read its sync annotations: " + err.Error()
	case p.Hook:
		return true, "a hook: removed by its delete policy, not pruned"
	case p.Skip:
		return true, "marked Skip"
	}
	return false, ""
}

// PruneDisabledFilter keeps every object when the operation does not prune
// (PlanOptions.Prune is false). The caller reports such objects as
// requiring pruning.
type PruneDisabledFilter struct{}

// Name returns "prune-disabled".
func (PruneDisabledFilter) Name() string { return "prune-disabled" }

// Keep implements PruneFilter.
func (PruneDisabledFilter) Keep(_ *unstructured.Unstructured, opts PlanOptions) (bool, string) {
	if !opts.Prune {
		return true, "pruning is disabled"
	}
	return false, ""
}

package sync

import (
	"context"
	"fmt"
	gosync "sync"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// An Application's status lists at most Options.StatusResourceLimit of its
// objects, and as many entries of its last operation's change set (see
// app.StatusLimits): an app of tens of thousands of objects would otherwise
// outgrow what etcd takes, and no status write would succeed again. What
// the status leaves out, the reconciler keeps here, in memory, for the API:
// the complete list of the latest comparison, and the complete change set
// of the last operation it ran. Only lists longer than the status holds are
// kept.

// fullStatus holds the complete per-object lists of the Applications whose
// status holds only part of them. The zero value is ready to use. The lists
// it hands out are shared: callers must not modify them.
type fullStatus struct {
	mu   gosync.Mutex
	apps map[types.NamespacedName]*fullLists
}

// fullLists are one Application's complete lists; nil when its status holds
// the whole list.
type fullLists struct {
	resources []app.ResourceStatus
	// result is the change set of the operation that started at started.
	result  *app.ChangeSet
	started metav1.Time
}

// update changes key's lists with fn, dropping the entry once it holds
// nothing.
func (f *fullStatus) update(key types.NamespacedName, fn func(*fullLists)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.apps[key]
	if l == nil {
		l = &fullLists{}
	}
	fn(l)
	if l.resources == nil && l.result == nil {
		delete(f.apps, key)
		return
	}
	if f.apps == nil {
		f.apps = map[types.NamespacedName]*fullLists{}
	}
	f.apps[key] = l
}

// setResources records the complete list of key's latest comparison, or
// drops it (nil) when the status holds it all.
func (f *fullStatus) setResources(key types.NamespacedName, all []app.ResourceStatus) {
	f.update(key, func(l *fullLists) { l.resources = all })
}

// setResult records the complete change set of key's operation that
// started at started, or drops it (nil).
func (f *fullStatus) setResult(key types.NamespacedName, started metav1.Time, cs *app.ChangeSet) {
	f.update(key, func(l *fullLists) { l.result, l.started = cs, started })
}

// resources returns key's complete list, if kept.
func (f *fullStatus) resources(key types.NamespacedName) ([]app.ResourceStatus, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.apps[key]; l != nil && l.resources != nil {
		return l.resources, true
	}
	return nil, false
}

// result returns the complete change set of key's operation that started
// at started, if kept.
func (f *fullStatus) result(key types.NamespacedName, started metav1.Time) (*app.ChangeSet, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.apps[key]; l != nil && l.result != nil && l.started.Equal(&started) {
		return l.result, true
	}
	return nil, false
}

// forget drops everything kept for key: the Application is gone.
func (f *fullStatus) forget(key types.NamespacedName) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.apps, key)
}

// statusLimits are the bounds of the per-object lists of a status.
func (r *Reconciler) statusLimits() app.StatusLimits {
	return app.StatusLimits{Objects: r.opts.StatusResourceLimit}
}

// setResources records all, the objects a comparison found, in st (within
// the limits) and, when st cannot hold them all, in memory.
func (r *Reconciler) setResources(key types.NamespacedName, st *app.Status, all []app.ResourceStatus) {
	st.SetResources(all, r.statusLimits())
	if st.Summary.Resources.Truncated {
		r.full.setResources(key, all)
	} else {
		r.full.setResources(key, nil)
	}
}

// boundStatus brings st within the limits before it is written. A change
// set that is not bounded yet (the operation's own, not a copy read from the
// status) is kept in memory when st cannot hold it all.
func (r *Reconciler) boundStatus(key types.NamespacedName, st *app.Status) {
	if op := st.OperationState; op != nil {
		switch cs := op.SyncResult; {
		case cs == nil:
			r.full.setResult(key, op.StartedAt, nil)
		case cs.Summary == nil || !cs.Summary.Truncated:
			var full *app.ChangeSet
			if cs.Bounded(r.statusLimits()).Summary.Truncated {
				full = cs.DeepCopy() // execute goes on changing cs
				full.Summary = app.SummarizeChanges(full.Resources)
			}
			r.full.setResult(key, op.StartedAt, full)
		}
	}
	st.Bound(r.statusLimits())
}

// Resources returns every object a manages as the latest comparison found
// them: the complete list that a.Status.Resources may hold only part of
// (see Summary.Resources). A replica that did not make that comparison (one
// that does not work, or one that just started) compares a now when its
// status list is truncated. The list is shared: callers must not modify it.
func (r *Reconciler) Resources(ctx context.Context, a *app.Application) ([]app.ResourceStatus, error) {
	if all, ok := r.full.resources(a.Key()); ok {
		return all, nil
	}
	if sum := a.Status.Summary.Resources; sum == nil || !sum.Truncated {
		return a.Status.Resources, nil
	}
	cmp := r.compare(ctx, a, a.Spec.SourceList(), "")
	if cmp.err != nil {
		return nil, fmt.Errorf("application %s: list its objects: %w", a.Key(), cmp.err)
	}
	return cmp.resources, nil
}

// OperationResult returns the change set of a's current or last operation
// in full when this replica ran it, else as a's status holds it (its Summary
// says whether that is truncated); nil before the first operation. The
// change set is shared: callers must not modify it.
func (r *Reconciler) OperationResult(a *app.Application) *app.ChangeSet {
	op := a.Status.OperationState
	if op == nil {
		return nil
	}
	if cs, ok := r.full.result(a.Key(), op.StartedAt); ok {
		return cs
	}
	return op.SyncResult
}

// listedResources returns a's objects for the resource tree: the complete
// list when this replica keeps it, else the status's.
func (r *Reconciler) listedResources(a *app.Application) []app.ResourceStatus {
	if all, ok := r.full.resources(a.Key()); ok {
		return all
	}
	return a.Status.Resources
}

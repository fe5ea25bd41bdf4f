package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Observer is told what the loop does, for metrics. Every method must be
// cheap and safe for concurrent use.
type Observer interface {
	// Reconciled: one look at an Application took d.
	Reconciled(key types.NamespacedName, d time.Duration)
	// Rendered: a render of the given source type (cache misses only) took d.
	Rendered(sourceType string, d time.Duration)
	// OperationFinished: a sync, rollback or resume ended in phase.
	OperationFinished(key types.NamespacedName, phase app.OperationPhase)
}

// ErrOperationInProgress is returned by Request while an operation is asked
// for or running.
var ErrOperationInProgress = errors.New("an operation is already in progress")

// ErrNotFound is returned for an Application gyre does not watch.
var ErrNotFound = errors.New("application not found")

// Request asks for an operation on an Application by setting its operation
// field, which is how the CLI and UI start a sync, rollback or resume. It
// refuses with ErrOperationInProgress while another one is pending or
// running, and checks a rollback's history id up front.
func (r *Reconciler) Request(ctx context.Context, key types.NamespacedName, op app.Operation) error {
	if err := op.Validate(); err != nil {
		return err
	}
	ri := r.dyn.Resource(app.GroupVersionResource()).Namespace(key.Namespace)
	for attempt := 0; ; attempt++ {
		a, err := r.fresh(ctx, key)
		if err != nil {
			return notFound(err, key)
		}
		if a.Operation != nil || (a.Status.OperationState != nil && a.Status.OperationState.Phase == app.OperationRunning) {
			return ErrOperationInProgress
		}
		if op.Rollback != nil && a.Status.FindHistory(op.Rollback.ID) == nil {
			return fmt.Errorf("rollback: application %s has no history entry with id %d", key, op.Rollback.ID)
		}
		a.Operation = &op
		u, err := a.ToUnstructured()
		if err != nil {
			return err
		}
		_, err = ri.Update(ctx, u, metav1.UpdateOptions{FieldManager: r.opts.FieldManager})
		if err == nil || attempt >= 5 || !apierrors.IsConflict(err) {
			return err
		}
	}
}

// Diff compares an Application with git now, without writing anything, and
// returns the per-object results (Secret values masked), the objects its
// policy refuses among them (see DiffObjects).
func (r *Reconciler) Diff(ctx context.Context, key types.NamespacedName) ([]diff.Result, error) {
	a, ok := r.Application(key)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	cmp := r.compare(ctx, a, a.Spec.SourceList(), "")
	if cmp.err != nil {
		return nil, cmp.err
	}
	return cmp.diffResults()
}

// Subscribe calls fn with the key of every Application that is added,
// changed (its status included) or deleted, for live updates in the UI. fn
// must not block.
func (r *Reconciler) Subscribe(fn func(types.NamespacedName)) {
	r.mu.Lock()
	r.subscribers = append(r.subscribers, fn)
	r.mu.Unlock()
}

func (r *Reconciler) notify(key types.NamespacedName) {
	r.mu.Lock()
	subs := r.subscribers
	r.mu.Unlock()
	for _, fn := range subs {
		fn(key)
	}
}

func notFound(err error, key types.NamespacedName) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return err
}

// nopObserver is the Observer used when none is given.
type nopObserver struct{}

func (nopObserver) Reconciled(types.NamespacedName, time.Duration)             {}
func (nopObserver) Rendered(string, time.Duration)                             {}
func (nopObserver) OperationFinished(types.NamespacedName, app.OperationPhase) {}

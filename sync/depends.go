package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// Dependencies between Applications (spec.dependsOn): an Application syncs
// only once every Application it depends on is ready (see
// dependencyState). The comparison runs regardless; the DependencyWaiting
// condition says whom a sync waits for, and the DependencyError condition
// names a dependency that does not exist or a cycle. A dependency that
// becomes ready re-queues its dependents at once, through dependencyIndex.

// dependencyState returns "" when the Application d is ready for the
// Applications that depend on it: compared at its current spec, Synced,
// Healthy and not in the middle of an operation. Otherwise it returns what
// it is instead, as the DependencyWaiting message shows it.
func dependencyState(d *app.Application) string {
	st := &d.Status
	switch {
	case d.DeletionTimestamp != nil:
		return "Deleting"
	case st.ObservedGeneration != d.Generation:
		return "Comparing" // its status describes an older spec
	case d.Operation != nil || (st.OperationState != nil && st.OperationState.Phase == app.OperationRunning):
		return "Syncing"
	case st.Sync.Status != app.Synced:
		if st.Sync.Status == "" {
			return string(app.SyncUnknown)
		}
		return string(st.Sync.Status)
	case st.Health.Status != app.Healthy:
		if st.Health.Status == "" {
			return string(app.HealthUnknown)
		}
		return string(st.Health.Status)
	}
	return ""
}

// dependencyCheck is what an Application's dependencies hold its syncs
// for.
type dependencyCheck struct {
	// Waiting are the dependencies not ready yet, "<ns>/<name> (<state>)".
	Waiting []string
	// Problems are dependencies that cannot become ready: missing, or in
	// a cycle.
	Problems []string
}

// held reports whether a sync must wait.
func (c dependencyCheck) held() bool { return len(c.Waiting) > 0 || len(c.Problems) > 0 }

// checkDependencies looks up the Applications a depends on. A dependency
// on a itself is left to Validate, which reports it as an invalid spec.
func (r *Reconciler) checkDependencies(a *app.Application) dependencyCheck {
	var c dependencyCheck
	if len(a.Spec.DependsOn) == 0 {
		return c
	}
	for _, k := range a.Dependencies() {
		if k == a.Key() || k.Name == "" {
			continue
		}
		d, ok := r.Application(k)
		if !ok {
			c.Problems = append(c.Problems, fmt.Sprintf("dependency %s: no such Application", k))
			continue
		}
		if s := dependencyState(d); s != "" {
			c.Waiting = append(c.Waiting, fmt.Sprintf("%s (%s)", k, s))
		}
	}
	if cycle := findCycle(a.Key(), r.deps.dependencies); cycle != nil {
		names := make([]string, len(cycle))
		for i, k := range cycle {
			names[i] = k.String()
		}
		c.Problems = append(c.Problems, "dependency cycle: "+strings.Join(names, " → "))
	}
	return c
}

// setDependencyConditions records c for a in st: DependencyWaiting for the
// dependencies not ready (saying so when a requested sync waits),
// DependencyError for the problems; each is removed when it no longer
// holds.
func setDependencyConditions(a *app.Application, st *app.Status, c dependencyCheck, now time.Time) {
	if len(c.Waiting) > 0 {
		requested := a.Operation != nil && a.Operation.Sync != nil && !a.Operation.Sync.DryRun
		st.SetCondition(app.ConditionDependencyWaiting, app.DependencyWaitingMessage(c.Waiting, requested), now)
	} else {
		st.RemoveCondition(app.ConditionDependencyWaiting)
	}
	if len(c.Problems) > 0 {
		st.SetCondition(app.ConditionDependencyError, strings.Join(c.Problems, "; "), now)
	} else {
		st.RemoveCondition(app.ConditionDependencyError)
	}
}

// findCycle returns a cycle of dependencies reachable from start, as the
// path around it with its first key repeated at the end (a → b → a), or
// nil when there is none. deps returns the dependencies of a key; a key's
// dependency on itself does not count (Validate reports it).
func findCycle(start types.NamespacedName, deps func(types.NamespacedName) []types.NamespacedName) []types.NamespacedName {
	const (
		visiting = 1
		done     = 2
	)
	state := map[types.NamespacedName]int{}
	var path []types.NamespacedName
	var visit func(k types.NamespacedName) []types.NamespacedName
	visit = func(k types.NamespacedName) []types.NamespacedName {
		state[k] = visiting
		path = append(path, k)
		for _, d := range deps(k) {
			switch {
			case d == k:
			case state[d] == visiting:
				for i, p := range path {
					if p == d {
						return append(append([]types.NamespacedName(nil), path[i:]...), d)
					}
				}
			case state[d] == 0:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[k] = done
		return nil
	}
	return visit(start)
}

// dependencyIndex knows, for every watched Application, what it depends on
// and who depends on it, so that an event costs the size of its
// neighbourhood, not a scan of every Application. The Application watch
// keeps it up to date (see dependencyMoved).
type dependencyIndex struct {
	mu gosync.Mutex
	// deps holds each Application's dependencies.
	deps map[types.NamespacedName][]types.NamespacedName
	// dependents holds, for each key named in a dependsOn, the
	// Applications that name it; the key need not exist.
	dependents map[types.NamespacedName]map[types.NamespacedName]bool
	// states holds each Application's last dependencyState.
	states map[types.NamespacedName]string
}

// dependencies returns what key depends on, as last seen.
func (x *dependencyIndex) dependencies(key types.NamespacedName) []types.NamespacedName {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.deps[key]
}

// update records the Application a under key (nil: deleted) and returns
// the Applications to look at again: those that depend on it, when its
// readiness or its own dependencies changed (a dependency cycle passes
// through them both).
func (x *dependencyIndex) update(key types.NamespacedName, a *app.Application) []types.NamespacedName {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.deps == nil {
		x.deps = map[types.NamespacedName][]types.NamespacedName{}
		x.dependents = map[types.NamespacedName]map[types.NamespacedName]bool{}
		x.states = map[types.NamespacedName]string{}
	}
	oldDeps, known := x.deps[key]
	oldState, hadState := x.states[key]
	var newDeps []types.NamespacedName
	state, exists := "", a != nil
	if exists {
		newDeps, state = a.Dependencies(), dependencyState(a)
	}
	changed := !known || !slices.Equal(oldDeps, newDeps) || !hadState || oldState != state || !exists
	for _, d := range oldDeps {
		if m := x.dependents[d]; m != nil {
			delete(m, key)
			if len(m) == 0 {
				delete(x.dependents, d)
			}
		}
	}
	if exists {
		x.deps[key], x.states[key] = newDeps, state
		for _, d := range newDeps {
			if x.dependents[d] == nil {
				x.dependents[d] = map[types.NamespacedName]bool{}
			}
			x.dependents[d][key] = true
		}
	} else {
		delete(x.deps, key)
		delete(x.states, key)
	}
	if !changed {
		return nil
	}
	out := make([]types.NamespacedName, 0, len(x.dependents[key]))
	for k := range x.dependents[key] {
		out = append(out, k)
	}
	return out
}

// dependencyMoved is the Application watch's handler for the dependency
// index: it records the Application and queues the Applications that
// depend on it when that matters to them.
func (r *Reconciler) dependencyMoved(obj any, deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = d.Obj, true
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	key := types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()}
	var a *app.Application
	if !deleted {
		var err error
		if a, err = app.FromObject(obj); err != nil {
			return
		}
	}
	for _, k := range r.deps.update(key, a) {
		r.queue.Add(k)
	}
}

// holdForDependencies decides whether the requested sync op of a waits for
// a's dependencies. While one is not ready, the request stays on a and a is
// compared as usual, which records whom it waits for; once all are ready,
// a is queued again and the sync runs. A dependency that does not exist or
// a cycle cannot resolve by waiting: the request is rejected and removed,
// saying why. It reports whether the sync is held (or rejected).
func (r *Reconciler) holdForDependencies(ctx context.Context, a *app.Application, op app.Operation) (bool, error) {
	c := r.checkDependencies(a)
	switch {
	case len(c.Problems) > 0:
		if err := r.rejectOperation(ctx, a, errors.New(strings.Join(c.Problems, "; "))); err != nil {
			return true, err
		}
		return true, r.removeOperation(ctx, a.Key(), op)
	case len(c.Waiting) > 0:
		cmp := r.compare(ctx, a, a.Spec.SourceList(), "")
		_, err := r.writeComparison(ctx, a, cmp)
		return true, err
	}
	return false, nil
}

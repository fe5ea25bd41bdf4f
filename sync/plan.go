package sync

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TaskAction is what a sync does with one task.
type TaskAction string

// The task actions.
const (
	// TaskApply applies the desired object with server-side apply.
	TaskApply TaskAction = "apply"
	// TaskRunHook creates a hook's object and waits for it to finish.
	TaskRunHook TaskAction = "run-hook"
	// TaskPrune deletes a live object git no longer declares.
	TaskPrune TaskAction = "prune"
	// TaskSkip leaves the object alone; Task.Reason says why.
	TaskSkip TaskAction = "skip"
)

// Task is one object to apply, a hook to run, or an object to prune.
type Task struct {
	// Key identifies the object. A hook that has only a generateName is
	// keyed, for the plan only, by its generateName followed by its index
	// among the hooks of the same kind, namespace and generateName in the
	// desired list ("migrate-0", "migrate-1"); the object it creates gets a
	// name from the API server.
	Key app.ResourceKey
	// Desired is the object git declares; nil for prune tasks.
	Desired *unstructured.Unstructured
	// Live is the object's counterpart in the live list NewPlan was given;
	// nil when there is none (and always for generateName hooks).
	Live *unstructured.Unstructured
	// Policy is what the object's annotations say (the desired object's,
	// or for prune tasks the live one's). For a hook, Policy.Phase is the
	// phase this task runs in.
	Policy ObjectPolicy
	// Action is what to do.
	Action TaskAction
	// Reason says why a task is skipped: "Prune=false", "pruning is
	// disabled", "tracked by another app ns/x", "argocd.argoproj.io/hook:
	// Skip"…
	Reason string
	// KeptBy is the Name of the PruneFilter that kept a prune candidate;
	// empty otherwise.
	KeptBy string
}

// RequiresPruning reports whether the task is a prune candidate kept only
// because the operation does not prune: the object is extraneous and an
// operation with pruning enabled would delete it.
func (t Task) RequiresPruning() bool {
	return t.Action == TaskSkip && t.KeptBy == PruneDisabledFilter{}.Name()
}

// Wave is the tasks of one phase and wave: first the objects to prune, then
// those to apply, in order.
type Wave struct {
	// Phase is PreSync, Sync or PostSync.
	Phase app.SyncPhase
	// Wave is the wave number.
	Wave int64
	// Prune holds, in a Sync wave, the live objects git no longer declares
	// that are deleted at the start of this wave, before anything of it is
	// applied: the reverse of the apply order (within a wave the reverse
	// kind order, so Namespaces and CRDs go last). Those a PruneFilter kept
	// are TaskSkip entries with the filter's reason.
	Prune []Task
	// Tasks holds ordinary objects by kind order and then name, followed by
	// the hooks of the same phase and wave in the same order. Skipped
	// objects stay in place with Action TaskSkip.
	Tasks []Task
}

// Plan is a sync operation worked out before anything is done: what to
// apply, which hooks to run, and what to prune, in order.
//
// Pruning happens in the Sync phase, in reverse wave order, as Argo CD does
// it: the waves of the objects to prune (read from their live annotations)
// are mirrored, so that the objects of the highest wave go at the start of
// the lowest of those waves and those of the lowest wave at the start of the
// highest. Objects to prune last (the PruneLast option, for the Application
// or on the object) go in a wave of their own after every other Sync wave,
// which runs only once those are healthy, and before PostSync.
type Plan struct {
	// Waves are in execution order: the PreSync waves, then the Sync waves,
	// then the PostSync waves, each by ascending wave number. Hooks of the
	// Sync phase go into the Sync wave of their number, after the ordinary
	// objects. Objects that are not applied (Skip, hooks a sync does not
	// run, hooks in a selective sync) are TaskSkip entries of the Sync wave
	// of their number. A Sync wave may hold only objects to prune.
	Waves []Wave
	// SyncFail holds the SyncFail hooks, by wave, kind order and name; they
	// run only when a phase fails.
	SyncFail []Task
}

// PruneTasks returns every prune task of the plan, those kept by a
// PruneFilter included, in the order they run.
func (p *Plan) PruneTasks() []Task {
	var out []Task
	for _, w := range p.Waves {
		out = append(out, w.Prune...)
	}
	return out
}

// PlanOptions are the inputs of NewPlan besides the objects.
type PlanOptions struct {
	// AppNamespace and AppName name the Application, to check tracking ids
	// before pruning.
	AppNamespace, AppName string
	// Prune enables pruning for this operation. Without it every prune
	// candidate is a skipped task whose RequiresPruning is true.
	Prune bool
	// PruneLast prunes every object in a last Sync wave of its own (the
	// Application's PruneLast=true). An object's own PruneLast option wins.
	PruneLast bool
	// Resources, when not empty, makes the sync selective: only these
	// objects are applied, or pruned if git no longer declares them; hooks
	// do not run. Selected keys that are neither desired nor live are
	// ignored.
	Resources []app.ResourceKey
	// DefaultNamespace is the destination namespace. NewPlan does not use
	// it: the caller sets namespaces on the objects before planning.
	DefaultNamespace string
	// PruneFilters decide which prune candidates to keep; nil means
	// DefaultPruneFilters().
	PruneFilters []PruneFilter
}

// NewPlan pairs desired objects (from render) with live objects (gyre's
// inventory: objects whose tracking id names this app) and orders them.
// Objects are paired by app.ResourceKey, whatever their API version; a live
// object listed twice (under two versions) counts once. Desired objects are
// applied, or run as hooks in the phases they name; live objects that git no
// longer declares are prune candidates, each passed through the prune
// filters. The plan is deterministic and refers to the given objects, which
// it does not modify.
//
// NewPlan fails, listing every problem with the object it concerns first,
// when a desired object has unreadable sync annotations (see PolicyOf), is
// declared twice, has no name, or is an ordinary object with only a
// generateName (each sync would create another copy).
func NewPlan(desired, live []*unstructured.Unstructured, opts PlanOptions) (*Plan, error) {
	var selected map[app.ResourceKey]bool
	if len(opts.Resources) > 0 {
		selected = make(map[app.ResourceKey]bool, len(opts.Resources))
		for _, k := range opts.Resources {
			selected[k] = true
		}
	}
	liveByKey := make(map[app.ResourceKey]*unstructured.Unstructured, len(live))
	var liveKeys []app.ResourceKey
	for _, obj := range live {
		k := app.KeyOf(obj)
		if _, dup := liveByKey[k]; !dup {
			liveByKey[k] = obj
			liveKeys = append(liveKeys, k)
		}
	}

	var errs []error
	var tasks, syncFail []Task
	declared := make(map[app.ResourceKey]bool, len(desired))
	generated := map[app.ResourceKey]int{}
	for _, obj := range desired {
		policy, err := PolicyOf(obj)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		key, err := planKey(obj, policy, generated)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if declared[key] {
			errs = append(errs, fmt.Errorf("%s: declared twice: the render produced the same object more than once", key))
			continue
		}
		declared[key] = true
		if selected != nil && !selected[key] {
			continue
		}
		t := Task{Key: key, Desired: obj, Policy: policy, Action: TaskApply}
		if obj.GetName() != "" {
			t.Live = liveByKey[key]
		}
		switch {
		case policy.Skip:
			t.Action, t.Reason = TaskSkip, policy.SkipReason
		case policy.Hook && selected != nil:
			t.Action, t.Reason = TaskSkip, "hooks do not run in a selective sync"
		case policy.Hook:
			for _, ph := range policy.Phases {
				h := t
				h.Action, h.Policy.Phase = TaskRunHook, ph
				if ph == app.SyncPhaseSyncFail {
					syncFail = append(syncFail, h)
				} else {
					tasks = append(tasks, h)
				}
			}
			continue
		}
		tasks = append(tasks, t)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	filters := opts.PruneFilters
	if filters == nil {
		filters = DefaultPruneFilters()
	}
	var prune []Task
	for _, k := range liveKeys {
		if declared[k] || (selected != nil && !selected[k]) {
			continue
		}
		obj := liveByKey[k]
		t := Task{Key: k, Live: obj, Action: TaskPrune}
		if p, err := policyOf(obj.GetAnnotations()); err == nil {
			t.Policy = p // for its wave; HookFilter reports the error
		} else {
			t.Policy = ObjectPolicy{Phase: app.SyncPhaseSync}
		}
		for _, f := range filters {
			if keep, reason := f.Keep(obj, opts); keep {
				t.Action, t.Reason, t.KeptBy = TaskSkip, reason, f.Name()
				break
			}
		}
		prune = append(prune, t)
	}

	slices.SortFunc(tasks, compareTasks)
	slices.SortFunc(syncFail, compareTasks)
	waves, err := addPrunes(groupWaves(tasks), prune, opts.PruneLast)
	if err != nil {
		return nil, err
	}
	return &Plan{Waves: waves, SyncFail: syncFail}, nil
}

// addPrunes places the prune tasks into the Sync waves of waves (see Plan),
// adding the Sync waves that hold only prunes, and returns the waves. It
// fails when objects are to be pruned last and the last Sync wave is the
// largest int64, which leaves no wave after it.
func addPrunes(waves []Wave, prune []Task, pruneLast bool) ([]Wave, error) {
	if len(prune) == 0 {
		return waves, nil
	}
	var last, inWave []Task
	for _, t := range prune {
		if v, ok := t.Policy.Options.Get(app.OptionPruneLast); (ok && strings.EqualFold(v, "true")) || (!ok && pruneLast) {
			last = append(last, t)
		} else {
			inWave = append(inWave, t)
		}
	}
	var numbers []int64
	for _, t := range inWave {
		numbers = append(numbers, t.Policy.Wave)
	}
	slices.Sort(numbers)
	numbers = slices.Compact(numbers)
	byWave := map[int64][]Task{}
	for _, t := range inWave {
		i, _ := slices.BinarySearch(numbers, t.Policy.Wave)
		mirrored := numbers[len(numbers)-1-i]
		byWave[mirrored] = append(byWave[mirrored], t)
	}
	for _, n := range numbers {
		waves = withSyncWave(waves, n, byWave[n])
	}
	if len(last) > 0 {
		final, at := int64(0), -1
		for i, w := range waves {
			if w.Phase == app.SyncPhaseSync && w.Wave >= final {
				final, at = w.Wave, i
			}
		}
		if final == math.MaxInt64 {
			w := waves[at]
			subject := append(append([]Task(nil), w.Prune...), w.Tasks...)[0].Key
			return nil, fmt.Errorf("%s: sync wave %d leaves no wave after it for the objects pruned last (PruneLast); use a smaller wave", subject, final)
		}
		waves = withSyncWave(waves, final+1, last)
	}
	return waves, nil
}

// withSyncWave adds prune tasks to the Sync wave numbered n, which it
// inserts in its place when there is none, and returns the waves. The
// tasks are put in the reverse of the apply order.
func withSyncWave(waves []Wave, n int64, prune []Task) []Wave {
	slices.SortFunc(prune, func(a, b Task) int { return compareTasks(b, a) })
	i := slices.IndexFunc(waves, func(w Wave) bool {
		return phaseRank(w.Phase) > phaseRank(app.SyncPhaseSync) || (w.Phase == app.SyncPhaseSync && w.Wave >= n)
	})
	if i < 0 {
		i = len(waves)
	}
	if i == len(waves) || waves[i].Phase != app.SyncPhaseSync || waves[i].Wave != n {
		waves = slices.Insert(waves, i, Wave{Phase: app.SyncPhaseSync, Wave: n})
	}
	waves[i].Prune = append(waves[i].Prune, prune...)
	return waves
}

// planKey returns the key of a desired object, inventing one for a hook that
// has only a generateName (see Task.Key); generated counts those hooks.
func planKey(obj *unstructured.Unstructured, policy ObjectPolicy, generated map[app.ResourceKey]int) (app.ResourceKey, error) {
	key := app.KeyOf(obj)
	if key.Name != "" {
		return key, nil
	}
	gen := obj.GetGenerateName()
	switch {
	case gen == "":
		return key, fmt.Errorf("%s: has neither a name nor a generateName", describe(obj))
	case !policy.Hook && !policy.Skip:
		return key, fmt.Errorf("%s: generateName is supported on hooks only: an ordinary object needs a name, or each sync would create another copy", describe(obj))
	}
	key.Name = gen
	n := generated[key]
	generated[key] = n + 1
	key.Name = gen + strconv.Itoa(n)
	return key, nil
}

// taskPhase returns the phase a task runs in: a hook's phase, Sync for
// everything else.
func taskPhase(t Task) app.SyncPhase {
	if t.Action == TaskRunHook {
		return t.Policy.Phase
	}
	return app.SyncPhaseSync
}

// compareTasks orders tasks for applying: by phase, wave, ordinary objects
// before hooks, kind order, and then kind, group, namespace and name so that
// the order is total.
func compareTasks(a, b Task) int {
	isHook := func(t Task) int {
		if t.Action == TaskRunHook {
			return 1
		}
		return 0
	}
	return cmp.Or(
		cmp.Compare(phaseRank(taskPhase(a)), phaseRank(taskPhase(b))),
		cmp.Compare(a.Policy.Wave, b.Policy.Wave),
		cmp.Compare(isHook(a), isHook(b)),
		cmp.Compare(rankOf(a.Key.GroupKind()), rankOf(b.Key.GroupKind())),
		cmp.Compare(a.Key.Kind, b.Key.Kind),
		cmp.Compare(a.Key.Group, b.Key.Group),
		cmp.Compare(a.Key.Namespace, b.Key.Namespace),
		cmp.Compare(a.Key.Name, b.Key.Name),
	)
}

// groupWaves cuts sorted tasks into waves of one phase and wave number.
func groupWaves(tasks []Task) []Wave {
	var waves []Wave
	for _, t := range tasks {
		ph := taskPhase(t)
		if n := len(waves); n == 0 || waves[n-1].Phase != ph || waves[n-1].Wave != t.Policy.Wave {
			waves = append(waves, Wave{Phase: ph, Wave: t.Policy.Wave})
		}
		waves[len(waves)-1].Tasks = append(waves[len(waves)-1].Tasks, t)
	}
	return waves
}

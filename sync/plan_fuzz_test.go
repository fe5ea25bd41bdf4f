package sync

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gyre-cd/gyre/app"
)

// FuzzPlan plans sets of objects built from the fuzzer's bytes: kinds from
// every part of the kind order, colliding names, generateName hooks, waves
// and hooks in gyre's, Argo CD's and Helm's spelling (some invalid), sync
// options, live objects tracked by this app, another or none, a selective
// sync now and then. When NewPlan accepts the input, the plan must be
//
//   - deterministic: the same inputs in another order give the same plan
//     (generateName hooks keep their relative order, which names them);
//   - total: each desired object appears once (a hook once per phase it
//     runs in), each live object git no longer declares once, as a prune
//     task, and nothing else;
//   - ordered: waves by phase and then wave number; in a wave the ordinary
//     objects by kind order and name, then the hooks; prunes in the reverse
//     order and, PruneLast aside, from the highest wave to the lowest.
//
// When it refuses the input, it refuses it in any order.
func FuzzPlan(f *testing.F) {
	for _, seed := range []string{
		"",
		"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f",
		"\x05\x21\x03\x10\x02\x07\x11\x30\x40\x09\x01\x00\x07\x02\x03\x05\x13\x22\x08\x0e",
		strings.Repeat("\x01\x02\x04\x08\x10\x20\x40\x80\x03", 12),
		strings.Repeat("\xff\x7f\x3f\x1f\x0f\x07\x03\x01", 16),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := newPlanInput(data)
		desired, live, opts := in.desired, in.live, in.opts
		before := deepCopies(desired, live)
		plan, err := NewPlan(desired, live, opts)
		if !reflect.DeepEqual(before, deepCopies(desired, live)) {
			t.Fatal("NewPlan changed its input")
		}
		d2, l2 := in.shuffled()
		plan2, err2 := NewPlan(d2, l2, opts)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("NewPlan gave error %v for one order and %v for another", err, err2)
		}
		if err != nil {
			return
		}
		if a, b := describePlan(plan), describePlan(plan2); a != b {
			t.Fatalf("the order of the inputs changed the plan:\n%s\n----\n%s", a, b)
		}
		checkTotal(t, plan, desired, live, opts)
		checkOrder(t, plan, opts)
	})
}

// planInput is what one fuzz input becomes.
type planInput struct {
	desired, live []*unstructured.Unstructured
	opts          PlanOptions
	rng           *rand.Rand
}

// newPlanInput builds objects and options from data, reading it a byte at
// a time (zeros once it runs out).
func newPlanInput(data []byte) *planInput {
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	pick := func(list []string) string { return list[next()%len(list)] }
	kinds := []struct{ apiVersion, kind string }{
		{"v1", "Namespace"}, {"apiextensions.k8s.io/v1", "CustomResourceDefinition"},
		{"v1", "ServiceAccount"}, {"v1", "Secret"}, {"v1", "ConfigMap"},
		{"rbac.authorization.k8s.io/v1", "ClusterRole"}, {"v1", "Service"},
		{"apps/v1", "Deployment"}, {"extensions/v1beta1", "Deployment"}, {"batch/v1", "Job"},
		{"v1", "Pod"}, {"example.com/v1", "Widget"}, {"example.com/v1", "Deployment"},
		{"admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"},
	}
	names := []string{"a", "b", "api", "web", "migrate", ""}
	namespaces := []string{"", "shop", "other"}
	waveKeys := []string{WaveAnnotation, ArgoWaveAnnotation, HelmHookWeightAnnotation}
	waves := []string{"", "0", "1", "-1", "2", "5", "-5", "10", "007", "+3", "x", "1.5", "9223372036854775807", "-9223372036854775808"}
	hookKeys := []string{HookAnnotation, ArgoHookAnnotation, HelmHookAnnotation}
	hooks := []string{"", "PreSync", "Sync", "PostSync", "SyncFail", "Skip", "PreDelete", "PostDelete",
		"PostSync,PreSync", "PreSync, SyncFail", "Sync,PreDelete", "Bogus",
		"pre-install", "post-install,post-upgrade", "pre-upgrade", "test", "crd-install", "pre-delete"}
	deletes := []string{"", "HookSucceeded", "HookFailed,BeforeHookCreation", "hook-succeeded", "Whenever"}
	options := []string{"", "Prune=false", "PruneLast=true", "PruneLast=false", "Delete=false", "Replace=true", "Prune=confirm", "Nonsense=true"}

	object := func() *unstructured.Unstructured {
		k := kinds[next()%len(kinds)]
		obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": k.apiVersion, "kind": k.kind, "metadata": map[string]any{}}}
		if name := pick(names); name != "" {
			obj.SetName(name)
		} else if next()%2 == 0 {
			obj.SetGenerateName(pick(names) + "-")
		}
		obj.SetNamespace(pick(namespaces))
		ann := map[string]string{}
		flags := next()
		if flags&1 != 0 {
			ann[waveKeys[next()%len(waveKeys)]] = pick(waves)
		}
		if flags&2 != 0 {
			ann[hookKeys[next()%len(hookKeys)]] = pick(hooks)
		}
		if flags&4 != 0 {
			ann[hookKeys[next()%len(hookKeys)]] = pick(hooks) // a second spelling
		}
		if flags&8 != 0 {
			ann[[]string{HookDeletePolicyAnnotation, ArgoHookDeletePolicyAnnotation, HelmHookDeletePolicyAnnotation}[next()%3]] = pick(deletes)
		}
		if flags&16 != 0 {
			ann[[]string{SyncOptionsAnnotation, ArgoSyncOptionsAnnotation}[next()%2]] = pick(options)
		}
		if len(ann) > 0 {
			obj.SetAnnotations(ann)
		}
		return obj
	}

	in := &planInput{opts: PlanOptions{AppNamespace: "argo", AppName: "app"}}
	flags := next()
	in.opts.Prune = flags&1 != 0
	in.opts.PruneLast = flags&2 != 0
	for n := next() % 12; n > 0; n-- {
		in.desired = append(in.desired, object())
	}
	for n := next() % 10; n > 0; n-- {
		obj := object()
		if obj.GetName() == "" {
			obj.SetName(pick(names[:len(names)-1]))
			obj.SetGenerateName("")
		}
		ann := obj.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		switch next() % 4 {
		case 0, 1:
			ann[app.TrackingAnnotation] = app.TrackingID("argo", "app", app.KeyOf(obj))
		case 2:
			ann[app.TrackingAnnotation] = app.TrackingID("argo", "other", app.KeyOf(obj))
		}
		obj.SetAnnotations(ann)
		if slices.ContainsFunc(in.live, func(l *unstructured.Unstructured) bool { return app.KeyOf(l) == app.KeyOf(obj) }) {
			continue // the inventory holds each object once (see below for versions)
		}
		in.live = append(in.live, obj)
		if next()%5 == 0 {
			// The same object listed under a second version.
			again := obj.DeepCopy()
			gv, _ := schema.ParseGroupVersion(again.GetAPIVersion())
			again.SetAPIVersion(schema.GroupVersion{Group: gv.Group, Version: "v9"}.String())
			in.live = append(in.live, again)
		}
	}
	if flags&4 != 0 {
		for _, obj := range append(slices.Clone(in.desired), in.live...) {
			if next()%2 == 0 {
				in.opts.Resources = append(in.opts.Resources, app.KeyOf(obj))
			}
		}
	}
	in.rng = rand.New(rand.NewPCG(uint64(next()), uint64(len(data))))
	return in
}

// shuffled returns the inputs in another order, generateName objects kept
// in their relative order.
func (in *planInput) shuffled() (desired, live []*unstructured.Unstructured) {
	desired, live = slices.Clone(in.desired), slices.Clone(in.live)
	in.rng.Shuffle(len(desired), func(i, j int) { desired[i], desired[j] = desired[j], desired[i] })
	in.rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
	var gen []*unstructured.Unstructured
	for _, obj := range in.desired {
		if obj.GetName() == "" {
			gen = append(gen, obj)
		}
	}
	for i, obj := range desired {
		if obj.GetName() == "" {
			desired[i], gen = gen[0], gen[1:]
		}
	}
	return desired, live
}

func deepCopies(lists ...[]*unstructured.Unstructured) [][]map[string]any {
	var out [][]map[string]any
	for _, l := range lists {
		var c []map[string]any
		for _, obj := range l {
			c = append(c, obj.DeepCopy().Object)
		}
		out = append(out, c)
	}
	return out
}

// describePlan writes the plan out with what makes tasks differ; a desired
// object by its address, which shuffling keeps, and a live one by its key,
// since which of two versions of one object counts is the first listed.
func describePlan(p *Plan) string {
	var b strings.Builder
	task := func(t Task) {
		fmt.Fprintf(&b, "  %s %s phase=%s wave=%d desired=%p live=%v reason=%q kept=%s\n",
			t.Action, t.Key, t.Policy.Phase, t.Policy.Wave, t.Desired, t.Live != nil, t.Reason, t.KeptBy)
	}
	for _, w := range p.Waves {
		fmt.Fprintf(&b, "%s %d\n", w.Phase, w.Wave)
		for _, t := range w.Prune {
			task(t)
		}
		b.WriteString(" --\n")
		for _, t := range w.Tasks {
			task(t)
		}
	}
	b.WriteString("SyncFail\n")
	for _, t := range p.SyncFail {
		task(t)
	}
	return b.String()
}

// checkTotal checks that the plan holds each object as often as it should.
func checkTotal(t *testing.T, p *Plan, desired, live []*unstructured.Unstructured, opts PlanOptions) {
	t.Helper()
	selected := func(k app.ResourceKey) bool { return len(opts.Resources) == 0 || slices.Contains(opts.Resources, k) }
	seen := map[*unstructured.Unstructured]int{}
	pruned := map[app.ResourceKey]int{}
	for _, w := range p.Waves {
		for _, task := range w.Tasks {
			if task.Desired == nil || task.Action == TaskPrune {
				t.Fatalf("wave %s %d: task %s without a desired object", w.Phase, w.Wave, task.Key)
			}
			seen[task.Desired]++
		}
		for _, task := range w.Prune {
			if task.Desired != nil || task.Live == nil || (task.Action != TaskPrune && task.Action != TaskSkip) {
				t.Fatalf("wave %s %d: prune task %s %s with desired %v live %v", w.Phase, w.Wave, task.Action, task.Key, task.Desired != nil, task.Live != nil)
			}
			pruned[task.Key]++
		}
	}
	for _, task := range p.SyncFail {
		if task.Desired == nil || task.Action != TaskRunHook || task.Policy.Phase != app.SyncPhaseSyncFail {
			t.Fatalf("SyncFail task %s %s in phase %s", task.Action, task.Key, task.Policy.Phase)
		}
		seen[task.Desired]++
	}
	declared := map[app.ResourceKey]bool{}
	for _, obj := range desired {
		policy, err := PolicyOf(obj)
		if err != nil {
			t.Fatalf("NewPlan accepted %s, whose policy does not read: %v", describe(obj), err)
		}
		key := app.KeyOf(obj)
		declared[key] = true
		selective := len(opts.Resources) > 0
		want := 1
		switch {
		case selective && (obj.GetName() == "" || !selected(key)):
			want = 0 // a generateName hook's plan key is never selected
		case policy.Hook && !policy.Skip && !selective:
			want = len(policy.Phases)
		}
		if seen[obj] != want {
			t.Errorf("%s (hook %v, phases %v) is in the plan %d times, want %d", describe(obj), policy.Hook, policy.Phases, seen[obj], want)
		}
		delete(seen, obj)
	}
	for obj, n := range seen {
		t.Errorf("%s is in the plan %d times but was not given", describe(obj), n)
	}
	counted := map[app.ResourceKey]bool{}
	for _, obj := range live {
		k := app.KeyOf(obj)
		if counted[k] {
			continue // listed under a second version
		}
		counted[k] = true
		want := 1
		if declared[k] || !selected(k) {
			want = 0
		}
		if pruned[k] != want {
			t.Errorf("live %s is a prune task %d times, want %d", k, pruned[k], want)
		}
		delete(pruned, k)
	}
	for k, n := range pruned {
		t.Errorf("prune task %s (%d times) for no live object", k, n)
	}
}

// checkOrder checks the order of waves and of tasks within them.
func checkOrder(t *testing.T, p *Plan, opts PlanOptions) {
	t.Helper()
	rank := map[app.SyncPhase]int{app.SyncPhasePreSync: 0, app.SyncPhaseSync: 1, app.SyncPhasePostSync: 2}
	for i, w := range p.Waves {
		r, ok := rank[w.Phase]
		if !ok {
			t.Fatalf("wave %d has phase %q", i, w.Phase)
		}
		if len(w.Prune) > 0 && w.Phase != app.SyncPhaseSync {
			t.Errorf("%s wave %d prunes", w.Phase, w.Wave)
		}
		if len(w.Prune)+len(w.Tasks) == 0 {
			t.Errorf("%s wave %d is empty", w.Phase, w.Wave)
		}
		if i > 0 {
			prev := p.Waves[i-1]
			if c := cmp.Or(cmp.Compare(rank[prev.Phase], r), cmp.Compare(prev.Wave, w.Wave)); c >= 0 {
				t.Errorf("wave %s %d comes after %s %d", w.Phase, w.Wave, prev.Phase, prev.Wave)
			}
		}
		for j, task := range w.Tasks {
			phase := app.SyncPhaseSync
			if task.Action == TaskRunHook {
				phase = task.Policy.Phase
			}
			if phase != w.Phase || task.Policy.Wave != w.Wave {
				t.Errorf("%s runs in %s %d but is in wave %s %d", task.Key, phase, task.Policy.Wave, w.Phase, w.Wave)
			}
			if j > 0 && compareInWave(w.Tasks[j-1], task) >= 0 {
				t.Errorf("wave %s %d: %s %s comes after %s %s", w.Phase, w.Wave, task.Action, task.Key, w.Tasks[j-1].Action, w.Tasks[j-1].Key)
			}
		}
		for j := 1; j < len(w.Prune); j++ {
			a, b := w.Prune[j-1], w.Prune[j]
			if c := cmp.Or(cmp.Compare(a.Policy.Wave, b.Policy.Wave), compareInWave(a, b)); c <= 0 {
				t.Errorf("wave %d: prune of %s (wave %d) comes before %s (wave %d), want the reverse of the apply order", w.Wave, a.Key, a.Policy.Wave, b.Key, b.Policy.Wave)
			}
		}
	}
	// Across waves, the prunes go from the highest wave to the lowest; those
	// pruned last are in the last Sync wave, after every other.
	var lastSync int64
	var lastWave *int64
	for _, w := range p.Waves {
		if w.Phase == app.SyncPhaseSync {
			lastSync = w.Wave
		}
	}
	last := func(t Task) bool { return pruneLast(t, opts) }
	for _, w := range p.Waves {
		for _, task := range w.Prune {
			if last(task) {
				if w.Phase != app.SyncPhaseSync || w.Wave != lastSync {
					t.Errorf("%s is pruned last, but in wave %s %d before the last Sync wave %d", task.Key, w.Phase, w.Wave, lastSync)
				}
				continue
			}
			if w.Wave == lastSync && slices.ContainsFunc(w.Prune, last) {
				t.Errorf("%s is pruned with the objects pruned last", task.Key)
			}
			if lastWave != nil && task.Policy.Wave > *lastWave {
				t.Errorf("%s (wave %d) is pruned after an object of wave %d", task.Key, task.Policy.Wave, *lastWave)
			}
			wave := task.Policy.Wave
			lastWave = &wave
		}
	}
	for j, task := range p.SyncFail {
		if j > 0 {
			prev := p.SyncFail[j-1]
			if c := cmp.Or(cmp.Compare(prev.Policy.Wave, task.Policy.Wave), compareInWave(prev, task)); c >= 0 {
				t.Errorf("SyncFail: %s comes after %s", task.Key, prev.Key)
			}
		}
	}
}

// pruneLast reports whether a prune task belongs in the wave of objects
// pruned last: its own PruneLast option says so, or it has none and the
// Application's does; see Plan.
func pruneLast(t Task, opts PlanOptions) bool {
	if v, ok := t.Policy.Options.Get(app.OptionPruneLast); ok {
		return strings.EqualFold(v, "true")
	}
	return opts.PruneLast
}

// compareInWave is the order within one wave: ordinary objects before
// hooks, then KindOrder, then kind, group, namespace and name.
func compareInWave(a, b Task) int {
	hook := func(t Task) bool { return t.Action == TaskRunHook }
	return cmp.Or(
		compareBool(hook(a), hook(b)),
		cmp.Compare(KindOrder(a.Key.GroupKind()), KindOrder(b.Key.GroupKind())),
		cmp.Compare(a.Key.Kind, b.Key.Kind),
		cmp.Compare(a.Key.Group, b.Key.Group),
		cmp.Compare(a.Key.Namespace, b.Key.Namespace),
		cmp.Compare(a.Key.Name, b.Key.Name),
	)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

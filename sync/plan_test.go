package sync

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// TestPlanGolden plans each testdata/plan/<case>/: desired.yaml (what git
// declares), live.yaml (the app's inventory, optional) and options.yaml
// (PlanOptions, optional), and compares the plan, written out by dumpPlan,
// with want.txt.
func TestPlanGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "plan", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases under testdata/plan: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			desired := readObjects(t, filepath.Join(dir, "desired.yaml"))
			live := readObjects(t, filepath.Join(dir, "live.yaml"))
			var opts PlanOptions
			if data, err := os.ReadFile(filepath.Join(dir, "options.yaml")); err == nil {
				if err := yaml.UnmarshalStrict(data, &opts); err != nil {
					t.Fatalf("options.yaml: %v", err)
				}
			}
			want, err := os.ReadFile(filepath.Join(dir, "want.txt"))
			if err != nil {
				t.Fatal(err)
			}
			plan, err := NewPlan(desired, live, opts)
			if err != nil {
				t.Fatalf("NewPlan: %v", err)
			}
			if got := dumpPlan(plan); got != string(want) {
				t.Errorf("plan differs from want.txt\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

// TestPlanDeterministic checks that the order of the inputs does not change
// the plan.
func TestPlanDeterministic(t *testing.T) {
	for _, name := range []string{"waves", "hooks", "prune"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "plan", name)
			desired := readObjects(t, filepath.Join(dir, "desired.yaml"))
			live := readObjects(t, filepath.Join(dir, "live.yaml"))
			opts := PlanOptions{AppNamespace: "shop", AppName: "app", Prune: true}
			first, err := NewPlan(desired, live, opts)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for range 20 {
				if name == "hooks" {
					// generateName hooks are numbered in desired order;
					// shuffle only the live list and keep those in place.
					rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
				} else {
					rng.Shuffle(len(desired), func(i, j int) { desired[i], desired[j] = desired[j], desired[i] })
					rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
				}
				again, err := NewPlan(desired, live, opts)
				if err != nil {
					t.Fatal(err)
				}
				if a, b := dumpPlan(first), dumpPlan(again); a != b {
					t.Fatalf("plan depends on input order:\n%s---\n%s", a, b)
				}
			}
		})
	}
}

// TestPlanErrors checks that NewPlan refuses desired objects it cannot
// plan, naming each one.
func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name    string
		desired string
		want    []string // each must appear in the error
	}{
		{
			name: "duplicate key, whatever the version",
			desired: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
---
apiVersion: apps/v1beta1
kind: Deployment
metadata: {name: api, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: other}`,
			want: []string{"apps/Deployment/shop/api: declared twice"},
		},
		{
			name: "malformed wave",
			desired: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  namespace: shop
  annotations: {gyre.dev/sync-wave: x}`,
			want: []string{`ConfigMap/shop/a: annotation gyre.dev/sync-wave: wave "x" is not an integer`},
		},
		{
			name: "unknown hook type",
			desired: `
apiVersion: batch/v1
kind: Job
metadata:
  name: m
  namespace: shop
  annotations: {argocd.argoproj.io/hook: Presync}`,
			want: []string{`batch/Job/shop/m: annotation argocd.argoproj.io/hook: unknown hook type "Presync"`},
		},
		{
			name: "generateName on an ordinary object",
			desired: `
apiVersion: batch/v1
kind: Job
metadata: {generateName: run-, namespace: shop}`,
			want: []string{"batch/Job/shop/run-*: generateName is supported on hooks only"},
		},
		{
			name: "no name",
			desired: `
apiVersion: v1
kind: ConfigMap
metadata: {namespace: shop}`,
			want: []string{"ConfigMap/shop/: has neither a name nor a generateName"},
		},
		{
			name: "every problem is reported",
			desired: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  annotations: {helm.sh/hook-weight: "1.5"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b}`,
			want: []string{`ConfigMap/a: annotation helm.sh/hook-weight: wave "1.5" is not an integer`, "ConfigMap/b: declared twice"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := NewPlan(parseObjects(t, tt.desired), nil, PlanOptions{})
			if err == nil {
				t.Fatalf("NewPlan succeeded:\n%s", dumpPlan(plan))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestPlanTasksReferToTheGivenObjects checks that tasks carry the very
// objects passed in, unmodified, and that a task's Policy.Phase is the phase
// it runs in.
func TestPlanTasksReferToTheGivenObjects(t *testing.T) {
	desired := parseObjects(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: shop}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: notify
  namespace: shop
  annotations: {gyre.dev/hook: "PreSync,PostSync"}`)
	live := parseObjects(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: shop}`)
	before := desired[0].DeepCopy()
	plan, err := NewPlan(desired, live, PlanOptions{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Waves) != 3 {
		t.Fatalf("got %d waves, want 3:\n%s", len(plan.Waves), dumpPlan(plan))
	}
	cm := plan.Waves[1].Tasks[0]
	if cm.Desired != desired[0] || cm.Live != live[0] {
		t.Errorf("ConfigMap task does not point at the given objects")
	}
	if !equalObjects(desired[0], before) {
		t.Errorf("NewPlan modified a desired object")
	}
	for _, i := range []int{0, 2} {
		w := plan.Waves[i]
		if got := w.Tasks[0].Policy.Phase; got != w.Phase {
			t.Errorf("wave %d: hook task has Policy.Phase %s, want %s", i, got, w.Phase)
		}
	}
}

// TestPlanRequiresPruning checks Task.RequiresPruning against the filter
// that kept each prune candidate.
func TestPlanRequiresPruning(t *testing.T) {
	live := parseObjects(t, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: stale
  annotations: {gyre.dev/tracking-id: "argo/app:/ConfigMap:/stale"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: pinned
  annotations: {gyre.dev/tracking-id: "argo/app:/ConfigMap:/pinned", gyre.dev/sync-options: Prune=false}`)
	tests := []struct {
		name  string
		prune bool
		want  map[string]bool // name → RequiresPruning
	}{
		{"pruning enabled", true, map[string]bool{"stale": false, "pinned": false}},
		{"pruning disabled", false, map[string]bool{"stale": true, "pinned": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := NewPlan(nil, live, PlanOptions{AppNamespace: "argo", AppName: "app", Prune: tt.prune})
			if err != nil {
				t.Fatal(err)
			}
			for _, task := range plan.PruneTasks() {
				if got := task.RequiresPruning(); got != tt.want[task.Key.Name] {
					t.Errorf("%s: RequiresPruning() = %v, want %v", task.Key, got, tt.want[task.Key.Name])
				}
			}
		})
	}
}

// TestPlanCustomPruneFilters checks that PlanOptions.PruneFilters replaces
// the default filters.
func TestPlanCustomPruneFilters(t *testing.T) {
	live := parseObjects(t, `
apiVersion: v1
kind: Namespace
metadata: {name: busy}
---
apiVersion: v1
kind: Namespace
metadata: {name: empty}`)
	opts := PlanOptions{Prune: true, PruneFilters: []PruneFilter{namespaceInUse{"busy": true}}}
	plan, err := NewPlan(nil, live, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := "Sync 0\n  prune Namespace/empty\n  skip Namespace/busy: still holds objects [namespace-in-use]\n"
	if got := dumpPlan(plan); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// namespaceInUse is a PruneFilter of the kind a caller with a cluster adds:
// it keeps the Namespaces it was told still hold objects.
type namespaceInUse map[string]bool

func (namespaceInUse) Name() string { return "namespace-in-use" }

func (n namespaceInUse) Keep(obj *unstructured.Unstructured, _ PlanOptions) (bool, string) {
	if obj.GetKind() == "Namespace" && n[obj.GetName()] {
		return true, "still holds objects"
	}
	return false, ""
}

// dumpPlan writes a plan one task a line, the format of want.txt:
//
//	<phase> <wave>
//	  (the wave's prune tasks, then its other tasks, each as)
//	  <action> <key> [(live <apiVersion>)] [delete=<policies>] [: <reason> [<kept by>] [requires pruning]]
func dumpPlan(p *Plan) string {
	var b strings.Builder
	for _, w := range p.Waves {
		fmt.Fprintf(&b, "%s %d\n", w.Phase, w.Wave)
		dumpTasks(&b, w.Prune)
		dumpTasks(&b, w.Tasks)
	}
	if len(p.SyncFail) > 0 {
		b.WriteString("SyncFail\n")
		dumpTasks(&b, p.SyncFail)
	}
	return b.String()
}

func dumpTasks(b *strings.Builder, tasks []Task) {
	for _, t := range tasks {
		fmt.Fprintf(b, "  %s %s", t.Action, t.Key)
		if t.Live != nil && t.Desired != nil {
			fmt.Fprintf(b, " (live %s)", t.Live.GetAPIVersion())
		}
		if t.Action == TaskRunHook {
			var ds []string
			for _, d := range t.Policy.DeletePolicies {
				ds = append(ds, string(d))
			}
			fmt.Fprintf(b, " delete=%s", strings.Join(ds, ","))
		}
		if t.Reason != "" {
			fmt.Fprintf(b, ": %s", t.Reason)
		}
		if t.KeptBy != "" {
			fmt.Fprintf(b, " [%s]", t.KeptBy)
		}
		if t.RequiresPruning() {
			b.WriteString(" requires pruning")
		}
		b.WriteString("\n")
	}
}

// readObjects reads the objects of a multi-document YAML file; a missing
// file holds none.
func readObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return parseObjects(t, string(data))
}

// parseObjects decodes multi-document YAML into objects, skipping empty
// documents.
func parseObjects(t *testing.T, docs string) []*unstructured.Unstructured {
	t.Helper()
	dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(docs)), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

// equalObjects reports whether a and b hold the same content.
func equalObjects(a, b *unstructured.Unstructured) bool {
	ja, _ := a.MarshalJSON()
	jb, _ := b.MarshalJSON()
	return bytes.Equal(ja, jb)
}

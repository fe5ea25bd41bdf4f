package cel

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// object parses a YAML object.
func object(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(y), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

// compileOK compiles exprs and fails the test on any error.
func compileOK(t *testing.T, opts Options, exprs ...Expr) *Set {
	t.Helper()
	s, errs := Compile(exprs, opts)
	if len(errs) > 0 {
		t.Fatalf("Compile: %v", errs)
	}
	return s
}

// database is a Flux-style entry judging by status.phase.
var database = Expr{
	APIVersion: "db.example.com/v1",
	Kind:       "Database",
	InProgress: "status.phase in ['Pending', 'Provisioning']",
	Failed:     "status.phase == 'Failed'",
	Current:    "status.phase == 'Running'",
}

func TestCheck(t *testing.T) {
	crossplane := Expr{
		APIVersion: "example.org/v1alpha1",
		Kind:       "XNetwork",
		Failed:     "self.status.conditions.filter(c, c.type == 'Synced').all(c, c.status == 'False')",
		Current:    "has(self.status) && self.status.conditions.filter(c, c.type == 'Ready').all(c, c.status == 'True')",
	}
	s := compileOK(t, Options{}, database, crossplane,
		Expr{APIVersion: "v1", Kind: "ConfigMap", Current: "data.ready == 'yes'"},
		Expr{APIVersion: "example.com/v1", Kind: "Widget", Current: "status.count"},
	)
	for _, tc := range []struct {
		name string
		obj  string
		want app.HealthState
	}{
		{"current", `{apiVersion: db.example.com/v1, kind: Database, status: {phase: Running}}`,
			app.HealthState{Status: app.Healthy, Message: "healthCheckExprs current: status.phase == 'Running'"}},
		{"in progress", `{apiVersion: db.example.com/v1, kind: Database, status: {phase: Provisioning}}`,
			app.HealthState{Status: app.Progressing, Message: "healthCheckExprs inProgress: status.phase in ['Pending', 'Provisioning']"}},
		{"failed", `{apiVersion: db.example.com/v1, kind: Database, status: {phase: Failed}}`,
			app.HealthState{Status: app.Degraded, Message: "healthCheckExprs failed: status.phase == 'Failed'"}},
		{"none true is Progressing, as in Flux", `{apiVersion: db.example.com/v1, kind: Database, status: {phase: Deleting}}`,
			app.HealthState{Status: app.Progressing, Message: "healthCheckExprs: none of inProgress, failed and current is true yet"}},
		{"another version of the group", `{apiVersion: db.example.com/v2beta1, kind: Database, status: {phase: Running}}`,
			app.HealthState{Status: app.Healthy, Message: "healthCheckExprs current: status.phase == 'Running'"}},
		{"the Ready condition's message", `{apiVersion: db.example.com/v1, kind: Database, status: {phase: Failed, conditions: [{type: Ready, status: "False", message: disk full}]}}`,
			app.HealthState{Status: app.Degraded, Message: "disk full"}},
		{"observedGeneration behind", `{apiVersion: db.example.com/v1, kind: Database, metadata: {generation: 3}, status: {observedGeneration: 2, phase: Running}}`,
			app.HealthState{Status: app.Progressing, Message: "waiting for rollout to be observed: generation 3, observed 2"}},
		{"observedGeneration current", `{apiVersion: db.example.com/v1, kind: Database, metadata: {generation: 3}, status: {observedGeneration: 3, phase: Running}}`,
			app.HealthState{Status: app.Healthy, Message: "healthCheckExprs current: status.phase == 'Running'"}},
		{"self, current", `{apiVersion: example.org/v1alpha1, kind: XNetwork, status: {conditions: [{type: Synced, status: "True"}, {type: Ready, status: "True", reason: Available}]}}`,
			app.HealthState{Status: app.Healthy, Message: "Available"}},
		{"self, failed", `{apiVersion: example.org/v1alpha1, kind: XNetwork, status: {conditions: [{type: Synced, status: "False", message: cannot reach the cloud}]}}`,
			app.HealthState{Status: app.Degraded, Message: "healthCheckExprs failed: self.status.conditions.filter(c, c.type == 'Synced').all(c, c.status == 'False')"}},
		{"has(self.status) on an object without status", `{apiVersion: example.org/v1alpha1, kind: XNetwork, spec: {}}`,
			app.HealthState{Status: app.HealthUnknown, Message: "healthCheckExprs failed: no such key: status: self.status.conditions.filter(c, c.type == 'Synced').all(c, c.status == 'False')"}},
		{"core group", `{apiVersion: v1, kind: ConfigMap, data: {ready: "yes"}}`,
			app.HealthState{Status: app.Healthy, Message: "healthCheckExprs current: data.ready == 'yes'"}},
		{"a missing field is Unknown", `{apiVersion: db.example.com/v1, kind: Database, spec: {}}`,
			app.HealthState{Status: app.HealthUnknown, Message: "healthCheckExprs inProgress: no such attribute(s): status.phase: status.phase in ['Pending', 'Provisioning']"}},
		{"not a bool is Unknown", `{apiVersion: example.com/v1, kind: Widget, status: {count: 3}}`,
			app.HealthState{Status: app.HealthUnknown, Message: "healthCheckExprs current: returned double, not a bool: status.count"}}, // YAML numbers decode as float64 here
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := s.Check(object(t, tc.obj))
			if !ok || got != tc.want {
				t.Fatalf("Check = %+v, %v; want %+v", got, ok, tc.want)
			}
		})
	}
}

func TestCheckLeavesOtherKinds(t *testing.T) {
	s := compileOK(t, Options{}, database)
	for _, obj := range []string{
		`{apiVersion: db.example.com/v1, kind: Table, status: {phase: Running}}`, // same group, another kind
		`{apiVersion: other.example.com/v1, kind: Database, status: {phase: Running}}`,
		`{apiVersion: v1, kind: Database, status: {phase: Running}}`,
	} {
		if got, ok := s.Check(object(t, obj)); ok {
			t.Errorf("Check(%s) = %+v, true; want no answer", obj, got)
		}
	}
	var none *Set
	if _, ok := none.Check(object(t, `{apiVersion: db.example.com/v1, kind: Database}`)); ok || none.Len() != 0 {
		t.Fatal("a nil Set answered")
	}
}

func TestCompileErrors(t *testing.T) {
	s, errs := Compile([]Expr{
		{APIVersion: "db.example.com/v1", Kind: "Broken", Current: "status.phase ==", Failed: "status.phase == 'Failed'"},
		{APIVersion: "db.example.com/v1", Kind: "NoCurrent", Failed: "true"},
		{Kind: "NoVersion", Current: "true"},
		{APIVersion: "a/b/c", Kind: "BadVersion", Current: "true"},
		{APIVersion: "db.example.com/v1", Current: "true"},
		database,
	}, Options{})
	want := []string{
		"entry 0 (db.example.com/v1 Broken): current: ",
		"entry 1 (db.example.com/v1 NoCurrent): current is required",
		"entry 2 ( NoVersion): apiVersion is required",
		"entry 3 (a/b/c BadVersion): apiVersion: ",
		"entry 4 (db.example.com/v1 ): kind is required",
	}
	if len(errs) != len(want) {
		t.Fatalf("errors: %v; want %d", errs, len(want))
	}
	for i, err := range errs {
		if !strings.HasPrefix(err.Error(), want[i]) {
			t.Errorf("error %d = %q; want it to start %q", i, err, want[i])
		}
		if _, ok := errors.AsType[*Error](err); !ok {
			t.Errorf("error %d is a %T, not an *Error", i, err)
		}
	}
	if e, _ := errors.AsType[*Error](errs[0]); e.Kind != "Broken" || e.Field != "current" || !strings.Contains(e.Err.Error(), "Syntax error") {
		t.Errorf("the syntax error = %+v", e)
	}
	// The broken entry is left out whole; the good one still applies.
	if s.Len() != 1 {
		t.Fatalf("Len = %d, want 1", s.Len())
	}
	if _, ok := s.Check(object(t, `{apiVersion: db.example.com/v1, kind: Broken, status: {phase: Failed}}`)); ok {
		t.Error("an entry with an expression that does not compile answered")
	}
	if got, ok := s.Check(object(t, `{apiVersion: db.example.com/v1, kind: Database, status: {phase: Running}}`)); !ok || got.Status != app.Healthy {
		t.Errorf("the good entry: %+v, %v", got, ok)
	}
}

func TestLaterEntryWins(t *testing.T) {
	later := database
	later.Current = "status.phase == 'Ready'"
	s := compileOK(t, Options{}, database, later)
	if got, _ := s.Check(object(t, `{apiVersion: db.example.com/v1, kind: Database, status: {phase: Ready}}`)); got.Status != app.Healthy {
		t.Fatalf("got %+v, want the later entry's current", got)
	}
}

// bigList is an object whose spec.items has n numbers.
func bigList(t *testing.T, n int) *unstructured.Unstructured {
	items := make([]any, n)
	for i := range items {
		items[i] = int64(i)
	}
	u := object(t, `{apiVersion: example.com/v1, kind: Widget}`)
	u.Object["spec"] = map[string]any{"items": items}
	return u
}

// expensive is an expression that looks at every pair of items.
const expensive = "spec.items.all(x, spec.items.all(y, x + y >= 0))"

func TestCostLimit(t *testing.T) {
	// A deadline far off, so that it is the cost limit that stops it.
	s := compileOK(t, Options{Timeout: time.Minute}, Expr{APIVersion: "example.com/v1", Kind: "Widget", Current: expensive})
	// Cheap enough with a few items…
	if got, _ := s.Check(bigList(t, 10)); got.Status != app.Healthy {
		t.Fatalf("10 items: %+v", got)
	}
	// …stopped by the cost limit with many.
	start := time.Now()
	got, ok := s.Check(bigList(t, 1500))
	if !ok || got.Status != app.HealthUnknown || !strings.Contains(got.Message, "cost limit exceeded") {
		t.Fatalf("1500 items: %+v, %v; want Unknown, cost limit exceeded", got, ok)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("stopping took %s", d)
	}
}

func TestTimeout(t *testing.T) {
	s := compileOK(t, Options{CostLimit: 1 << 62, Timeout: 20 * time.Millisecond},
		Expr{APIVersion: "example.com/v1", Kind: "Widget", Current: expensive})
	start := time.Now()
	got, _ := s.Check(bigList(t, 20000))
	want := fmt.Sprintf("healthCheckExprs current: ran longer than 20ms: %s", expensive)
	if got.Status != app.HealthUnknown || got.Message != want {
		t.Fatalf("got %+v, want Unknown %q", got, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stopping took %s", d)
	}
}

package cel

import (
	"errors"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
)

func TestLoad(t *testing.T) {
	const list = `
- apiVersion: db.example.com/v1
  kind: Database
  inProgress: status.phase == 'Provisioning'
  failed: status.phase == 'Failed'
  current: status.phase == 'Running'
- apiVersion: example.com/v1
  kind: Misspelt
  current: "true"
  inProgres: "false"
- apiVersion: example.com/v1
  kind: Broken
  current: status.(
- apiVersion: example.com/v1
  kind: Widget
  current: "true"
`
	s, errs := Load("gyre-cm healthCheckExprs", []byte(list), Options{})
	want := []string{
		`gyre-cm healthCheckExprs: entry 1 (example.com/v1 Misspelt): `,
		`gyre-cm healthCheckExprs: entry 2 (example.com/v1 Broken): current: `,
	}
	if len(errs) != len(want) {
		t.Fatalf("errors %v, want %d", errs, len(want))
	}
	for i, err := range errs {
		if !strings.HasPrefix(err.Error(), want[i]) {
			t.Errorf("error %d = %q, want it to start %q", i, err, want[i])
		}
	}
	if !strings.Contains(errs[0].Error(), `unknown field "inProgres"`) {
		t.Errorf("the misspelt field is not named: %v", errs[0])
	}
	if s.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (Database and Widget)", s.Len())
	}
	for obj, want := range map[string]app.HealthStatus{
		`{apiVersion: db.example.com/v1, kind: Database, status: {phase: Provisioning}}`: app.Progressing,
		`{apiVersion: db.example.com/v1, kind: Database, status: {phase: Failed}}`:       app.Degraded,
		`{apiVersion: example.com/v1, kind: Widget}`:                                     app.Healthy,
	} {
		if got, ok := s.Check(object(t, obj)); !ok || got.Status != want {
			t.Errorf("%s: %+v, %v; want %s", obj, got, ok, want)
		}
	}
}

func TestLoadNotAList(t *testing.T) {
	s, errs := Load("exprs.yaml", []byte("apiVersion: v1\nkind: ConfigMap\n"), Options{})
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "exprs.yaml: not a list") || s.Len() != 0 {
		t.Fatalf("Load = %d checks, %v", s.Len(), errs)
	}
	var e *Error
	if !errors.As(errs[0], &e) || e.Index != -1 {
		t.Fatalf("error %#v, want an *Error without an index", errs[0])
	}
}

func TestLoadEmpty(t *testing.T) {
	for _, data := range []string{"", "[]", "# nothing yet\n"} {
		s, errs := Load("gyre-cm healthCheckExprs", []byte(data), Options{})
		if len(errs) != 0 || s.Len() != 0 {
			t.Errorf("Load(%q) = %d checks, %v", data, s.Len(), errs)
		}
	}
}

// TestReadmeExample runs the README's example list.
func TestReadmeExample(t *testing.T) {
	const list = `
- apiVersion: example.org/v1alpha1       # a Crossplane composite
  kind: XPostgreSQLInstance
  failed: status.conditions.exists(c, c.type == 'Synced' && c.status == 'False')
  current: status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')
- apiVersion: bitnami.com/v1alpha1
  kind: SealedSecret
  inProgress: "!has(self.status)"
  failed: status.conditions.exists(e, e.type == 'Synced' && e.status == 'False')
  current: status.conditions.exists(e, e.type == 'Synced' && e.status == 'True')
`
	s, errs := Load("README", []byte(list), Options{})
	if len(errs) > 0 || s.Len() != 2 {
		t.Fatalf("Load: %d checks, %v", s.Len(), errs)
	}
	for _, tc := range []struct {
		obj  string
		want app.HealthState
	}{
		{`{apiVersion: example.org/v1alpha1, kind: XPostgreSQLInstance, status: {conditions: [{type: Synced, status: "True"}, {type: Ready, status: "True", message: available}]}}`,
			app.HealthState{Status: app.Healthy, Message: "available"}},
		{`{apiVersion: example.org/v1alpha1, kind: XPostgreSQLInstance, status: {conditions: [{type: Synced, status: "False", message: cannot compose}]}}`,
			app.HealthState{Status: app.Degraded, Message: "healthCheckExprs failed: status.conditions.exists(c, c.type == 'Synced' && c.status == 'False')"}},
		{`{apiVersion: example.org/v1alpha1, kind: XPostgreSQLInstance, status: {conditions: [{type: Synced, status: "True"}, {type: Ready, status: "False", reason: Creating}]}}`,
			app.HealthState{Status: app.Progressing, Message: "Creating"}},
		{`{apiVersion: bitnami.com/v1alpha1, kind: SealedSecret, spec: {}}`,
			app.HealthState{Status: app.Progressing, Message: "healthCheckExprs inProgress: !has(self.status)"}},
		{`{apiVersion: bitnami.com/v1alpha1, kind: SealedSecret, status: {conditions: [{type: Synced, status: "True"}]}}`,
			app.HealthState{Status: app.Healthy, Message: "healthCheckExprs current: status.conditions.exists(e, e.type == 'Synced' && e.status == 'True')"}},
	} {
		if got, ok := s.Check(object(t, tc.obj)); !ok || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.obj, got, ok, tc.want)
		}
	}
}

package app

import (
	"strings"
	"testing"
	"time"
)

func TestAddHistory(t *testing.T) {
	var s Status
	for i, rev := range []string{"a", "b", "c", "d"} {
		if id := s.AddHistory(HistoryEntry{Revision: rev, ID: 99}, 3); id != int64(i+1) {
			t.Errorf("AddHistory(%s) id = %d, want %d", rev, id, i+1)
		}
	}
	var got []string
	for _, h := range s.History {
		got = append(got, h.Revision)
	}
	if strings.Join(got, "") != "bcd" || s.History[0].ID != 2 {
		t.Errorf("history %+v, want b,c,d with ids 2..4", s.History)
	}
	if h := s.FindHistory(3); h == nil || h.Revision != "c" {
		t.Errorf("FindHistory(3) = %+v", h)
	}
	if s.FindHistory(1) != nil {
		t.Error("FindHistory(1) found a dropped entry")
	}
	s.AddHistory(HistoryEntry{Revision: "e"}, 0)
	if s.History != nil {
		t.Errorf("limit 0 keeps nothing, got %+v", s.History)
	}
}

func TestSuspendAndResumeAutomation(t *testing.T) {
	a := newApp(&SyncPolicy{Automated: &AutomatedSync{Prune: true}})
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	a.SuspendAutomation(AutomationSuspension{Reason: "rolled back to history 3", HistoryID: 3, Revision: "1a2b3c4",
		InitiatedBy: InitiatedBy{Username: "alice"}}, now)
	if a.IsAutomated() {
		t.Error("IsAutomated() after SuspendAutomation")
	}
	s := a.Status.AutomationSuspended
	if s == nil || !s.Since.Time.Equal(now) || s.HistoryID != 3 {
		t.Fatalf("AutomationSuspended = %+v", s)
	}
	c := a.Status.FindCondition(ConditionAutomationSuspended)
	if c == nil || !strings.Contains(c.Message, "rolled back to history 3") || !strings.Contains(c.Message, "1a2b3c4") {
		t.Fatalf("condition = %+v", c)
	}
	if a.Spec.SyncPolicy.Automated == nil {
		t.Error("SuspendAutomation changed the spec")
	}
	if !a.ResumeAutomation() || !a.IsAutomated() || a.Status.FindCondition(ConditionAutomationSuspended) != nil {
		t.Errorf("ResumeAutomation left %+v", a.Status)
	}
	if a.ResumeAutomation() {
		t.Error("ResumeAutomation() twice reported a change")
	}
}

func TestOperationValidate(t *testing.T) {
	tests := []struct {
		name string
		op   Operation
		want string
	}{
		{"sync", Operation{Sync: &SyncOperation{Prune: true}}, ""},
		{"rollback", Operation{Rollback: &RollbackOperation{ID: 2}}, ""},
		{"resume", Operation{Resume: &ResumeOperation{}}, ""},
		{"none", Operation{InitiatedBy: InitiatedBy{Username: "a"}}, "none of"},
		{"two", Operation{Sync: &SyncOperation{}, Resume: &ResumeOperation{}}, "more than one"},
		{"rollback without id", Operation{Rollback: &RollbackOperation{}}, "operation rollback: id"},
	}
	for _, tt := range tests {
		err := tt.op.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestPhaseCompleted(t *testing.T) {
	for p, want := range map[OperationPhase]bool{OperationRunning: false, OperationTerminating: false, OperationSucceeded: true, OperationFailed: true, OperationError: true} {
		if p.Completed() != want {
			t.Errorf("%s.Completed() = %v", p, !want)
		}
	}
}

func TestChangeSet(t *testing.T) {
	cs := ChangeSet{Resources: []Change{
		{Kind: "ConfigMap", Name: "a", Action: ActionCreated},
		{Group: "apps", Kind: "Deployment", Namespace: "p", Name: "b", Action: ActionConfigured},
		{Kind: "ConfigMap", Name: "c", Action: ActionCreated},
	}}
	if cs.Count(ActionCreated) != 2 || cs.Count(ActionPruned) != 0 || cs.Failed() {
		t.Errorf("Count/Failed wrong for %+v", cs)
	}
	cs.Resources = append(cs.Resources, Change{Kind: "Secret", Name: "d", Action: ActionFailed})
	if !cs.Failed() {
		t.Error("Failed() = false with a failed entry")
	}
	if got := cs.Resources[1].Key().String(); got != "apps/Deployment/p/b" {
		t.Errorf("Key() = %s", got)
	}
}

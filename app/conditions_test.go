package app

import (
	"slices"
	"testing"
	"time"
)

func TestConditions(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	t1 := t0.Add(time.Minute)
	var s Status

	if !s.SetCondition(ConditionComparisonError, "repo unreachable", t0) {
		t.Fatal("SetCondition(new) reported no change")
	}
	c := s.FindCondition(ConditionComparisonError)
	if c == nil || c.Message != "repo unreachable" || !c.LastTransitionTime.Time.Equal(t0.Truncate(time.Second)) {
		t.Fatalf("FindCondition = %+v", c)
	}
	if s.SetCondition(ConditionComparisonError, "repo unreachable", t1) {
		t.Error("SetCondition(same message) reported a change")
	}
	if !s.FindCondition(ConditionComparisonError).LastTransitionTime.Time.Equal(t0.Truncate(time.Second)) {
		t.Error("SetCondition(same message) moved LastTransitionTime")
	}
	if !s.SetCondition(ConditionComparisonError, "revision not found", t1) ||
		!s.FindCondition(ConditionComparisonError).LastTransitionTime.Time.Equal(t1.Truncate(time.Second)) {
		t.Error("SetCondition(new message) did not update the message and time")
	}
	s.SetCondition(ConditionSharedResourceWarning, "shared", t1)
	if len(s.Conditions) != 2 {
		t.Fatalf("want 2 conditions, got %+v", s.Conditions)
	}
	if !s.RemoveCondition(ConditionComparisonError) || s.RemoveCondition(ConditionComparisonError) {
		t.Error("RemoveCondition: wrong report")
	}
	if s.FindCondition(ConditionComparisonError) != nil || s.FindCondition(ConditionSharedResourceWarning) == nil {
		t.Errorf("after remove: %+v", s.Conditions)
	}
	s.RemoveCondition(ConditionSharedResourceWarning)
	if s.Conditions != nil {
		t.Errorf("empty conditions should be nil, got %#v", s.Conditions)
	}
}

func TestConditionTypeIsError(t *testing.T) {
	for ct, want := range map[ConditionType]bool{
		ConditionComparisonError: true, ConditionSyncError: true, ConditionInvalidSpecError: true,
		ConditionSharedResourceWarning: false, ConditionAutomationSuspended: false,
		ConditionDependencyWaiting: false, ConditionDependencyError: true, ConditionClusterError: true,
	} {
		if ct.IsError() != want {
			t.Errorf("%s.IsError() = %v", ct, !want)
		}
	}
}

func TestWaitingFor(t *testing.T) {
	var st Status
	if st.WaitingFor() != nil || st.SyncHeld() {
		t.Fatalf("no condition: WaitingFor() = %q, SyncHeld() = %v", st.WaitingFor(), st.SyncHeld())
	}
	want := []string{"gyre/db (OutOfSync)", "other/cache (Progressing)"}
	st.SetCondition(ConditionDependencyWaiting, DependencyWaitingMessage(want, false), time.Unix(1, 0))
	if got := st.Conditions[0].Message; got != "waiting for gyre/db (OutOfSync), other/cache (Progressing)" {
		t.Errorf("message = %q", got)
	}
	if got := st.WaitingFor(); !slices.Equal(got, want) || !st.SyncHeld() {
		t.Errorf("WaitingFor() = %q, SyncHeld() = %v; want %q, true", got, st.SyncHeld(), want)
	}
	st.SetCondition(ConditionDependencyWaiting, DependencyWaitingMessage(want[:1], true), time.Unix(1, 0))
	if got := st.Conditions[0].Message; got != "sync requested, waiting for gyre/db (OutOfSync)" {
		t.Errorf("message with a sync requested = %q", got)
	}
	if got := st.WaitingFor(); !slices.Equal(got, want[:1]) {
		t.Errorf("WaitingFor() with a sync requested = %q, want %q", got, want[:1])
	}
	st.RemoveCondition(ConditionDependencyWaiting)
	st.SetCondition(ConditionDependencyError, "dependency cycle: gyre/a → gyre/b → gyre/a", time.Unix(1, 0))
	if st.WaitingFor() != nil || !st.SyncHeld() {
		t.Errorf("cycle: WaitingFor() = %q, SyncHeld() = %v; want nil, true", st.WaitingFor(), st.SyncHeld())
	}
}

package app

import (
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
	} {
		if ct.IsError() != want {
			t.Errorf("%s.IsError() = %v", ct, !want)
		}
	}
}

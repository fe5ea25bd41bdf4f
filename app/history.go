package app

import (
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HistoryEntry records one successful sync, enough to repeat it: the commit,
// the source options, when and who.
type HistoryEntry struct {
	// ID is unique within the Application and grows with every entry; it is
	// what a rollback names.
	ID int64 `json:"id"`
	// Revision is the commit SHA that was synced.
	Revision string `json:"revision"`
	// Source is spec.source at the time, render options included.
	Source Source `json:"source"`
	// DeployedAt is when the sync finished.
	DeployedAt metav1.Time `json:"deployedAt"`
	// DeployStartedAt is when the sync started.
	DeployStartedAt *metav1.Time `json:"deployStartedAt,omitempty"`
	// InitiatedBy is who started the sync.
	InitiatedBy InitiatedBy `json:"initiatedBy,omitempty"`
}

// AddHistory appends e with the next ID (one more than the newest entry, 1
// for the first) and drops the oldest entries beyond limit, which is at
// most MaxHistoryLimit, and beyond MaxHistoryBytes. It returns the ID given
// to e.
func (s *Status) AddHistory(e HistoryEntry, limit int) int64 {
	e.ID = 1
	if n := len(s.History); n > 0 {
		e.ID = s.History[n-1].ID + 1
	}
	h := append(slices.Clone(s.History), e)
	s.History = boundHistory(h, min(limit, MaxHistoryLimit))
	return e.ID
}

// FindHistory returns the history entry with the given ID, or nil.
func (s *Status) FindHistory(id int64) *HistoryEntry {
	for i := range s.History {
		if s.History[i].ID == id {
			return &s.History[i]
		}
	}
	return nil
}

// SuspendAutomation turns automated sync off until a Resume operation, and
// says so: it sets Status.AutomationSuspended and the AutomationSuspended
// condition together. Since is set from now when zero.
func (a *Application) SuspendAutomation(s AutomationSuspension, now time.Time) {
	if s.Since.IsZero() {
		s.Since = metav1.NewTime(now).Rfc3339Copy()
	}
	a.Status.AutomationSuspended = &s
	msg := "automated sync is suspended: " + s.Reason
	if s.Revision != "" {
		msg += fmt.Sprintf(" (held at revision %s)", s.Revision)
	}
	msg += "; request a resume operation to turn it back on"
	a.Status.SetCondition(ConditionAutomationSuspended, msg, now)
}

// ResumeAutomation clears a suspension of automated sync and its condition.
// It reports whether automation was suspended.
func (a *Application) ResumeAutomation() bool {
	was := a.Status.AutomationSuspended != nil
	a.Status.AutomationSuspended = nil
	removed := a.Status.RemoveCondition(ConditionAutomationSuspended)
	return was || removed
}

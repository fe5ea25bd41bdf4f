package app

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HistoryEntry records one successful sync, enough to repeat it: the commit,
// the source options, when and who.
type HistoryEntry struct {
	// ID is unique within the Application and grows with every entry; it is
	// what a rollback names.
	ID int64 `json:"id"`
	// Revision is what was synced, as SyncState.Revision records it.
	Revision string `json:"revision"`
	// Source is spec.source at the time, render options included.
	Source Source `json:"source,omitzero"`
	// Revisions and Sources record each source of an Application with
	// several sources (Source is then empty).
	Revisions []string `json:"revisions,omitempty"`
	Sources   []Source `json:"sources,omitempty"`
	// DeployedAt is when the sync finished.
	DeployedAt metav1.Time `json:"deployedAt"`
	// DeployStartedAt is when the sync started.
	DeployStartedAt *metav1.Time `json:"deployStartedAt,omitempty"`
	// InitiatedBy is who started the sync.
	InitiatedBy InitiatedBy `json:"initiatedBy,omitempty"`
}

// SourceList returns the sources the entry recorded, as Spec.SourceList.
func (e *HistoryEntry) SourceList() []Source {
	if len(e.Sources) > 0 {
		return e.Sources
	}
	return []Source{e.Source}
}

// RevisionList returns the revision of each of SourceList.
func (e *HistoryEntry) RevisionList() []string {
	if len(e.Revisions) > 0 {
		return e.Revisions
	}
	return []string{e.Revision}
}

// JoinRevisions returns the revision recorded for an Application whose
// sources are at revs: the one revision, or for several sources all of
// them in order, joined by ",". Neither a commit SHA nor a chart's
// version@digest holds a ",".
func JoinRevisions(revs []string) string { return strings.Join(revs, ",") }

// ShortRevision abbreviates a revision for people: a commit SHA to 7
// characters, a chart's "<version>@sha256:<hex>" to its version and 7
// characters of the digest, each of several sources' revisions alike.
func ShortRevision(rev string) string {
	parts := strings.Split(rev, ",")
	for i, p := range parts {
		if version, digest, ok := strings.Cut(p, "@"); ok {
			// A chart: its version, and enough of the digest to tell two
			// publications of it apart.
			digest = strings.TrimPrefix(digest, "sha256:")
			parts[i] = version + "@" + digest[:min(len(digest), 7)]
		} else if len(p) > 7 {
			parts[i] = p[:7]
		}
	}
	return strings.Join(parts, ",")
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

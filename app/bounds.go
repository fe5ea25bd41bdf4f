package app

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// The status of an Application is one object in etcd, which takes about
// 1.5 MiB per object: an Application whose status grew past that could not
// be written again, and would be stuck. So every list and message in the
// status that grows with the repository is bounded. The per-object lists
// (Status.Resources and an operation's change set) keep the most useful
// entries and a summary that counts them all; the reconciler keeps the
// complete lists in memory and the API serves them. The numbers below, and
// DefaultStatusLimits, were chosen by measuring: a typical entry of either
// list is 120 to 250 bytes of JSON, so 500 entries take 60 to 125 KiB.

// The fixed bounds of a Status.
const (
	// MaxMessageLength bounds a condition, operation or health message,
	// in bytes.
	MaxMessageLength = 4096
	// MaxObjectMessageLength bounds the message of one object in
	// Status.Resources or in a change set, in bytes.
	MaxObjectMessageLength = 1024
	// MaxImages bounds Summary.Images.
	MaxImages = 100
	// MaxHistoryLimit is the most history entries kept, whatever
	// spec.revisionHistoryLimit says.
	MaxHistoryLimit = 100
	// MaxHistoryBytes bounds the JSON size of Status.History: the oldest
	// entries are dropped beyond it (the newest is always kept). An entry
	// holds spec.source, whose inline Helm values can be large.
	MaxHistoryBytes = 128 << 10
)

// StatusLimits bound the two per-object lists of a Status:
// Status.Resources and the change set of the last operation. Each keeps at
// most Objects entries and at most ObjectBytes bytes of JSON, whichever
// comes first.
//
// +k8s:deepcopy-gen=false
type StatusLimits struct {
	// Objects is the most entries each list keeps. Default 500.
	Objects int
	// ObjectBytes bounds the JSON size of each list. Default 160 KiB.
	ObjectBytes int
}

// DefaultStatusLimits returns the defaults described on StatusLimits.
func DefaultStatusLimits() StatusLimits {
	return StatusLimits{Objects: 500, ObjectBytes: 160 << 10}
}

// withDefaults fills the fields left zero (or negative) from
// DefaultStatusLimits.
func (l StatusLimits) withDefaults() StatusLimits {
	d := DefaultStatusLimits()
	if l.Objects <= 0 {
		l.Objects = d.Objects
	}
	if l.ObjectBytes <= 0 {
		l.ObjectBytes = d.ObjectBytes
	}
	return l
}

// ResourcesSummary counts the objects an Application manages, whether
// Status.Resources lists them or not.
type ResourcesSummary struct {
	// Total is how many objects there are.
	Total int64 `json:"total"`
	// Truncated is set when Status.Resources lists only some of them:
	// those refused, missing, out of sync or unhealthy first. The API
	// lists them all (GET /api/v1/applications/{namespace}/{name}/resources).
	Truncated bool `json:"truncated,omitempty"`
	// Sync counts the objects by sync status.
	Sync map[SyncStatus]int64 `json:"sync,omitempty"`
	// Health counts the objects that have a health by health status.
	Health map[HealthStatus]int64 `json:"health,omitempty"`
	// RequiresPruning counts the live objects git no longer declares.
	RequiresPruning int64 `json:"requiresPruning,omitempty"`
	// Refused counts the objects that cannot be synced (their Message
	// says why).
	Refused int64 `json:"refused,omitempty"`
}

// SummarizeResources counts rs.
func SummarizeResources(rs []ResourceStatus) *ResourcesSummary {
	s := &ResourcesSummary{Total: int64(len(rs))}
	for i := range rs {
		r := &rs[i]
		if r.Status != "" {
			if s.Sync == nil {
				s.Sync = map[SyncStatus]int64{}
			}
			s.Sync[r.Status]++
		}
		if r.Health != nil && r.Health.Status != "" {
			if s.Health == nil {
				s.Health = map[HealthStatus]int64{}
			}
			s.Health[r.Health.Status]++
		}
		if r.RequiresPruning {
			s.RequiresPruning++
		}
		if r.Message != "" {
			s.Refused++
		}
	}
	return s
}

// ChangeSummary counts the entries of a change set, whether
// ChangeSet.Resources lists them or not.
type ChangeSummary struct {
	// Total is how many objects the operation handled.
	Total int64 `json:"total"`
	// Truncated is set when ChangeSet.Resources lists only some of them:
	// failures and hooks first, objects left unchanged last. The API lists
	// them all (GET /api/v1/applications/{namespace}/{name}/operation).
	Truncated bool `json:"truncated,omitempty"`
	// Actions counts the entries by action.
	Actions map[Action]int64 `json:"actions,omitempty"`
}

// SummarizeChanges counts changes.
func SummarizeChanges(changes []Change) *ChangeSummary {
	s := &ChangeSummary{Total: int64(len(changes))}
	for i := range changes {
		if s.Actions == nil {
			s.Actions = map[Action]int64{}
		}
		s.Actions[changes[i].Action]++
	}
	return s
}

// SetResources records every object the Application manages: Summary.Resources
// counts them all and Resources keeps, within l, the most useful (see
// resourceRank), in key order. all is not changed.
func (s *Status) SetResources(all []ResourceStatus, l StatusLimits) {
	sum := SummarizeResources(all)
	s.Resources, sum.Truncated = boundList(all, l.withDefaults(), resourceRank, boundResource)
	s.Summary.Resources = sum
}

// Bound brings every list and message of s within l and the fixed bounds
// above. It is idempotent, and it never changes what s points to (the
// caller's lists and operation state): it replaces what it bounds.
func (s *Status) Bound(l StatusLimits) {
	l = l.withDefaults()
	switch sum := s.Summary.Resources; {
	case sum != nil && sum.Truncated:
		// Already bounded from a longer list: its summary counts what
		// the list no longer holds.
		s.Resources, _ = boundList(s.Resources, l, resourceRank, boundResource)
	case sum != nil || len(s.Resources) > 0:
		s.SetResources(s.Resources, l)
	}
	s.Health.Message = TruncateMessage(s.Health.Message, MaxMessageLength)
	if len(s.Conditions) > 0 {
		conds := slices.Clone(s.Conditions)
		for i := range conds {
			conds[i].Message = TruncateMessage(conds[i].Message, MaxMessageLength)
		}
		s.Conditions = conds
	}
	if op := s.OperationState; op != nil {
		c := *op
		c.Message = TruncateMessage(op.Message, MaxMessageLength)
		c.SyncResult = op.SyncResult.Bounded(l)
		s.OperationState = &c
	}
	if as := s.AutomationSuspended; as != nil && len(as.Reason) > MaxMessageLength {
		c := *as
		c.Reason = TruncateMessage(as.Reason, MaxMessageLength)
		s.AutomationSuspended = &c
	}
	if len(s.Summary.Images) > MaxImages {
		s.Summary.Images = s.Summary.Images[:MaxImages:MaxImages]
	}
	s.History = boundHistory(s.History, MaxHistoryLimit)
}

// Bounded returns cs within l: Resources keeps the most useful entries
// (see changeRank) in their order, and Summary counts them all. It returns
// nil for nil and never changes cs.
func (cs *ChangeSet) Bounded(l StatusLimits) *ChangeSet {
	if cs == nil {
		return nil
	}
	l = l.withDefaults()
	out := *cs
	if cs.Summary != nil && cs.Summary.Truncated {
		out.Resources, _ = boundList(cs.Resources, l, changeRank, boundChange)
		return &out
	}
	sum := SummarizeChanges(cs.Resources)
	out.Resources, sum.Truncated = boundList(cs.Resources, l, changeRank, boundChange)
	out.Summary = sum
	return &out
}

// resourceRank orders objects for Status.Resources, most useful first:
// refused, missing, out of sync, unhealthy or unknown, suspended, the rest.
func resourceRank(r *ResourceStatus) int {
	var health HealthStatus
	if r.Health != nil {
		health = r.Health.Status
	}
	switch {
	case r.Message != "":
		return 0
	case health == Missing:
		return 1
	case r.Status == OutOfSync:
		return 2
	case health == Degraded:
		return 3
	case r.Status == SyncUnknown, health == Progressing, health == HealthUnknown:
		return 4
	case health == Suspended:
		return 5
	}
	return 6
}

// changeRank orders change set entries, most useful first: failures, hooks,
// changes made, skips, objects left unchanged.
func changeRank(c *Change) int {
	switch {
	case c.Action == ActionFailed:
		return 0
	case c.HookType != "":
		return 1 // a resumed operation reads which hooks ran
	case c.Action == ActionSkipped:
		return 3
	case c.Action == ActionUnchanged:
		return 4
	}
	return 2
}

// boundResource returns r with its messages within MaxObjectMessageLength.
func boundResource(r ResourceStatus) ResourceStatus {
	r.Message = TruncateMessage(r.Message, MaxObjectMessageLength)
	if h := r.Health; h != nil && len(h.Message) > MaxObjectMessageLength {
		r.Health = &HealthState{Status: h.Status, Message: TruncateMessage(h.Message, MaxObjectMessageLength)}
	}
	return r
}

// boundChange returns c with its message within MaxObjectMessageLength.
func boundChange(c Change) Change {
	c.Message = TruncateMessage(c.Message, MaxObjectMessageLength)
	return c
}

// boundList returns the entries of all that fit l, each bounded by one:
// taken by rank (ties by position, so the result is deterministic for a
// deterministic input), then returned in their order in all. It reports
// whether any entry was left out. all is not changed.
func boundList[T any](all []T, l StatusLimits, rank func(*T) int, one func(T) T) ([]T, bool) {
	if len(all) == 0 {
		return nil, false
	}
	order := make([]int, len(all))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rank(&all[a]), rank(&all[b])) })
	keep := make([]bool, len(all))
	kept, size := 0, 2 // the brackets
	for _, i := range order {
		if kept == l.Objects {
			break
		}
		b, err := json.Marshal(one(all[i]))
		if err != nil || size+len(b)+1 > l.ObjectBytes {
			break
		}
		keep[i] = true
		kept++
		size += len(b) + 1
	}
	out := make([]T, 0, kept)
	for i := range all {
		if keep[i] {
			out = append(out, one(all[i]))
		}
	}
	return out, kept < len(all)
}

// boundHistory returns the newest entries of h: at most limit, and no more
// than MaxHistoryBytes of JSON, but always the newest one.
func boundHistory(h []HistoryEntry, limit int) []HistoryEntry {
	if drop := len(h) - max(limit, 0); drop > 0 {
		h = h[drop:]
	}
	size := 0
	for i := len(h) - 1; i >= 0; i-- {
		b, err := json.Marshal(&h[i])
		if err != nil {
			continue
		}
		size += len(b) + 1
		if size > MaxHistoryBytes && i < len(h)-1 {
			h = h[i+1:]
			break
		}
	}
	if len(h) == 0 {
		return nil
	}
	return h
}

// TruncateMessage returns s cut to at most limit bytes, on a character
// boundary, ending in a note of how much was left out. A message within
// limit is returned as it is, so truncating twice changes nothing.
func TruncateMessage(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const note = " … (%d more bytes)"
	cut := limit - len(fmt.Sprintf(note, len(s)))
	if cut <= 0 {
		return cutRunes(s, limit)
	}
	cut = len(cutRunes(s, cut))
	return s[:cut] + fmt.Sprintf(note, len(s)-cut)
}

// cutRunes returns the longest prefix of s of at most n bytes that ends on a
// character boundary.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// JoinMessages joins msgs with sep into at most limit bytes. Messages that
// do not fit are counted instead: "a; b … and 998 more".
func JoinMessages(msgs []string, sep string, limit int) string {
	const more = "%s… and %d more"
	tail := len(fmt.Sprintf(more, sep, len(msgs)))
	var b strings.Builder
	for i, m := range msgs {
		add := m
		if i > 0 {
			add = sep + m
		}
		room := limit - b.Len()
		if i < len(msgs)-1 {
			room -= tail
		}
		if len(add) > room {
			left := len(msgs) - i
			if i == 0 { // the first message alone is too long: cut it
				b.WriteString(TruncateMessage(m, max(room, 0)))
				left--
			}
			if left > 0 {
				fmt.Fprintf(&b, more, sep, left)
			}
			return b.String()
		}
		b.WriteString(add)
	}
	return b.String()
}

package app

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// configMaps returns n synced ConfigMaps named cm-0000… in namespace ns.
func configMaps(ns string, n int) []ResourceStatus {
	out := make([]ResourceStatus, n)
	for i := range out {
		out[i] = ResourceStatus{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: fmt.Sprintf("cm-%04d", i), Status: Synced}
	}
	return out
}

func names(rs []ResourceStatus) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return strings.Join(out, ",")
}

func TestSetResourcesKeepsTheMostUseful(t *testing.T) {
	all := configMaps("web", 20)
	all[3].Status, all[3].Health = OutOfSync, &HealthState{Status: Missing}
	all[7].Status = OutOfSync
	all[9].Health = &HealthState{Status: Degraded, Message: "crash loop"}
	all[12].Status, all[12].RequiresPruning = OutOfSync, true
	all[15].Status, all[15].Message = OutOfSync, "ConfigMap/web/cm-0015: project team-a does not allow namespace web"
	all[18].Health = &HealthState{Status: Progressing}
	before := fmt.Sprint(all)

	var s Status
	s.SetResources(all, StatusLimits{Objects: 5})
	if got, want := names(s.Resources), "cm-0003,cm-0007,cm-0009,cm-0012,cm-0015"; got != want {
		t.Errorf("kept %s, want %s (refused, missing, out of sync, degraded; in key order)", got, want)
	}
	want := &ResourcesSummary{
		Total: 20, Truncated: true,
		Sync:            map[SyncStatus]int64{Synced: 16, OutOfSync: 4},
		Health:          map[HealthStatus]int64{Missing: 1, Degraded: 1, Progressing: 1},
		RequiresPruning: 1, Refused: 1,
	}
	if !reflect.DeepEqual(s.Summary.Resources, want) {
		t.Errorf("summary %+v, want %+v", s.Summary.Resources, want)
	}
	if fmt.Sprint(all) != before {
		t.Error("SetResources changed the list it was given")
	}

	// One more slot takes the Progressing one; a list that fits is kept
	// whole and not marked truncated.
	s.SetResources(all, StatusLimits{Objects: 6})
	if !strings.Contains(names(s.Resources), "cm-0018") {
		t.Errorf("limit 6 kept %s, want cm-0018 (progressing) among them", names(s.Resources))
	}
	s.SetResources(all, StatusLimits{Objects: 20})
	if len(s.Resources) != 20 || s.Summary.Resources.Truncated {
		t.Errorf("limit 20 of 20: kept %d, truncated %v", len(s.Resources), s.Summary.Resources.Truncated)
	}
}

func TestSetResourcesByteBudget(t *testing.T) {
	all := configMaps("web", 400)
	for i := range all {
		all[i].Status = OutOfSync
		all[i].Message = strings.Repeat("x", 5000) // cut to MaxObjectMessageLength
	}
	var s Status
	l := StatusLimits{Objects: 1000, ObjectBytes: 64 << 10}
	s.SetResources(all, l)
	b, _ := json.Marshal(s.Resources)
	if len(b) > l.ObjectBytes || !s.Summary.Resources.Truncated || len(s.Resources) == 0 {
		t.Errorf("kept %d entries in %d bytes, truncated %v; want at most %d bytes", len(s.Resources), len(b), s.Summary.Resources.Truncated, l.ObjectBytes)
	}
	for _, r := range s.Resources {
		if len(r.Message) > MaxObjectMessageLength {
			t.Fatalf("object message of %d bytes kept", len(r.Message))
		}
	}
	if len(all[0].Message) != 5000 {
		t.Error("SetResources cut the caller's message")
	}
}

func TestChangeSetBounded(t *testing.T) {
	cs := &ChangeSet{Revision: "abc"}
	for i := range 30 {
		c := Change{Kind: "ConfigMap", Name: fmt.Sprintf("cm-%02d", i), Action: ActionUnchanged}
		switch i {
		case 4:
			c.Action = ActionConfigured
		case 10:
			c.Action, c.HookType, c.HookPhase = ActionCreated, SyncPhasePreSync, OperationSucceeded
		case 20:
			c.Action, c.Message = ActionFailed, "apply failed: "+strings.Repeat("no ", 1000)
		case 25:
			c.Action = ActionSkipped
		}
		cs.Resources = append(cs.Resources, c)
	}
	b := cs.Bounded(StatusLimits{Objects: 3})
	var got []string
	for _, c := range b.Resources {
		got = append(got, c.Name)
	}
	if strings.Join(got, ",") != "cm-04,cm-10,cm-20" {
		t.Errorf("kept %v, want the failure, the hook and the change, in their order", got)
	}
	if len(b.Resources[2].Message) > MaxObjectMessageLength || len(cs.Resources[20].Message) <= MaxObjectMessageLength {
		t.Error("the kept failure's message is not cut, or the original's is")
	}
	want := &ChangeSummary{Total: 30, Truncated: true, Actions: map[Action]int64{ActionUnchanged: 26, ActionConfigured: 1, ActionCreated: 1, ActionFailed: 1, ActionSkipped: 1}}
	if !reflect.DeepEqual(b.Summary, want) {
		t.Errorf("summary %+v, want %+v", b.Summary, want)
	}
	if b.Count(ActionUnchanged) != 26 || !b.Failed() || b.Revision != "abc" {
		t.Errorf("bounded change set counts %d unchanged, failed %v, revision %q", b.Count(ActionUnchanged), b.Failed(), b.Revision)
	}
	if cs.Summary != nil || len(cs.Resources) != 30 {
		t.Error("Bounded changed the change set it was given")
	}
	if again := b.Bounded(StatusLimits{Objects: 3}); !reflect.DeepEqual(again, b) {
		t.Error("bounding a bounded change set changed it")
	}
	if (*ChangeSet)(nil).Bounded(StatusLimits{}) != nil {
		t.Error("nil bounds to non-nil")
	}
}

// bigStatus is the status of an application of n objects, a tenth of them
// out of sync, with a failed operation that touched every object.
func bigStatus(n int) Status {
	s := Status{
		Resources:  configMaps("team-payments-prod", n),
		Conditions: []Condition{{Type: ConditionSyncError, Message: "sync failed: " + strings.Repeat("ConfigMap/x: apply failed; ", n)}},
		OperationState: &OperationState{
			Phase:      OperationFailed,
			Message:    strings.Repeat("not healthy after 5m: Deployment/x is Progressing; ", n/10),
			SyncResult: &ChangeSet{Revision: "abc"},
		},
	}
	for i := range s.Resources {
		r := &s.Resources[i]
		if i%10 == 0 {
			r.Status = OutOfSync
		}
		s.OperationState.SyncResult.Resources = append(s.OperationState.SyncResult.Resources,
			Change{Version: "v1", Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Action: ActionConfigured, SyncPhase: SyncPhaseSync})
		s.Summary.Images = append(s.Summary.Images, fmt.Sprintf("registry.example.com/team/app-%05d:1.0", i))
	}
	return s
}

func jsonSize(t *testing.T, v any) int {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// TestBoundSizes logs the size of a status before and after Bound, and
// wants it well under what etcd takes (about 1.5 MiB) whatever the number
// of objects.
func TestBoundSizes(t *testing.T) {
	for _, n := range []int{100, 2000, 20000} {
		s := bigStatus(n)
		before := jsonSize(t, s)
		s.Bound(DefaultStatusLimits())
		after := jsonSize(t, s)
		t.Logf("status of %d objects: %d bytes unbounded, %d bytes bounded (%d resources listed, %d changes listed)",
			n, before, after, len(s.Resources), len(s.OperationState.SyncResult.Resources))
		if after > 512<<10 {
			t.Errorf("%d objects: bounded status is %d bytes, want at most 512 KiB", n, after)
		}
		if n <= 500 && len(s.Resources) != n {
			t.Errorf("%d objects: %d listed, want all", n, len(s.Resources))
		}
		if sum := s.Summary.Resources; sum.Total != int64(n) || sum.Sync[OutOfSync] != int64((n+9)/10) || sum.Truncated != (n > 500) {
			t.Errorf("%d objects: summary %+v", n, sum)
		}
	}
}

func TestBoundIsIdempotentAndCopies(t *testing.T) {
	s := bigStatus(3000)
	s.AutomationSuspended = &AutomationSuspension{Reason: strings.Repeat("r", 10000)}
	orig := s.DeepCopy()
	b := s // shares the lists and pointers with s
	b.Bound(DefaultStatusLimits())
	if !reflect.DeepEqual(&s, orig) {
		t.Error("Bound changed what the status it bounds points to")
	}
	for name, m := range map[string]string{
		"condition":           b.Conditions[0].Message,
		"operation":           b.OperationState.Message,
		"automationSuspended": b.AutomationSuspended.Reason,
	} {
		if len(m) > MaxMessageLength || !strings.Contains(m, "more bytes)") {
			t.Errorf("%s message: %d bytes, ends %q", name, len(m), m[max(len(m)-40, 0):])
		}
	}
	if len(b.Summary.Images) != MaxImages {
		t.Errorf("%d images kept, want %d", len(b.Summary.Images), MaxImages)
	}
	once, _ := json.Marshal(b)
	b.Bound(DefaultStatusLimits())
	twice, _ := json.Marshal(b)
	if string(once) != string(twice) {
		t.Error("bounding a bounded status changed it")
	}
	// The summary of a truncated list survives: it counts what the list
	// no longer holds.
	if b.Summary.Resources.Total != 3000 || b.OperationState.SyncResult.Summary.Total != 3000 {
		t.Errorf("totals after two bounds: %d resources, %d changes", b.Summary.Resources.Total, b.OperationState.SyncResult.Summary.Total)
	}
	// A status of an older gyre, without a summary, gets one.
	old := Status{Resources: configMaps("web", 3)}
	old.Bound(StatusLimits{})
	if old.Summary.Resources == nil || old.Summary.Resources.Total != 3 || old.Summary.Resources.Truncated {
		t.Errorf("summary of a short list: %+v", old.Summary.Resources)
	}
	var empty Status
	empty.Bound(StatusLimits{})
	if !reflect.DeepEqual(empty, Status{}) {
		t.Errorf("an empty status bounds to %+v", empty)
	}
}

func TestAddHistoryBounds(t *testing.T) {
	var s Status
	for range MaxHistoryLimit + 20 {
		s.AddHistory(HistoryEntry{Revision: "abc"}, 1000)
	}
	if len(s.History) != MaxHistoryLimit || s.History[len(s.History)-1].ID != MaxHistoryLimit+20 {
		t.Errorf("limit 1000 kept %d entries, want the newest %d", len(s.History), MaxHistoryLimit)
	}
	// Large inline Helm values: the byte budget drops the oldest.
	s = Status{}
	values := strings.Repeat("key: value\n", 4000) // ~44 KiB
	for range 10 {
		s.AddHistory(HistoryEntry{Revision: "abc", Source: Source{Helm: &HelmSource{Values: values}}}, 10)
	}
	if n := jsonSize(t, s.History); n > MaxHistoryBytes || len(s.History) == 0 || s.History[len(s.History)-1].ID != 10 {
		t.Errorf("history of %d entries, %d bytes; want the newest within %d bytes", len(s.History), n, MaxHistoryBytes)
	}
	// The newest is kept even when it alone is over the budget.
	s = Status{}
	s.AddHistory(HistoryEntry{Revision: "abc", Source: Source{Helm: &HelmSource{Values: strings.Repeat("x", MaxHistoryBytes)}}}, 10)
	if len(s.History) != 1 {
		t.Errorf("an entry over the budget alone: %d kept, want 1", len(s.History))
	}
}

func TestTruncateMessage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{"fits", "short", 10, "short"},
		{"exactly", "0123456789", 10, "0123456789"},
		{"cut", strings.Repeat("a", 100), 30, strings.Repeat("a", 9) + " … (91 more bytes)"},
		{"character boundary", strings.Repeat("é", 50), 30, strings.Repeat("é", 4) + " … (92 more bytes)"},
		{"too small for the note", "abcdefghij", 4, "abcd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := TruncateMessage(tc.in, tc.limit)
			if got != tc.want || len(got) > tc.limit || !utf8.ValidString(got) {
				t.Errorf("TruncateMessage(%d bytes, %d) = %q (%d bytes), want %q", len(tc.in), tc.limit, got, len(got), tc.want)
			}
			if again := TruncateMessage(got, tc.limit); again != got {
				t.Errorf("truncating twice: %q", again)
			}
		})
	}
}

func TestJoinMessages(t *testing.T) {
	many := make([]string, 1000)
	for i := range many {
		many[i] = fmt.Sprintf("ConfigMap/web/cm-%03d: refused", i)
	}
	for _, tc := range []struct {
		name  string
		msgs  []string
		limit int
		want  string
	}{
		{"none", nil, 100, ""},
		{"all fit", []string{"a", "b", "c"}, 100, "a; b; c"},
		{"counted", many, 100, "ConfigMap/web/cm-000: refused; ConfigMap/web/cm-001: refused; … and 998 more"},
		{"first too long", []string{strings.Repeat("x", 200), "b"}, 60, strings.Repeat("x", 23) + " … (177 more bytes); … and 1 more"},
		{"only one, too long", []string{strings.Repeat("x", 200)}, 40, strings.Repeat("x", 19) + " … (181 more bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := JoinMessages(tc.msgs, "; ", tc.limit)
			if got != tc.want || len(got) > tc.limit {
				t.Errorf("JoinMessages = %q (%d bytes), want %q", got, len(got), tc.want)
			}
		})
	}
}

package lua

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// entryOf compiles an entry whose script answers with its name.
func entryOf(t *testing.T, group, kind, name string) Entry {
	t.Helper()
	sc, err := Compile(name, says(name))
	if err != nil {
		t.Fatal(err)
	}
	return Entry{Group: group, Kind: kind, Script: sc}
}

func TestSetPrecedence(t *testing.T) {
	dir := []Entry{
		entryOf(t, "example.com", "Widget", "dir exact"),
		entryOf(t, "*.example.com", "*", "dir any sub.example.com"),
		entryOf(t, "*", "Gadget", "dir any Gadget"),
		entryOf(t, "tools.example.com", "*", "dir tools"),
	}
	argo := []Entry{
		entryOf(t, "tools.example.com", "*", "argocd-cm tools"),
		entryOf(t, "example.com", "Gizmo", "argocd-cm exact"),
	}
	gyre := []Entry{
		entryOf(t, "example.com", "Widget", "gyre-cm exact"),
		entryOf(t, "example.com", "Gizmo", "gyre-cm first Gizmo"),
		entryOf(t, "example.com", "Gizmo", "gyre-cm last Gizmo"),
	}
	s := NewSet(Options{}, dir, argo, gyre)
	for _, tc := range []struct {
		group, kind, want string
	}{
		{"example.com", "Widget", "gyre-cm exact"},         // a later layer wins for the same kind
		{"example.com", "Gizmo", "gyre-cm last Gizmo"},     // within a layer, the last entry
		{"tools.example.com", "Hammer", "argocd-cm tools"}, // a later layer's wildcard replaces the same pattern
		{"apps.example.com", "Deployment", "dir any sub.example.com"},
		{"apps.example.com", "Gadget", "dir any sub.example.com"}, // the first matching wildcard of a layer
		{"", "Gadget", "dir any Gadget"},                          // * matches the core group too
		{"example.com", "Gadget", "dir any Gadget"},
		{"example.org", "Widget", ""},
	} {
		got := ""
		if sc := s.ScriptFor(schema.GroupKind{Group: tc.group, Kind: tc.kind}); sc != nil {
			got = sc.Origin()
		}
		if got != tc.want {
			t.Errorf("%s/%s: got %q, want %q", tc.group, tc.kind, got, tc.want)
		}
	}
}

func TestExactBeatsWildcardOfALaterLayer(t *testing.T) {
	s := NewSet(Options{}, []Entry{entryOf(t, "example.com", "Widget", "dir exact")}, []Entry{entryOf(t, "*", "*", "cm everything")})
	if got := s.ScriptFor(schema.GroupKind{Group: "example.com", Kind: "Widget"}).Origin(); got != "dir exact" {
		t.Fatalf("got %q, want the exact match", got)
	}
	if got := s.ScriptFor(schema.GroupKind{Group: "example.com", Kind: "Gadget"}).Origin(); got != "cm everything" {
		t.Fatalf("got %q, want the wildcard", got)
	}
}

func TestEmptySet(t *testing.T) {
	var nilSet *Set
	if _, ok := nilSet.Check(object("v1", "ConfigMap")); ok {
		t.Fatal("a nil Set answered")
	}
	if _, ok := NewSet(Options{}).Check(object("v1", "ConfigMap")); ok {
		t.Fatal("an empty Set answered")
	}
}

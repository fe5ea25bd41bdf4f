package lua

import (
	"path"
	"slices"
	"strings"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/health"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Entry is one script as a source declares it.
type Entry struct {
	// Group and Kind are the kinds of object the script checks; either may
	// hold * wildcards (any run of characters). The core group is "".
	Group, Kind string
	// Script is the compiled script; its Origin says where it came from.
	Script *Script
}

// wildcard reports whether the entry's group or kind is a pattern.
func (e Entry) wildcard() bool { return strings.Contains(e.Group+e.Kind, "*") }

// matches reports whether the entry's patterns match gk.
func (e Entry) matches(gk schema.GroupKind) bool {
	g, _ := path.Match(e.Group, gk.Group)
	k, _ := path.Match(e.Kind, gk.Kind)
	return g && k
}

// Set is a set of Lua health checks by group and kind, a health.Custom.
// The zero Set has no checks.
type Set struct {
	opts  Options
	exact map[schema.GroupKind]*Script
	wild  []Entry // in the order they are tried
}

var _ health.Custom = (*Set)(nil)

// NewSet returns the Set of the entries of layers, each layer a source's
// entries (FromDir, FromConfigMap). A later layer wins over an earlier one
// for the same group and kind pattern, and within a layer a later entry
// wins. When looking a kind up, an exact group and kind wins over any
// wildcard; among wildcards, the later layer's wins, and within a layer
// the first that matches.
func NewSet(opts Options, layers ...[]Entry) *Set {
	s := &Set{opts: opts.withDefaults(), exact: map[schema.GroupKind]*Script{}}
	for _, layer := range layers {
		var wild []Entry
		for _, e := range layer {
			if e.wildcard() {
				wild = append(wild, e)
				continue
			}
			s.exact[schema.GroupKind{Group: e.Group, Kind: e.Kind}] = e.Script
		}
		wild = lastOfEach(wild)
		// This layer's wildcards are tried before the earlier layers', and
		// replace theirs for the same pattern.
		for _, old := range s.wild {
			if !slices.ContainsFunc(wild, func(e Entry) bool { return e.Group == old.Group && e.Kind == old.Kind }) {
				wild = append(wild, old)
			}
		}
		s.wild = wild
	}
	return s
}

// lastOfEach keeps, for each pattern, its last entry, at the place of its
// first.
func lastOfEach(entries []Entry) []Entry {
	last := map[schema.GroupKind]*Script{}
	for _, e := range entries {
		last[schema.GroupKind{Group: e.Group, Kind: e.Kind}] = e.Script
	}
	var out []Entry
	for _, e := range entries {
		gk := schema.GroupKind{Group: e.Group, Kind: e.Kind}
		if sc, ok := last[gk]; ok {
			out = append(out, Entry{Group: e.Group, Kind: e.Kind, Script: sc})
			delete(last, gk)
		}
	}
	return out
}

// ScriptFor returns the script that checks gk, nil if none does.
func (s *Set) ScriptFor(gk schema.GroupKind) *Script {
	if s == nil {
		return nil
	}
	if sc, ok := s.exact[gk]; ok {
		return sc
	}
	for _, e := range s.wild {
		if e.matches(gk) {
			return e.Script
		}
	}
	return nil
}

// Len is how many scripts the Set holds.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.exact) + len(s.wild)
}

// Check runs the script for obj's kind, if the Set has one.
func (s *Set) Check(obj *unstructured.Unstructured) (app.HealthState, bool) {
	sc := s.ScriptFor(obj.GroupVersionKind().GroupKind())
	if sc == nil {
		return app.HealthState{}, false
	}
	return sc.Check(obj, s.opts), true
}

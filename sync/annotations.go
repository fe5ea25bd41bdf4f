package sync

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The annotations through which an object tells gyre how to sync it.
const (
	// WaveAnnotation holds the object's sync wave, an integer (default 0,
	// negative allowed). Within a phase, lower waves are applied, and must be
	// healthy, before higher ones.
	WaveAnnotation = "gyre.dev/sync-wave"
	// HookAnnotation makes the object a hook: a comma-separated list of the
	// phases it runs in (PreSync, Sync, PostSync, SyncFail, and PreDelete and
	// PostDelete, which run when the Application is deleted), or Skip to
	// leave the object out of syncs altogether.
	HookAnnotation = "gyre.dev/hook"
	// HookDeletePolicyAnnotation lists when a hook's object is deleted:
	// HookSucceeded, HookFailed, BeforeHookCreation (the default; for a hook
	// that runs only on deletion the default is HookSucceeded).
	HookDeletePolicyAnnotation = "gyre.dev/hook-delete-policy"
	// SyncOptionsAnnotation holds per-object sync options such as
	// "Prune=false,Replace=true" (see app.SyncOptions).
	SyncOptionsAnnotation = "gyre.dev/sync-options"
)

// The Argo CD and Helm annotations read as aliases of gyre's own, so that
// repositories written for either work unchanged. When several name the same
// thing, gyre's annotation wins over Argo CD's, and Argo CD's over Helm's.
// Argo CD's compare-options alias is read by package diff.
const (
	// ArgoWaveAnnotation is the alias of WaveAnnotation.
	ArgoWaveAnnotation = "argocd.argoproj.io/sync-wave"
	// ArgoHookAnnotation is the alias of HookAnnotation, PreDelete and
	// PostDelete included.
	ArgoHookAnnotation = "argocd.argoproj.io/hook"
	// ArgoHookDeletePolicyAnnotation is the alias of
	// HookDeletePolicyAnnotation.
	ArgoHookDeletePolicyAnnotation = "argocd.argoproj.io/hook-delete-policy"
	// ArgoSyncOptionsAnnotation is the alias of SyncOptionsAnnotation.
	ArgoSyncOptionsAnnotation = "argocd.argoproj.io/sync-options"
	// HelmHookAnnotation is Helm's hook annotation: pre-install and
	// pre-upgrade run as PreSync hooks, post-install and post-upgrade as
	// PostSync hooks; Helm's other hooks (test, pre-delete, pre-rollback…)
	// are not run by a sync. The legacy value crd-install marks an ordinary
	// object, as in Argo CD.
	HelmHookAnnotation = "helm.sh/hook"
	// HelmHookWeightAnnotation is read as the wave when neither
	// WaveAnnotation nor ArgoWaveAnnotation is set, on hooks and ordinary
	// objects alike (as Argo CD does).
	HelmHookWeightAnnotation = "helm.sh/hook-weight"
	// HelmHookDeletePolicyAnnotation is Helm's delete policy annotation,
	// whose values hook-succeeded, hook-failed and before-hook-creation
	// stand for gyre's HookSucceeded, HookFailed and BeforeHookCreation.
	HelmHookDeletePolicyAnnotation = "helm.sh/hook-delete-policy"
)

// HookDeletePolicy says when a hook's object is deleted.
type HookDeletePolicy string

// The hook delete policies.
const (
	// HookSucceeded deletes the hook's object once it has succeeded.
	HookSucceeded HookDeletePolicy = "HookSucceeded"
	// HookFailed deletes the hook's object once it has failed.
	HookFailed HookDeletePolicy = "HookFailed"
	// BeforeHookCreation deletes the previous run's object before the hook
	// is created again. It is the default when no policy is given.
	BeforeHookCreation HookDeletePolicy = "BeforeHookCreation"
)

// ObjectPolicy is what an object's annotations say about how to sync it.
type ObjectPolicy struct {
	// Hook is true when the object is a hook: it is created in its phase,
	// must finish before the phase moves on, and is never pruned.
	Hook bool
	// Skip is true when the object is not applied by a sync: Argo CD's
	// "hook: Skip", or a hook whose phases a sync never runs (Helm's test
	// hooks; PreDelete and PostDelete hooks, which run only when the
	// Application is deleted). SkipReason says which.
	Skip bool
	// SkipReason explains Skip, for the change set.
	SkipReason string
	// Phase is Sync for ordinary objects and the phase a hook runs in. For
	// a hook that runs in several phases it is the first of Phases; in a
	// Plan, each task carries the phase it runs in.
	Phase app.SyncPhase
	// Phases lists every sync phase a hook runs in, in phase order; nil for
	// ordinary objects.
	Phases []app.SyncPhase
	// DeletePhases lists the phases of an Application's deletion a hook
	// runs in (PreDelete, PostDelete), in that order; see Reconciler's
	// finalize.
	DeletePhases []DeletePhase
	// Wave orders the object within its phase (default 0).
	Wave int64
	// DeletePolicies says when a hook's object is deleted; for hooks it
	// defaults to [BeforeHookCreation], or [HookSucceeded] for a hook that
	// runs only on deletion; for other objects it is nil.
	DeletePolicies []HookDeletePolicy
	// Options are the object's own sync options: Argo CD's annotation
	// followed by gyre's, so that on a conflict gyre's entry wins
	// (app.SyncOptions.Get takes the last entry). PolicyOf refuses options
	// that app.SyncOptions.Check refuses for an object.
	Options app.SyncOptions
}

// HasDeletePolicy reports whether the hook is deleted under policy d.
func (p ObjectPolicy) HasDeletePolicy(d HookDeletePolicy) bool {
	return slices.Contains(p.DeletePolicies, d)
}

// hookSkip is the hook annotation's value that leaves an object out of
// syncs.
const hookSkip = "Skip"

// DeletePhase is a phase of an Application's deletion (with
// ResourcesFinalizer) in which hooks run.
type DeletePhase string

// The delete phases, in the order they run.
const (
	// PreDelete hooks run, and must succeed, before any object of the
	// Application is deleted.
	PreDelete DeletePhase = "PreDelete"
	// PostDelete hooks run once every object of the Application is gone.
	PostDelete DeletePhase = "PostDelete"
)

// helmEvent is a value of Helm's hook annotation.
type helmEvent string

// The Helm hook events a sync maps to a phase, and crd-install, which is not
// a hook at all. Every other value names a hook a sync does not run.
const (
	helmPreInstall  helmEvent = "pre-install"
	helmPreUpgrade  helmEvent = "pre-upgrade"
	helmPostInstall helmEvent = "post-install"
	helmPostUpgrade helmEvent = "post-upgrade"
	helmCRDInstall  helmEvent = "crd-install"
)

// PolicyOf reads obj's sync annotations: wave, hook phases, hook delete
// policies and sync options, each from gyre's annotation or else from its
// Argo CD or Helm alias. An annotation whose value is empty counts as unset.
// It fails, with a message that starts with the object, on a wave that is not
// an integer, an unknown gyre or Argo CD hook type, an unknown delete policy
// on a hook, or a sync option gyre does not know or support on an object.
func PolicyOf(obj *unstructured.Unstructured) (ObjectPolicy, error) {
	p, err := policyOf(obj.GetAnnotations())
	if err != nil {
		return ObjectPolicy{}, fmt.Errorf("%s: %w", describe(obj), err)
	}
	return p, nil
}

// policyOf reads the policy from annotations ann.
func policyOf(ann map[string]string) (ObjectPolicy, error) {
	p := ObjectPolicy{Phase: app.SyncPhaseSync, Options: syncOptionsOf(ann)}
	if err := p.Options.Check(app.ScopeObject); err != nil {
		return ObjectPolicy{}, fmt.Errorf("sync options: %w", err)
	}
	if name, v, ok := firstAnnotation(ann, WaveAnnotation, ArgoWaveAnnotation, HelmHookWeightAnnotation); ok {
		w, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return ObjectPolicy{}, fmt.Errorf("annotation %s: wave %q is not an integer", name, v)
		}
		p.Wave = w
	}
	if err := readHook(ann, &p); err != nil {
		return ObjectPolicy{}, err
	}
	if !p.Hook {
		return p, nil
	}
	defaultPolicy := []HookDeletePolicy{BeforeHookCreation}
	if len(p.Phases) == 0 && len(p.DeletePhases) > 0 {
		defaultPolicy = []HookDeletePolicy{HookSucceeded}
	}
	name, v, ok := firstAnnotation(ann, HookDeletePolicyAnnotation, ArgoHookDeletePolicyAnnotation, HelmHookDeletePolicyAnnotation)
	if !ok {
		p.DeletePolicies = defaultPolicy
		return p, nil
	}
	for _, s := range splitList(v) {
		d, ok := parseDeletePolicy(s)
		if !ok {
			return ObjectPolicy{}, fmt.Errorf("annotation %s: unknown hook delete policy %q (want HookSucceeded, HookFailed or BeforeHookCreation)", name, s)
		}
		if !slices.Contains(p.DeletePolicies, d) {
			p.DeletePolicies = append(p.DeletePolicies, d)
		}
	}
	if len(p.DeletePolicies) == 0 {
		p.DeletePolicies = defaultPolicy
	}
	return p, nil
}

// readHook fills in p's Hook, Skip, SkipReason, Phase and Phases from gyre's
// or Argo CD's hook annotation, or else Helm's.
func readHook(ann map[string]string, p *ObjectPolicy) error {
	if name, v, ok := firstAnnotation(ann, HookAnnotation, ArgoHookAnnotation); ok {
		for _, s := range splitList(v) {
			switch ph := app.SyncPhase(s); {
			case s == hookSkip:
				*p = ObjectPolicy{Skip: true, SkipReason: name + ": " + hookSkip, Phase: app.SyncPhaseSync, Wave: p.Wave, Options: p.Options}
				return nil
			case phaseRank(ph) >= 0:
				if !slices.Contains(p.Phases, ph) {
					p.Phases = append(p.Phases, ph)
				}
			case DeletePhase(s) == PreDelete || DeletePhase(s) == PostDelete:
				if !slices.Contains(p.DeletePhases, DeletePhase(s)) {
					p.DeletePhases = append(p.DeletePhases, DeletePhase(s))
				}
			default:
				return fmt.Errorf("annotation %s: unknown hook type %q (want PreSync, Sync, PostSync, SyncFail, PreDelete, PostDelete or Skip)", name, s)
			}
		}
		p.Hook = true
		slices.SortFunc(p.DeletePhases, func(a, b DeletePhase) int { return deletePhaseRank(a) - deletePhaseRank(b) })
		if len(p.Phases) == 0 {
			p.Skip = true
			p.SkipReason = fmt.Sprintf("%s: %s: runs when the Application is deleted, not in a sync", name, strings.Join(deletePhaseNames(p.DeletePhases), ","))
		}
		finishPhases(p)
		return nil
	}
	v, ok := ann[HelmHookAnnotation]
	if !ok || strings.TrimSpace(v) == "" {
		return nil
	}
	events := splitList(v)
	if len(events) == 1 && helmEvent(events[0]) == helmCRDInstall {
		return nil
	}
	for _, e := range events {
		var ph app.SyncPhase
		switch helmEvent(e) {
		case helmPreInstall, helmPreUpgrade:
			ph = app.SyncPhasePreSync
		case helmPostInstall, helmPostUpgrade:
			ph = app.SyncPhasePostSync
		default:
			continue
		}
		if !slices.Contains(p.Phases, ph) {
			p.Phases = append(p.Phases, ph)
		}
	}
	p.Hook = true
	if len(p.Phases) == 0 {
		p.Skip = true
		p.SkipReason = fmt.Sprintf("%s: %q hooks do not run in a sync (only pre-/post-install and pre-/post-upgrade do)", HelmHookAnnotation, strings.Join(events, ","))
	}
	finishPhases(p)
	return nil
}

// deletePhaseRank returns the position of ph in the order delete phases
// run.
func deletePhaseRank(ph DeletePhase) int {
	if ph == PreDelete {
		return 0
	}
	return 1
}

// deletePhaseNames returns the phases as strings.
func deletePhaseNames(phases []DeletePhase) []string {
	out := make([]string, len(phases))
	for i, ph := range phases {
		out[i] = string(ph)
	}
	return out
}

// finishPhases sorts a hook's phases into phase order and sets Phase to the
// first; a hook that runs in no phase keeps Phase Sync.
func finishPhases(p *ObjectPolicy) {
	slices.SortFunc(p.Phases, func(a, b app.SyncPhase) int { return phaseRank(a) - phaseRank(b) })
	p.Phase = app.SyncPhaseSync
	if len(p.Phases) > 0 {
		p.Phase = p.Phases[0]
	}
}

// phaseRank returns the position of phase ph in the order phases run, or -1
// for a value that is not a phase.
func phaseRank(ph app.SyncPhase) int {
	switch ph {
	case app.SyncPhasePreSync:
		return 0
	case app.SyncPhaseSync:
		return 1
	case app.SyncPhasePostSync:
		return 2
	case app.SyncPhaseSyncFail:
		return 3
	}
	return -1
}

// parseDeletePolicy reads a delete policy by its gyre/Argo CD name or its
// Helm name.
func parseDeletePolicy(s string) (HookDeletePolicy, bool) {
	switch s {
	case string(HookSucceeded), "hook-succeeded":
		return HookSucceeded, true
	case string(HookFailed), "hook-failed":
		return HookFailed, true
	case string(BeforeHookCreation), "before-hook-creation":
		return BeforeHookCreation, true
	}
	return "", false
}

// syncOptionsOf returns the sync options of annotations ann: Argo CD's
// entries, then gyre's, so gyre's win where both set an option and an
// Argo CD "Prune=false" is never lost to an unrelated gyre option.
func syncOptionsOf(ann map[string]string) app.SyncOptions {
	opts := app.ParseSyncOptions(ann[ArgoSyncOptionsAnnotation])
	return append(opts, app.ParseSyncOptions(ann[SyncOptionsAnnotation])...)
}

// firstAnnotation returns the first of names that ann sets to a non-empty
// value, with that value trimmed.
func firstAnnotation(ann map[string]string, names ...string) (name, value string, ok bool) {
	for _, n := range names {
		if v := strings.TrimSpace(ann[n]); v != "" {
			return n, v, true
		}
	}
	return "", "", false
}

// splitList splits a comma-separated annotation value, trimming spaces and
// dropping empty entries.
func splitList(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// describe names obj for a message: its key, or for an object that has only
// a generateName, that prefix followed by "*".
func describe(obj *unstructured.Unstructured) string {
	k := app.KeyOf(obj)
	if k.Name == "" && obj.GetGenerateName() != "" {
		k.Name = obj.GetGenerateName() + "*"
	}
	return k.String()
}

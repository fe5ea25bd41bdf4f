package sync

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestAnnotationsPolicyOf reads the policy of objects annotated the gyre, the
// Argo CD and the Helm way, and checks that gyre's annotations win over
// Argo CD's, and Argo CD's over Helm's.
func TestAnnotationsPolicyOf(t *testing.T) {
	before := []HookDeletePolicy{BeforeHookCreation}
	preSync := []app.SyncPhase{app.SyncPhasePreSync}
	postSync := []app.SyncPhase{app.SyncPhasePostSync}
	ordinary := func(wave int64) ObjectPolicy { return ObjectPolicy{Phase: app.SyncPhaseSync, Wave: wave} }
	hook := func(phases []app.SyncPhase, wave int64, policies ...HookDeletePolicy) ObjectPolicy {
		if policies == nil {
			policies = before
		}
		return ObjectPolicy{Hook: true, Phase: phases[0], Phases: phases, Wave: wave, DeletePolicies: policies}
	}
	tests := []struct {
		name string
		ann  map[string]string
		want ObjectPolicy
	}{
		{"no annotations", nil, ordinary(0)},
		{"gyre wave", map[string]string{WaveAnnotation: "3"}, ordinary(3)},
		{"negative wave", map[string]string{WaveAnnotation: "-2"}, ordinary(-2)},
		{"wave with spaces", map[string]string{WaveAnnotation: " 4 "}, ordinary(4)},
		{"argo wave", map[string]string{ArgoWaveAnnotation: "7"}, ordinary(7)},
		{"helm weight on an ordinary object", map[string]string{HelmHookWeightAnnotation: "2"}, ordinary(2)},
		{"gyre wave wins", map[string]string{WaveAnnotation: "1", ArgoWaveAnnotation: "2", HelmHookWeightAnnotation: "3"}, ordinary(1)},
		{"argo wave wins over helm weight", map[string]string{ArgoWaveAnnotation: "2", HelmHookWeightAnnotation: "3"}, ordinary(2)},
		{"empty gyre wave is unset", map[string]string{WaveAnnotation: "", ArgoWaveAnnotation: "2"}, ordinary(2)},

		{"gyre PreSync hook", map[string]string{HookAnnotation: "PreSync"}, hook(preSync, 0)},
		{"argo PostSync hook", map[string]string{ArgoHookAnnotation: "PostSync"}, hook(postSync, 0)},
		{"Sync hook with wave", map[string]string{HookAnnotation: "Sync", WaveAnnotation: "2"}, hook([]app.SyncPhase{app.SyncPhaseSync}, 2)},
		{"SyncFail hook", map[string]string{HookAnnotation: "SyncFail"}, hook([]app.SyncPhase{app.SyncPhaseSyncFail}, 0)},
		{"hook in two phases, phase order", map[string]string{HookAnnotation: "PostSync, PreSync,PostSync"}, hook([]app.SyncPhase{app.SyncPhasePreSync, app.SyncPhasePostSync}, 0)},
		{"gyre hook wins over argo", map[string]string{HookAnnotation: "PreSync", ArgoHookAnnotation: "PostSync"}, hook(preSync, 0)},
		{"argo hook wins over helm", map[string]string{ArgoHookAnnotation: "PostSync", HelmHookAnnotation: "pre-install"}, hook(postSync, 0)},
		{"argo Skip", map[string]string{ArgoHookAnnotation: "Skip", WaveAnnotation: "1"},
			ObjectPolicy{Skip: true, SkipReason: "argocd.argoproj.io/hook: Skip", Phase: app.SyncPhaseSync, Wave: 1}},
		{"Skip wins within the list", map[string]string{HookAnnotation: "PreSync,Skip"},
			ObjectPolicy{Skip: true, SkipReason: "gyre.dev/hook: Skip", Phase: app.SyncPhaseSync}},
		{"argo PreDelete runs on deletion only", map[string]string{ArgoHookAnnotation: "PreDelete"},
			ObjectPolicy{Hook: true, Skip: true, SkipReason: "argocd.argoproj.io/hook: PreDelete: runs when the Application is deleted, not in a sync",
				Phase: app.SyncPhaseSync, DeletePhases: []DeletePhase{PreDelete}, DeletePolicies: []HookDeletePolicy{HookSucceeded}}},
		{"gyre delete phases in order, delete policy given", map[string]string{HookAnnotation: "PostDelete,PreDelete", HookDeletePolicyAnnotation: "HookFailed"},
			ObjectPolicy{Hook: true, Skip: true, SkipReason: "gyre.dev/hook: PreDelete,PostDelete: runs when the Application is deleted, not in a sync",
				Phase: app.SyncPhaseSync, DeletePhases: []DeletePhase{PreDelete, PostDelete}, DeletePolicies: []HookDeletePolicy{HookFailed}}},
		{"argo PreDelete beside PostSync runs in both", map[string]string{ArgoHookAnnotation: "PreDelete,PostSync"},
			ObjectPolicy{Hook: true, Phase: app.SyncPhasePostSync, Phases: postSync, DeletePhases: []DeletePhase{PreDelete}, DeletePolicies: before}},

		{"helm pre-install,pre-upgrade", map[string]string{HelmHookAnnotation: "pre-install,pre-upgrade"}, hook(preSync, 0)},
		{"helm post-upgrade", map[string]string{HelmHookAnnotation: "post-upgrade"}, hook(postSync, 0)},
		{"helm pre- and post-install", map[string]string{HelmHookAnnotation: "post-install, pre-install"}, hook([]app.SyncPhase{app.SyncPhasePreSync, app.SyncPhasePostSync}, 0)},
		{"helm hook-weight is the wave", map[string]string{HelmHookAnnotation: "pre-install", HelmHookWeightAnnotation: "-5"}, hook(preSync, -5)},
		{"helm test hook is not run", map[string]string{HelmHookAnnotation: "test"},
			ObjectPolicy{Hook: true, Skip: true, SkipReason: `helm.sh/hook: "test" hooks do not run in a sync (only pre-/post-install and pre-/post-upgrade do)`,
				Phase: app.SyncPhaseSync, DeletePolicies: before}},
		{"helm crd-install is an ordinary object", map[string]string{HelmHookAnnotation: "crd-install"}, ordinary(0)},
		{"helm unknown event is ignored", map[string]string{HelmHookAnnotation: "pre-install,pre-frobnicate"}, hook(preSync, 0)},

		{"gyre delete policies", map[string]string{HookAnnotation: "PreSync", HookDeletePolicyAnnotation: "HookSucceeded,HookFailed"},
			hook(preSync, 0, HookSucceeded, HookFailed)},
		{"helm delete policy names", map[string]string{HelmHookAnnotation: "pre-install", HelmHookDeletePolicyAnnotation: "hook-succeeded, before-hook-creation,hook-failed"},
			hook(preSync, 0, HookSucceeded, BeforeHookCreation, HookFailed)},
		{"argo delete policy wins over helm", map[string]string{HelmHookAnnotation: "pre-install", ArgoHookDeletePolicyAnnotation: "HookFailed", HelmHookDeletePolicyAnnotation: "hook-succeeded"},
			hook(preSync, 0, HookFailed)},
		{"gyre delete policy wins over argo", map[string]string{HookAnnotation: "PreSync", HookDeletePolicyAnnotation: "HookSucceeded", ArgoHookDeletePolicyAnnotation: "HookFailed"},
			hook(preSync, 0, HookSucceeded)},
		{"duplicate delete policies counted once", map[string]string{HookAnnotation: "PreSync", HookDeletePolicyAnnotation: "HookSucceeded,hook-succeeded"},
			hook(preSync, 0, HookSucceeded)},
		{"delete policy on an ordinary object is ignored", map[string]string{HookDeletePolicyAnnotation: "Whenever"}, ordinary(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PolicyOf(annotated(tt.ann))
			if err != nil {
				t.Fatalf("PolicyOf: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestAnnotationsSyncOptions checks that the sync options merge Argo CD's
// annotation with gyre's, gyre's winning on a conflict.
func TestAnnotationsSyncOptions(t *testing.T) {
	tests := []struct {
		name      string
		ann       map[string]string
		pruneOff  bool // Options.False(Prune)
		replaceOn bool // Options.True(Replace)
	}{
		{"none", nil, false, false},
		{"gyre", map[string]string{SyncOptionsAnnotation: "Prune=false,Replace=true"}, true, true},
		{"argo", map[string]string{ArgoSyncOptionsAnnotation: "Prune=false"}, true, false},
		{"both merge", map[string]string{ArgoSyncOptionsAnnotation: "Prune=false", SyncOptionsAnnotation: "Replace=true"}, true, true},
		{"gyre wins a conflict", map[string]string{ArgoSyncOptionsAnnotation: "Prune=false,Replace=true", SyncOptionsAnnotation: "Prune=true"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PolicyOf(annotated(tt.ann))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Options.False(app.OptionPrune); got != tt.pruneOff {
				t.Errorf("Options.False(Prune) = %v, want %v (options %q)", got, tt.pruneOff, p.Options)
			}
			if got := p.Options.True(app.OptionReplace); got != tt.replaceOn {
				t.Errorf("Options.True(Replace) = %v, want %v (options %q)", got, tt.replaceOn, p.Options)
			}
		})
	}
}

// TestAnnotationsPolicyOfErrors checks that malformed annotations are errors
// that start with the object and name the annotation.
func TestAnnotationsPolicyOfErrors(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		want string
	}{
		{"wave not a number", map[string]string{WaveAnnotation: "x"},
			`apps/Deployment/shop/api: annotation gyre.dev/sync-wave: wave "x" is not an integer`},
		{"argo wave not a number", map[string]string{ArgoWaveAnnotation: "1e3"},
			`apps/Deployment/shop/api: annotation argocd.argoproj.io/sync-wave: wave "1e3" is not an integer`},
		{"helm weight not a number", map[string]string{HelmHookAnnotation: "pre-install", HelmHookWeightAnnotation: "high"},
			`apps/Deployment/shop/api: annotation helm.sh/hook-weight: wave "high" is not an integer`},
		{"malformed gyre wave is not hidden by a good alias", map[string]string{WaveAnnotation: "one", ArgoWaveAnnotation: "1"},
			`annotation gyre.dev/sync-wave: wave "one"`},
		{"unknown hook type", map[string]string{HookAnnotation: "PreSync,postsync"},
			`apps/Deployment/shop/api: annotation gyre.dev/hook: unknown hook type "postsync" (want PreSync, Sync, PostSync, SyncFail, PreDelete, PostDelete or Skip)`},
		{"unknown delete policy", map[string]string{ArgoHookAnnotation: "PreSync", ArgoHookDeletePolicyAnnotation: "OnSuccess"},
			`apps/Deployment/shop/api: annotation argocd.argoproj.io/hook-delete-policy: unknown hook delete policy "OnSuccess"`},

		// Sync options gyre would not act on are refused, never ignored.
		{"unknown sync option", map[string]string{SyncOptionsAnnotation: "Prune=false,Frobnicate=true"},
			`apps/Deployment/shop/api: sync options: "Frobnicate=true": unknown sync option Frobnicate`},
		{"Prune=confirm", map[string]string{ArgoSyncOptionsAnnotation: "Prune=confirm"},
			`"Prune=confirm": Prune=confirm is not supported`},
		{"Delete=confirm", map[string]string{ArgoSyncOptionsAnnotation: "Delete=confirm"},
			`"Delete=confirm": Delete=confirm is not supported`},
		{"ServerSideApply=false", map[string]string{ArgoSyncOptionsAnnotation: "ServerSideApply=false"},
			`gyre always uses server-side apply`},
		{"Application option on an object", map[string]string{ArgoSyncOptionsAnnotation: "CreateNamespace=true"},
			`CreateNamespace has no effect in an object's sync-options annotation; give it in spec.syncPolicy.syncOptions`},
		{"bad value", map[string]string{SyncOptionsAnnotation: "Replace=yes"},
			`"Replace=yes": Replace=yes: want true or false`},
		{"no value", map[string]string{SyncOptionsAnnotation: "Replace"},
			`"Replace": want Name=value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PolicyOf(annotated(tt.ann))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// annotated returns Deployment shop/api with annotations ann.
func annotated(ann map[string]string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion("apps/v1")
	obj.SetKind("Deployment")
	obj.SetNamespace("shop")
	obj.SetName("api")
	obj.SetAnnotations(ann)
	return obj
}

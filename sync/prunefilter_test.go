package sync

import (
	"slices"
	"testing"
)

// TestPruneFilterKeep checks each prune filter on its own: the objects it
// keeps, with its reason, and the ones it lets go.
func TestPruneFilterKeep(t *testing.T) {
	opts := PlanOptions{AppNamespace: "shop", AppName: "app", Prune: true}
	tests := []struct {
		name   string
		filter PruneFilter
		obj    string
		opts   PlanOptions
		reason string // "" means not kept
	}{
		{"tracked by this app", TrackingFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: shop, annotations: {gyre.dev/tracking-id: "shop/app:/ConfigMap:shop/a"}}`, opts, ""},
		{"tracked by another app", TrackingFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: shop, annotations: {gyre.dev/tracking-id: "team/web:/ConfigMap:shop/a"}}`, opts, "tracked by another app team/web"},
		{"not tracked", TrackingFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: shop}`, opts, "not tracked by gyre (no gyre.dev/tracking-id annotation)"},
		{"malformed tracking id", TrackingFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: shop, annotations: {gyre.dev/tracking-id: "shop/app"}}`, opts, `not tracked by gyre: malformed tracking id "shop/app"`},
		{"a copy carrying the original's tracking id", TrackingFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a-copy, namespace: shop, annotations: {gyre.dev/tracking-id: "shop/app:/ConfigMap:shop/a"}}`, opts, "its tracking id names ConfigMap/shop/a, not this object (a copy?)"},
		{"gyre Prune=false", PreventPruneFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a, annotations: {gyre.dev/sync-options: "Replace=true, Prune=false"}}`, opts, "Prune=false"},
		{"argo Prune=false", PreventPruneFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a, annotations: {argocd.argoproj.io/sync-options: Prune=false}}`, opts, "Prune=false"},
		{"argo Prune=confirm", PreventPruneFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a, annotations: {argocd.argoproj.io/sync-options: Prune=confirm}}`, opts, "Prune=confirm"},
		{"gyre Prune=true overrides argo", PreventPruneFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a, annotations: {argocd.argoproj.io/sync-options: Prune=false, gyre.dev/sync-options: Prune=true}}`, opts, ""},
		{"other sync options", PreventPruneFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a, annotations: {gyre.dev/sync-options: Replace=true}}`, opts, ""},
		{"being deleted", DeletingFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a, deletionTimestamp: "2026-01-01T00:00:00Z"}`, opts, "already being deleted"},
		{"not being deleted", DeletingFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a}`, opts, ""},
		{"gyre hook", HookFilter{}, `
apiVersion: batch/v1
kind: Job
metadata: {name: a, annotations: {gyre.dev/hook: PostSync}}`, opts, "a hook: removed by its delete policy, not pruned"},
		{"helm test hook", HookFilter{}, `
apiVersion: v1
kind: Pod
metadata: {name: a, annotations: {helm.sh/hook: test}}`, opts, "a hook: removed by its delete policy, not pruned"},
		{"Skip", HookFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a, annotations: {argocd.argoproj.io/hook: Skip}}`, opts, "marked Skip"},
		{"unreadable hook annotation", HookFilter{}, `
apiVersion: batch/v1
kind: Job
metadata: {name: a, annotations: {gyre.dev/hook: Later}}`, opts, `cannot read its sync annotations: annotation gyre.dev/hook: unknown hook type "Later" (want PreSync, Sync, PostSync, SyncFail, PreDelete, PostDelete or Skip)`},
		{"helm crd-install is no hook", HookFilter{}, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: a, annotations: {helm.sh/hook: crd-install}}`, opts, ""},
		{"pruning disabled", PruneDisabledFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a}`, PlanOptions{Prune: false}, "pruning is disabled"},
		{"pruning enabled", PruneDisabledFilter{}, `
apiVersion: v1
kind: ConfigMap
metadata: {name: a}`, PlanOptions{Prune: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.filter.Name()+"/"+tt.name, func(t *testing.T) {
			objs := parseObjects(t, tt.obj)
			keep, reason := tt.filter.Keep(objs[0], tt.opts)
			if keep != (tt.reason != "") || reason != tt.reason {
				t.Errorf("Keep = %v, %q; want %v, %q", keep, reason, tt.reason != "", tt.reason)
			}
		})
	}
}

// TestPruneFilterDefaults checks the default filters' order: the first that
// keeps an object gives the reason, and pruning-disabled comes last.
func TestPruneFilterDefaults(t *testing.T) {
	var names []string
	for _, f := range DefaultPruneFilters() {
		names = append(names, f.Name())
	}
	want := []string{"tracking", "prevent-prune", "deleting", "hook", "prune-disabled"}
	if !slices.Equal(names, want) {
		t.Errorf("DefaultPruneFilters() = %v, want %v", names, want)
	}
}

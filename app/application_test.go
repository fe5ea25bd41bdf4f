package app

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func newApp(policy *SyncPolicy) *Application {
	a := &Application{Spec: Spec{Source: Source{RepoURL: "https://example.com/r.git"}, SyncPolicy: policy}}
	a.Namespace, a.Name = "gyre", "web"
	return a
}

func TestAutomation(t *testing.T) {
	suspended := newApp(&SyncPolicy{Automated: &AutomatedSync{Prune: true, SelfHeal: true}})
	suspended.SuspendAutomation(AutomationSuspension{Reason: "rolled back"}, time.Unix(100, 0))
	tests := []struct {
		name                       string
		app                        *Application
		automated, prune, selfHeal bool
	}{
		{"no policy", newApp(nil), false, false, false},
		{"manual", newApp(&SyncPolicy{SyncOptions: SyncOptions{"CreateNamespace=true"}}), false, false, false},
		{"automated", newApp(&SyncPolicy{Automated: &AutomatedSync{}}), true, false, false},
		{"automated prune selfHeal", newApp(&SyncPolicy{Automated: &AutomatedSync{Prune: true, SelfHeal: true}}), true, true, true},
		{"suspended by rollback", suspended, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.app.IsAutomated(); got != tt.automated {
				t.Errorf("IsAutomated() = %v, want %v", got, tt.automated)
			}
			if got := tt.app.AutoPrune(); got != tt.prune {
				t.Errorf("AutoPrune() = %v, want %v", got, tt.prune)
			}
			if got := tt.app.SelfHeal(); got != tt.selfHeal {
				t.Errorf("SelfHeal() = %v, want %v", got, tt.selfHeal)
			}
		})
	}
}

func TestHistoryLimit(t *testing.T) {
	tests := []struct {
		name  string
		limit *int64
		want  int
	}{
		{"unset", nil, DefaultHistoryLimit},
		{"zero", new(int64(0)), 0},
		{"three", new(int64(3)), 3},
		{"negative", new(int64(-4)), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp(nil)
			a.Spec.RevisionHistoryLimit = tt.limit
			if got := a.HistoryLimit(); got != tt.want {
				t.Errorf("HistoryLimit() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestApplicationIdentity(t *testing.T) {
	a := newApp(nil)
	if got := a.Key(); got != (types.NamespacedName{Namespace: "gyre", Name: "web"}) {
		t.Errorf("Key() = %v", got)
	}
	k := ResourceKey{Group: "apps", Kind: "Deployment", Namespace: "prod", Name: "api"}
	if got, want := a.TrackingID(k), "gyre/web:apps/Deployment:prod/api"; got != want {
		t.Errorf("TrackingID() = %q, want %q", got, want)
	}
	if got := a.AppLabelValue(); got != "gyre.web" {
		t.Errorf("AppLabelValue() = %q", got)
	}
}

func TestApplicationSyncOption(t *testing.T) {
	a := newApp(&SyncPolicy{SyncOptions: SyncOptions{"CreateNamespace=true", "PrunePropagationPolicy=background"}})
	if v, ok := a.SyncOption(OptionPrunePropagationPolicy); !ok || v != "background" {
		t.Errorf("SyncOption(PrunePropagationPolicy) = %q, %v", v, ok)
	}
	if !a.SyncOptionTrue(OptionCreateNamespace) || a.SyncOptionTrue(OptionPruneLast) {
		t.Error("SyncOptionTrue: wrong answer")
	}
	if _, ok := newApp(nil).SyncOption(OptionCreateNamespace); ok || newApp(nil).SyncOptionTrue(OptionCreateNamespace) {
		t.Error("an app without a sync policy has no options")
	}
}

func TestSourceDeclaredType(t *testing.T) {
	tests := []struct {
		name string
		src  Source
		want SourceType
	}{
		{"none", Source{}, ""},
		{"helm", Source{Helm: &HelmSource{}}, SourceHelm},
		{"kustomize", Source{Kustomize: &KustomizeSource{}}, SourceKustomize},
		{"directory", Source{Directory: &DirectorySource{}}, SourceDirectory},
		{"two", Source{Helm: &HelmSource{}, Directory: &DirectorySource{}}, ""},
	}
	for _, tt := range tests {
		if got := tt.src.DeclaredType(); got != tt.want {
			t.Errorf("%s: DeclaredType() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestIgnoreDifferenceMatches(t *testing.T) {
	k := ResourceKey{Group: "apps", Kind: "Deployment", Namespace: "prod", Name: "api"}
	tests := []struct {
		rule IgnoreDifference
		want bool
	}{
		{IgnoreDifference{Group: "apps", Kind: "Deployment"}, true},
		{IgnoreDifference{Group: "*", Kind: "*"}, true},
		{IgnoreDifference{Group: "apps", Kind: "Deployment", Name: "api", Namespace: "prod"}, true},
		{IgnoreDifference{Kind: "Deployment"}, false},
		{IgnoreDifference{Group: "apps", Kind: "StatefulSet"}, false},
		{IgnoreDifference{Group: "apps", Kind: "Deployment", Name: "web"}, false},
		{IgnoreDifference{Group: "apps", Kind: "Deployment", Namespace: "dev"}, false},
	}
	for _, tt := range tests {
		if got := tt.rule.Matches(k); got != tt.want {
			t.Errorf("%+v.Matches(%s) = %v, want %v", tt.rule, k, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Application)
		want []string
	}{
		{"minimal", func(*Application) {}, nil},
		{"in-cluster server", func(a *Application) { a.Spec.Destination.Server = InClusterServer }, nil},
		{"other server", func(a *Application) { a.Spec.Destination.Server = "https://prod:6443" }, nil},
		{"cluster by name", func(a *Application) { a.Spec.Destination.Name = "prod" }, nil},
		{"server and name", func(a *Application) { a.Spec.Destination.Server, a.Spec.Destination.Name = "https://prod:6443", "prod" },
			[]string{"spec.destination: set server or name, not both"}},
		{"three source types", func(a *Application) {
			a.Spec.Source.Helm, a.Spec.Source.Kustomize, a.Spec.Source.Directory = &HelmSource{}, &KustomizeSource{}, &DirectorySource{}
		}, []string{"spec.source: helm, kustomize, directory are all set"}},
		{"bad sync option", func(a *Application) { a.Spec.SyncPolicy = &SyncPolicy{SyncOptions: SyncOptions{"Prune"}} },
			[]string{`spec.syncPolicy.syncOptions[0] "Prune": want Name=value`}},
		{"bad backoff", func(a *Application) {
			a.Spec.SyncPolicy = &SyncPolicy{Retry: &RetryStrategy{Backoff: &Backoff{MaxDuration: "soon"}}}
		}, []string{`spec.syncPolicy.retry backoff maxDuration "soon"`}},
		{"negative history", func(a *Application) { a.Spec.RevisionHistoryLimit = new(int64(-1)) },
			[]string{"spec.revisionHistoryLimit -1"}},
		{"depends on another app", func(a *Application) {
			a.Spec.DependsOn = []AppDependency{{Name: "db"}, {Name: a.Name, Namespace: "other"}}
		}, nil},
		{"depends on itself", func(a *Application) { a.Spec.DependsOn = []AppDependency{{Name: "db"}, {Name: a.Name}} },
			[]string{"spec.dependsOn[1] gyre/web: an Application cannot depend on itself"}},
		{"depends on itself by namespace", func(a *Application) {
			a.Spec.DependsOn = []AppDependency{{Name: a.Name, Namespace: a.Namespace}}
		}, []string{"spec.dependsOn[0] gyre/web: an Application cannot depend on itself"}},
		{"dependency without a name", func(a *Application) { a.Spec.DependsOn = []AppDependency{{Namespace: "db"}} },
			[]string{"spec.dependsOn[0].name: name the Application"}},
		{"dependency twice", func(a *Application) {
			a.Spec.DependsOn = []AppDependency{{Name: "db"}, {Name: "db", Namespace: a.Namespace}}
		}, []string{"spec.dependsOn[1] gyre/db: listed twice"}},
		{"two problems", func(a *Application) {
			a.Spec.Destination.Server, a.Spec.Destination.Name = "x", "y"
			a.Spec.RevisionHistoryLimit = new(int64(-1))
		}, []string{"spec.destination", "spec.revisionHistoryLimit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp(nil)
			tt.edit(a)
			err := a.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

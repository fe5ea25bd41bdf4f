package admit

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func application(ns, name, project, repo, destNS string) *app.Application {
	a := &app.Application{}
	a.Namespace, a.Name = ns, name
	a.Spec.Project = project
	a.Spec.Source.RepoURL = repo
	a.Spec.Destination.Namespace = destNS
	return a
}

func project(name string, spec app.ProjectSpec) *app.Project {
	p := &app.Project{Spec: spec}
	p.Name = name
	return p
}

// teamA is a typical tenant Project: its own repositories, its own
// namespaces, no cluster-scoped kinds but Namespaces, no RBAC.
var teamA = app.ProjectSpec{
	SourceRepos: []string{"https://git.example.com/team-a/*", "!https://git.example.com/team-a/secret*"},
	Destinations: []app.ProjectDestination{
		{Server: "https://kubernetes.default.svc", Namespace: "team-a-*"},
		{Name: "in-cluster", Namespace: "shared"},
		{Server: "*", Namespace: "!team-a-admin"},
	},
	ClusterResourceWhitelist:   []app.GroupKind{{Group: "", Kind: "Namespace"}},
	NamespaceResourceBlacklist: []app.GroupKind{{Group: "rbac.authorization.k8s.io", Kind: "*"}},
	SourceNamespaces:           []string{"team-a-apps"},
}

func TestApplication(t *testing.T) {
	tests := []struct {
		name string
		a    *app.Application
		proj *app.Project
		want Rule // "" means allowed
	}{
		{"implicit default allows all", application("anywhere", "x", "", "file:///x", "kube-system"), nil, ""},
		{"missing project", application("gyre", "x", "team-b", "https://a/b", "ns"), nil, RuleProject},
		{"allowed", application("gyre", "x", "team-a", "https://git.example.com/team-a/app.git", "team-a-web"), project("team-a", teamA), ""},
		{"allowed in source namespace", application("team-a-apps", "x", "team-a", "https://git.example.com/team-a/app", "shared"), project("team-a", teamA), ""},
		{"other source namespace", application("team-b-apps", "x", "team-a", "https://git.example.com/team-a/app", "shared"), project("team-a", teamA), RuleSourceNamespaces},
		{"repo not listed", application("gyre", "x", "team-a", "https://git.example.com/team-b/app", "team-a-web"), project("team-a", teamA), RuleSourceRepos},
		{"repo denied", application("gyre", "x", "team-a", "https://git.example.com/team-a/secrets.git", "team-a-web"), project("team-a", teamA), RuleSourceRepos},
		{"repo case and .git", application("gyre", "x", "team-a", "HTTPS://git.example.com/team-a/App.git/", "team-a-web"), project("team-a", teamA), ""},
		{"destination not listed", application("gyre", "x", "team-a", "https://git.example.com/team-a/app", "kube-system"), project("team-a", teamA), RuleDestinations},
		{"destination denied", application("gyre", "x", "team-a", "https://git.example.com/team-a/app", "team-a-admin"), project("team-a", teamA), RuleDestinations},
		{"empty project allows nothing", application("gyre", "x", "locked", "https://a/b", "ns"), project("locked", app.ProjectSpec{SourceNamespaces: []string{"*"}}), RuleSourceRepos},
		{"explicit default project rules apply", application("gyre", "x", "", "https://a/b", "ns"), project("default", app.ProjectSpec{SourceRepos: []string{"https://c/*"}}), RuleSourceRepos},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := New(tt.a, tt.proj, "gyre", nil).Application()
			if got := ruleOf(v); got != tt.want {
				t.Fatalf("got %v, want rule %q", v, tt.want)
			}
			if v != nil && !strings.Contains(v.Error(), string(tt.want)) {
				t.Errorf("message %q does not name the rule", v.Error())
			}
		})
	}
}

func ruleOf(v *Violation) Rule {
	if v == nil {
		return ""
	}
	return v.Rule
}

func live(labels map[string]string, tracking string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetLabels(labels)
	if tracking != "" {
		u.SetAnnotations(map[string]string{app.TrackingAnnotation: tracking})
	}
	return u
}

func TestObject(t *testing.T) {
	a := application("gyre", "web", "team-a", "https://git.example.com/team-a/app", "team-a-web")
	tenant := New(a, project("team-a", teamA), "gyre", func(s string) bool { return s != "gyre/gone" })
	anything := New(application("gyre", "web", "", "x", "ns"), nil, "gyre", nil)
	deploy := app.ResourceKey{Group: "apps", Kind: "Deployment", Namespace: "team-a-web", Name: "web"}
	tests := []struct {
		name       string
		policy     Policy
		key        app.ResourceKey
		namespaced bool
		live       *unstructured.Unstructured
		want       Rule
	}{
		{"namespaced kind in allowed namespace", tenant, deploy, true, nil, ""},
		{"object in another namespace", tenant, app.ResourceKey{Kind: "ConfigMap", Namespace: "kube-system", Name: "x"}, true, nil, RuleDestinations},
		{"object in denied namespace", tenant, app.ResourceKey{Kind: "ConfigMap", Namespace: "team-a-admin", Name: "x"}, true, nil, RuleDestinations},
		{"blacklisted namespaced kind", tenant, app.ResourceKey{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding", Namespace: "team-a-web", Name: "x"}, true, nil, RuleNamespaceResourceBlack},
		{"whitelisted cluster kind", tenant, app.ResourceKey{Kind: "Namespace", Name: "team-a-web"}, false, nil, ""},
		{"cluster kind not whitelisted", tenant, app.ResourceKey{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding", Name: "x"}, false, nil, RuleClusterResourceWhitelist},
		{"gyre CRD even in default", anything, app.ResourceKey{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "applications.gyre.dev"}, false, nil, RuleGyreCRD},
		{"project CRD", anything, app.ResourceKey{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "projects.gyre.dev"}, false, nil, RuleGyreCRD},
		{"notifier CRD", anything, app.ResourceKey{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "notifiers.gyre.dev"}, false, nil, RuleGyreCRD},
		{"applicationset CRD", anything, app.ResourceKey{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "applicationsets.gyre.dev"}, false, nil, RuleGyreCRD},
		{"other CRD in default", anything, app.ResourceKey{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "widgets.example.com"}, false, nil, ""},
		{"secret in gyre namespace", anything, app.ResourceKey{Kind: "Secret", Namespace: "gyre", Name: "gyre-tokens"}, true, nil, RuleGyreNamespace},
		{"application in gyre namespace", anything, app.ResourceKey{Group: "gyre.dev", Kind: "Application", Namespace: "gyre", Name: "child"}, true, nil, ""},
		{"installation object not tracked", anything, app.ResourceKey{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "gyre"}, false, live(map[string]string{PartOfLabel: PartOfValue}, ""), RuleGyreInstallation},
		{"installation object tracked by this app", anything, app.ResourceKey{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "gyre"}, false, live(map[string]string{PartOfLabel: PartOfValue}, "gyre/web:rbac.authorization.k8s.io/ClusterRole:/gyre"), ""},
		{"tracked by another app", tenant, deploy, true, live(nil, "gyre/other:apps/Deployment:team-a-web/web"), RuleOwnedByAnotherApp},
		{"tracked by a deleted app", tenant, deploy, true, live(nil, "gyre/gone:apps/Deployment:team-a-web/web"), ""},
		{"tracked by this app", tenant, deploy, true, live(nil, "gyre/web:apps/Deployment:team-a-web/web"), ""},
		{"untracked live object is adopted", tenant, deploy, true, live(nil, ""), ""},
		{"missing project refuses objects", New(application("gyre", "x", "nope", "r", "ns"), nil, "gyre", nil), deploy, true, nil, RuleProject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.policy.Object(tt.key, tt.namespaced, tt.live)
			if got := ruleOf(v); got != tt.want {
				t.Fatalf("got %v, want rule %q", v, tt.want)
			}
			if v != nil && !strings.HasPrefix(v.Error(), tt.key.String()) {
				t.Errorf("message %q does not lead with the object", v.Error())
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "https://a/b/c", true},
		{"", "", true},
		{"", "a", false},
		{"https://github.com/org/*", "https://github.com/org/repo", true},
		{"https://github.com/org/*", "https://github.com/org2/repo", false},
		{"team-?", "team-a", true},
		{"team-?", "team-ab", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"*.example.com", "api.example.com", true},
		{"kube-*", "kube-system", true},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// FuzzMatch checks Match against a regular expression built from the same
// pattern.
func FuzzMatch(f *testing.F) {
	for _, seed := range [][2]string{{"*", "x"}, {"a*b?c", "aXXbYc"}, {"**a", "ba"}, {"?*?", "ab"}, {"https://h/*", "https://h/a/b"}, {"a*a*a*a*b", strings.Repeat("a", 40)}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		var re strings.Builder
		re.WriteString(`(?s)\A`)
		for i := 0; i < len(pattern); i++ {
			switch pattern[i] {
			case '*':
				re.WriteString(`[\x00-\xff]*`)
			case '?':
				re.WriteString(`[\x00-\xff]`)
			default:
				re.WriteString(regexp.QuoteMeta(string([]byte{pattern[i]})))
			}
		}
		re.WriteString(`\z`)
		// Compare byte-wise: Match works on bytes, so map both to Latin-1
		// for the reference.
		want := regexp.MustCompile(latin1(re.String())).MatchString(latin1(s))
		if got := Match(pattern, s); got != want {
			t.Fatalf("Match(%q, %q) = %v, regexp says %v", pattern, s, got, want)
		}
	})
}

// latin1 reinterprets each byte of s as one rune, so a regexp matches bytes.
func latin1(s string) string {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

// TestResourceLists: a cluster-scoped blacklist refuses what it names and
// nothing else (with a whitelist that allows every kind); a namespaced
// whitelist allows only what it names, by group and by kind.
func TestResourceLists(t *testing.T) {
	spec := app.ProjectSpec{
		SourceRepos:                []string{"*"},
		Destinations:               []app.ProjectDestination{{Server: "*", Namespace: "*"}},
		ClusterResourceWhitelist:   []app.GroupKind{{Group: "*", Kind: "*"}},
		ClusterResourceBlacklist:   []app.GroupKind{{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole*"}},
		NamespaceResourceWhitelist: []app.GroupKind{{Group: "apps", Kind: "*"}, {Group: "", Kind: "ConfigMap"}},
	}
	p := New(application("gyre", "web", "locked", "https://x/y", "web"), project("locked", spec), "gyre", nil)
	tests := []struct {
		name       string
		key        app.ResourceKey
		namespaced bool
		want       Rule
	}{
		{"blacklisted cluster kind", app.ResourceKey{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding", Name: "x"}, false, RuleClusterResourceBlacklist},
		{"same group, other kind", app.ResourceKey{Group: "rbac.authorization.k8s.io", Kind: "Role", Name: "x"}, false, ""},
		{"same kind name, other group", app.ResourceKey{Group: "example.com", Kind: "ClusterRole", Name: "x"}, false, ""},
		{"whitelisted group, any kind", app.ResourceKey{Group: "apps", Kind: "StatefulSet", Namespace: "web", Name: "x"}, true, ""},
		{"whitelisted kind in the core group", app.ResourceKey{Kind: "ConfigMap", Namespace: "web", Name: "x"}, true, ""},
		{"core kind not whitelisted", app.ResourceKey{Kind: "Secret", Namespace: "web", Name: "x"}, true, RuleNamespaceResourceWhite},
		{"whitelisted kind in another group", app.ResourceKey{Group: "example.com", Kind: "ConfigMap", Namespace: "web", Name: "x"}, true, RuleNamespaceResourceWhite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ruleOf(p.Object(tt.key, tt.namespaced, nil)); got != tt.want {
				t.Fatalf("got rule %q, want %q", got, tt.want)
			}
		})
	}
}

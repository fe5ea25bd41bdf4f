package admit

import (
	"fmt"
	"strings"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Rule names the rule a Violation broke.
type Rule string

// The rules.
const (
	RuleProject                  Rule = "project"
	RuleSourceNamespaces         Rule = "sourceNamespaces"
	RuleSourceRepos              Rule = "sourceRepos"
	RuleDestinations             Rule = "destinations"
	RuleClusterResourceWhitelist Rule = "clusterResourceWhitelist"
	RuleClusterResourceBlacklist Rule = "clusterResourceBlacklist"
	RuleNamespaceResourceWhite   Rule = "namespaceResourceWhitelist"
	RuleNamespaceResourceBlack   Rule = "namespaceResourceBlacklist"
	RuleGyreCRD                  Rule = "gyre-crd"
	RuleGyreNamespace            Rule = "gyre-namespace"
	RuleGyreInstallation         Rule = "gyre-installation"
	RuleOwnedByAnotherApp        Rule = "owned-by-another-app"
)

// Violation is one refusal: the object (zero Key for the Application
// itself), the rule it broke and why.
type Violation struct {
	Key     app.ResourceKey
	Rule    Rule
	Message string
}

// Error returns "Kind/namespace/name: message (rule)".
func (v *Violation) Error() string {
	if v.Key == (app.ResourceKey{}) {
		return fmt.Sprintf("%s (%s)", v.Message, v.Rule)
	}
	return fmt.Sprintf("%s: %s (%s)", v.Key, v.Message, v.Rule)
}

// PartOfLabel and PartOfValue mark the objects of gyre's own installation,
// as gyre's Helm chart labels them.
const (
	PartOfLabel = "app.kubernetes.io/part-of"
	PartOfValue = "gyre"
)

// isGyreCRD reports whether k is one of the CustomResourceDefinitions gyre
// installs for itself: every kind of the gyre.dev group (Applications,
// Projects, Notifiers, ApplicationSets).
func isGyreCRD(k app.ResourceKey) bool {
	return k.Group == "apiextensions.k8s.io" && k.Kind == "CustomResourceDefinition" && strings.HasSuffix(k.Name, "."+app.Group)
}

// Policy decides for one Application.
type Policy struct {
	// App is the Application that wants to write.
	App *app.Application
	// Project is the Application's Project; nil when it names one that does
	// not exist (every write is then refused).
	Project *app.Project
	// SystemNamespace is gyre's own namespace, where Projects live and where
	// an Application may write only Applications and Projects. Empty
	// disables that rule.
	SystemNamespace string
	// Server and ClusterName are the destination cluster as resolved from
	// the Application's server or name; empty Server means the cluster
	// gyre runs in.
	Server, ClusterName string
	// Remote is set when the destination is not the cluster gyre runs in:
	// gyre's own namespace there is just a namespace.
	Remote bool
	// AppExists reports whether the Application "namespace/name" exists. An
	// object tracked by an Application that is gone may be adopted. Nil
	// means every named Application exists.
	AppExists func(namespacedName string) bool
}

// New returns the Policy of a under proj. proj nil means a names a
// Project that is not there: the implicit default when a names "default",
// otherwise a Policy that refuses everything.
func New(a *app.Application, proj *app.Project, systemNamespace string, appExists func(string) bool) Policy {
	if proj == nil && a.ProjectName() == app.DefaultProject {
		proj = &app.Project{Spec: app.DefaultProjectSpec()}
		proj.Name = app.DefaultProject
	}
	return Policy{App: a, Project: proj, SystemNamespace: systemNamespace, AppExists: appExists}
}

// Application checks what holds for the Application as a whole: its Project
// exists and may be used from its namespace, its repositories (of every
// source) and its destination are allowed. It returns nil when all hold.
func (p Policy) Application() *Violation {
	if p.Project == nil {
		return &Violation{Rule: RuleProject, Message: fmt.Sprintf("project %q does not exist", p.App.ProjectName())}
	}
	if ns := p.App.Namespace; ns != p.SystemNamespace && !matchAny(p.Project.Spec.SourceNamespaces, ns) {
		return &Violation{Rule: RuleSourceNamespaces, Message: fmt.Sprintf("project %q does not allow Applications in namespace %q", p.Project.Name, ns)}
	}
	for _, src := range p.App.Spec.SourceList() {
		if v := p.Source(src.RepoURL); v != nil {
			return v
		}
	}
	if ns := p.App.Spec.Destination.Namespace; !p.destinationAllowed(ns) {
		return &Violation{Rule: RuleDestinations, Message: fmt.Sprintf("project %q does not allow destination %s namespace %q", p.Project.Name, p.server(), ns)}
	}
	return nil
}

// Source checks that the Application's Project allows reading repoURL.
func (p Policy) Source(repoURL string) *Violation {
	if p.Project == nil {
		return &Violation{Rule: RuleProject, Message: fmt.Sprintf("project %q does not exist", p.App.ProjectName())}
	}
	if !matchRepo(p.Project.Spec.SourceRepos, repoURL) {
		return &Violation{Rule: RuleSourceRepos, Message: fmt.Sprintf("project %q does not allow repository %q", p.Project.Name, repoURL)}
	}
	return nil
}

// Object checks that the Application may write (apply, create as a hook,
// delete or prune) the object k. namespaced says whether its kind is
// namespaced; live is the object in the cluster now, nil when there is
// none.
func (p Policy) Object(k app.ResourceKey, namespaced bool, live *unstructured.Unstructured) *Violation {
	if isGyreCRD(k) {
		return &Violation{Key: k, Rule: RuleGyreCRD, Message: "gyre's own CRD is installed by gyre and never written or deleted by an Application"}
	}
	if namespaced && !p.Remote && p.SystemNamespace != "" && k.Namespace == p.SystemNamespace && k.Group != app.Group {
		return &Violation{Key: k, Rule: RuleGyreNamespace, Message: fmt.Sprintf("namespace %q is gyre's own: an Application may put only Applications and Projects there", p.SystemNamespace)}
	}
	if live != nil {
		owner := trackedBy(live)
		self := p.App.Namespace + "/" + p.App.Name
		if live.GetLabels()[PartOfLabel] == PartOfValue && owner != self {
			return &Violation{Key: k, Rule: RuleGyreInstallation, Message: "part of gyre's own installation (" + PartOfLabel + "=" + PartOfValue + ") and not tracked by this Application"}
		}
		if owner != "" && owner != self && (p.AppExists == nil || p.AppExists(owner)) {
			return &Violation{Key: k, Rule: RuleOwnedByAnotherApp, Message: fmt.Sprintf("tracked by Application %s; an object belongs to one Application", owner)}
		}
	}
	if p.Project == nil {
		return &Violation{Key: k, Rule: RuleProject, Message: fmt.Sprintf("project %q does not exist", p.App.ProjectName())}
	}
	spec := &p.Project.Spec
	gk := app.GroupKind{Group: k.Group, Kind: k.Kind}
	if namespaced {
		if len(spec.NamespaceResourceWhitelist) > 0 && !matchKinds(spec.NamespaceResourceWhitelist, gk) {
			return &Violation{Key: k, Rule: RuleNamespaceResourceWhite, Message: fmt.Sprintf("kind %s is not in project %q's namespaceResourceWhitelist", groupKind(gk), p.Project.Name)}
		}
		if matchKinds(spec.NamespaceResourceBlacklist, gk) {
			return &Violation{Key: k, Rule: RuleNamespaceResourceBlack, Message: fmt.Sprintf("kind %s is in project %q's namespaceResourceBlacklist", groupKind(gk), p.Project.Name)}
		}
		if !p.destinationAllowed(k.Namespace) {
			return &Violation{Key: k, Rule: RuleDestinations, Message: fmt.Sprintf("project %q does not allow namespace %q on %s", p.Project.Name, k.Namespace, p.server())}
		}
		return nil
	}
	if !matchKinds(spec.ClusterResourceWhitelist, gk) {
		return &Violation{Key: k, Rule: RuleClusterResourceWhitelist, Message: fmt.Sprintf("cluster-scoped kind %s is not in project %q's clusterResourceWhitelist", groupKind(gk), p.Project.Name)}
	}
	if matchKinds(spec.ClusterResourceBlacklist, gk) {
		return &Violation{Key: k, Rule: RuleClusterResourceBlacklist, Message: fmt.Sprintf("cluster-scoped kind %s is in project %q's clusterResourceBlacklist", groupKind(gk), p.Project.Name)}
	}
	return nil
}

// server returns the destination cluster's server URL and name: as
// resolved when the policy was given them, else from the Application's
// destination (the in-cluster cluster when it names none).
func (p Policy) server() string {
	s, _ := p.cluster()
	return s
}

func (p Policy) cluster() (server, name string) {
	if p.Server != "" {
		return p.Server, p.ClusterName
	}
	d := p.App.Spec.Destination
	switch {
	case d.Server != "":
		server, name = d.Server, d.Name
	case d.Name != "" && d.Name != app.InClusterName:
		return "", d.Name
	default:
		server = app.InClusterServer
	}
	if server == app.InClusterServer && name == "" {
		name = app.InClusterName
	}
	return server, name
}

// destinationAllowed reports whether the Project allows namespace on the
// Application's cluster: some destination allows it and no denying one
// ("!" in server, name or namespace) matches it.
func (p Policy) destinationAllowed(namespace string) bool {
	server, name := p.cluster()
	allowed := false
	for _, d := range p.Project.Spec.Destinations {
		deny := strings.HasPrefix(d.Server, "!") || strings.HasPrefix(d.Name, "!") || strings.HasPrefix(d.Namespace, "!")
		cluster := (d.Server != "" && server != "" && Match(strings.TrimPrefix(d.Server, "!"), server)) ||
			(d.Name != "" && name != "" && Match(strings.TrimPrefix(d.Name, "!"), name))
		if !cluster {
			continue
		}
		if !Match(strings.TrimPrefix(d.Namespace, "!"), namespace) {
			continue
		}
		if deny {
			return false
		}
		allowed = true
	}
	return allowed
}

// matchKinds reports whether any pattern in list matches gk.
func matchKinds(list []app.GroupKind, gk app.GroupKind) bool {
	for _, p := range list {
		if Match(p.Group, gk.Group) && Match(p.Kind, gk.Kind) {
			return true
		}
	}
	return false
}

// matchAny reports whether s is allowed by the patterns: some pattern
// matches and no "!" pattern does.
func matchAny(patterns []string, s string) bool {
	allowed := false
	for _, p := range patterns {
		if neg, ok := strings.CutPrefix(p, "!"); ok {
			if Match(neg, s) {
				return false
			}
			continue
		}
		if Match(p, s) {
			allowed = true
		}
	}
	return allowed
}

// matchRepo is matchAny for repository URLs, which compare without a
// trailing ".git" or "/" and without regard to case, as the same repository
// is written many ways.
func matchRepo(patterns []string, url string) bool {
	norm := func(s string) string {
		neg := strings.HasPrefix(s, "!")
		s = strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(strings.TrimPrefix(s, "!")), "/"), ".git")
		if neg {
			return "!" + s
		}
		return s
	}
	ps := make([]string, len(patterns))
	for i, p := range patterns {
		ps[i] = norm(p)
	}
	return matchAny(ps, norm(url))
}

func groupKind(gk app.GroupKind) string {
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}

// trackedBy returns "namespace/name" of the Application obj's tracking id
// names, or "" when it carries none.
func trackedBy(obj *unstructured.Unstructured) string {
	ns, name, _, ok := app.ParseTrackingID(obj.GetAnnotations()[app.TrackingAnnotation])
	if !ok {
		return ""
	}
	return ns + "/" + name
}

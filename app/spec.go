package app

import (
	"cmp"
	"strings"

	"k8s.io/apimachinery/pkg/types"
)

// Spec is what an Application declares: where its manifests come from, where
// they go, and how gyre keeps the two in step. Field names follow Argo CD's
// Application so that existing manifests and habits carry over.
type Spec struct {
	// Project names the Project (in gyre's own namespace) whose rules bound
	// this Application: which repositories, destinations and kinds it may
	// use. Empty means "default".
	Project string `json:"project,omitempty"`
	// Source is where the manifests come from (a path in a git repository,
	// or a chart in a Helm repository or OCI registry) and the render
	// options. Set it or Sources, not both.
	Source Source `json:"source,omitzero"`
	// Sources are several sources rendered together into this one
	// Application, as Argo CD's spec.sources: their objects are applied as
	// one set. A source with a Ref is not rendered unless it has a Path;
	// its files are what "$<ref>/…" names in another source's Helm
	// valueFiles. Set it or Source, not both.
	Sources []Source `json:"sources,omitempty"`
	// Destination is where the rendered objects are applied.
	Destination Destination `json:"destination"`
	// SyncPolicy says when and how to sync. Nil means manual syncs only.
	SyncPolicy *SyncPolicy `json:"syncPolicy,omitempty"`
	// IgnoreDifferences lists fields that the comparison must not count as
	// drift (for example replicas managed by an autoscaler).
	IgnoreDifferences []IgnoreDifference `json:"ignoreDifferences,omitempty"`
	// RevisionHistoryLimit is how many successful syncs Status.History keeps
	// for rollback. Nil means DefaultHistoryLimit (10).
	RevisionHistoryLimit *int64 `json:"revisionHistoryLimit,omitempty"`
	// DependsOn lists Applications that must be Synced and Healthy, at
	// their current spec, before this one syncs (automated or manual). The
	// comparison runs regardless; only syncs wait, with a DependencyWaiting
	// condition saying for whom.
	DependsOn []AppDependency `json:"dependsOn,omitempty"`
}

// AppDependency names an Application another one depends on.
type AppDependency struct {
	// Name is the Application's name.
	Name string `json:"name"`
	// Namespace is the Application's namespace; empty means the namespace
	// of the Application that depends on it.
	Namespace string `json:"namespace,omitempty"`
}

// Dependencies returns the keys of the Applications a depends on, in
// spec order, with empty namespaces filled in with a's own.
func (a *Application) Dependencies() []types.NamespacedName {
	if len(a.Spec.DependsOn) == 0 {
		return nil
	}
	keys := make([]types.NamespacedName, len(a.Spec.DependsOn))
	for i, d := range a.Spec.DependsOn {
		keys[i] = types.NamespacedName{Namespace: cmp.Or(d.Namespace, a.Namespace), Name: d.Name}
	}
	return keys
}

// SourceType names how a source directory is rendered.
type SourceType string

// The source types render knows.
const (
	// SourceDirectory: plain YAML or JSON manifests.
	SourceDirectory SourceType = "Directory"
	// SourceKustomize: a kustomization.yaml at the path.
	SourceKustomize SourceType = "Kustomize"
	// SourceHelm: a Helm chart (Chart.yaml) at the path.
	SourceHelm SourceType = "Helm"
)

// Source is a path in a git repository, or a chart in a Helm repository or
// OCI registry, and the options to render it.
//
// There is no type field: at most one of Helm, Kustomize and Directory may be
// set, and the one that is set chooses the renderer. When none is set, render
// detects the type from the files (Chart.yaml, kustomization.yaml, otherwise
// plain manifests). The detected type is reported in Status.SourceType.
type Source struct {
	// RepoURL is the git repository (https://github.com/org/repo.git), or
	// with Chart a Helm repository (https://charts.example.com) or an OCI
	// registry (oci://registry.example.com/charts); an oci:// URL without
	// Chart names the chart itself as its last element.
	RepoURL string `json:"repoURL"`
	// TargetRevision is, for git, a branch, tag or commit SHA ("HEAD" or
	// empty means the default branch); for a chart, a version or a semver
	// constraint ("6.*", ">=1.2 <2", "^3"; empty means the latest).
	TargetRevision string `json:"targetRevision,omitempty"`
	// Path is the directory inside the git repository; empty means the
	// root. A chart has no path.
	Path string `json:"path,omitempty"`
	// Chart is the chart's name in the Helm repository or OCI registry
	// RepoURL; it makes this a chart source, rendered as Helm.
	Chart string `json:"chart,omitempty"`
	// Ref names this source for the other sources of Spec.Sources: a Helm
	// valueFiles entry "$<ref>/values/prod.yaml" reads values/prod.yaml of
	// this source's repository at its revision.
	Ref string `json:"ref,omitempty"`

	// Helm holds options for a Helm chart.
	Helm *HelmSource `json:"helm,omitempty"`
	// Kustomize holds options for a kustomization.
	Kustomize *KustomizeSource `json:"kustomize,omitempty"`
	// Directory holds options for plain manifests.
	Directory *DirectorySource `json:"directory,omitempty"`
}

// IsChart reports whether s is a chart in a Helm repository or OCI registry
// rather than a path in git: Chart is set, or RepoURL is an oci:// URL.
func (s *Source) IsChart() bool {
	return s.Chart != "" || strings.HasPrefix(strings.ToLower(s.RepoURL), "oci://")
}

// Rendered reports whether s declares objects of its own: every source but
// a Ref source without a Path, which only lends its files to the others.
func (s *Source) Rendered() bool { return s.Ref == "" || s.Path != "" || s.IsChart() }

// SourceList returns the Application's sources: Sources when set, else
// Source alone.
func (s *Spec) SourceList() []Source {
	if len(s.Sources) > 0 {
		return s.Sources
	}
	return []Source{s.Source}
}

// DeclaredType returns the type chosen by the option block that is set, or
// "" when none is; a chart is Helm. With more than one block set it returns
// "" too; Validate reports that case.
func (s *Source) DeclaredType() SourceType {
	var t SourceType
	n := 0
	if s.IsChart() && s.Kustomize == nil && s.Directory == nil {
		return SourceHelm
	}
	if s.Helm != nil {
		t, n = SourceHelm, n+1
	}
	if s.Kustomize != nil {
		t, n = SourceKustomize, n+1
	}
	if s.Directory != nil {
		t, n = SourceDirectory, n+1
	}
	if n != 1 {
		return ""
	}
	return t
}

// HelmSource holds the options for rendering a Helm chart, like `helm
// template`.
type HelmSource struct {
	// ReleaseName is the Helm release name; empty means the Application's name.
	ReleaseName string `json:"releaseName,omitempty"`
	// ValueFiles are values files relative to the chart directory, applied in
	// order after the chart's own values.yaml.
	ValueFiles []string `json:"valueFiles,omitempty"`
	// IgnoreMissingValueFiles skips value files that do not exist instead of
	// failing the render.
	IgnoreMissingValueFiles bool `json:"ignoreMissingValueFiles,omitempty"`
	// Values is a YAML document of values, applied after ValueFiles.
	Values string `json:"values,omitempty"`
	// Parameters are single values, applied last (like --set).
	Parameters []HelmParameter `json:"parameters,omitempty"`
	// SkipCrds leaves out the chart's crds/ directory.
	SkipCrds bool `json:"skipCrds,omitempty"`
}

// HelmParameter is one value override, like `--set name=value`.
type HelmParameter struct {
	// Name is the value's path, e.g. image.tag.
	Name string `json:"name"`
	// Value is the value; it is parsed as YAML unless ForceString is set.
	Value string `json:"value,omitempty"`
	// ForceString keeps Value a string, like --set-string.
	ForceString bool `json:"forceString,omitempty"`
}

// KustomizeSource holds options applied on top of a kustomization, like the
// `kustomize edit` commands.
type KustomizeSource struct {
	// Images overrides images: "name=newName:tag", "name:tag" or
	// "name@digest", as `kustomize edit set image` takes them.
	Images []string `json:"images,omitempty"`
	// NamePrefix is prepended to every object's name.
	NamePrefix string `json:"namePrefix,omitempty"`
	// NameSuffix is appended to every object's name.
	NameSuffix string `json:"nameSuffix,omitempty"`
	// Namespace sets the namespace of every namespaced object.
	Namespace string `json:"namespace,omitempty"`
	// CommonLabels are added to every object (and its selectors).
	CommonLabels map[string]string `json:"commonLabels,omitempty"`
	// CommonAnnotations are added to every object.
	CommonAnnotations map[string]string `json:"commonAnnotations,omitempty"`
}

// DirectorySource holds options for a directory of plain manifests.
type DirectorySource struct {
	// Recurse reads sub-directories too.
	Recurse bool `json:"recurse,omitempty"`
	// Include is a glob of file names to read, e.g. "*.yaml" or
	// "{app.yaml,db.yaml}"; empty means every .yaml, .yml and .json file.
	Include string `json:"include,omitempty"`
	// Exclude is a glob of file names to skip; it wins over Include.
	Exclude string `json:"exclude,omitempty"`
}

// InClusterServer is the Destination.Server of the cluster gyre itself
// runs in.
const InClusterServer = "https://kubernetes.default.svc"

// Destination is where rendered objects are applied.
type Destination struct {
	// Namespace is given to namespaced objects that do not name one.
	Namespace string `json:"namespace,omitempty"`
	// Server picks the cluster by its API server URL: InClusterServer (or
	// empty, with Name empty too) for the cluster gyre runs in, another for
	// a cluster registered as a cluster Secret (see package cluster).
	Server string `json:"server,omitempty"`
	// Name picks the cluster by name instead ("in-cluster" for the cluster
	// gyre runs in); set Server or Name, not both.
	Name string `json:"name,omitempty"`
}

// SyncPolicy says when gyre syncs and with which options.
type SyncPolicy struct {
	// Automated, when set, makes gyre sync whenever git changes (and on
	// drift with SelfHeal). A rollback suspends it; see
	// Status.AutomationSuspended.
	Automated *AutomatedSync `json:"automated,omitempty"`
	// SyncOptions are "Name=value" switches, e.g. "CreateNamespace=true";
	// see the SyncOptionName constants.
	SyncOptions SyncOptions `json:"syncOptions,omitempty"`
	// Retry says how a failed sync is retried. Nil means no retry.
	Retry *RetryStrategy `json:"retry,omitempty"`
}

// AutomatedSync configures automated sync.
type AutomatedSync struct {
	// Prune deletes objects that git no longer declares.
	Prune bool `json:"prune,omitempty"`
	// SelfHeal re-syncs when the live state drifts from an unchanged git.
	SelfHeal bool `json:"selfHeal,omitempty"`
}

// IgnoreDifference names fields of matching objects that the comparison
// ignores (and, with the RespectIgnoreDifferences sync option, that a sync
// leaves at their live values). Group and Kind are required ("" is the core
// group; "*" matches any group or kind); Name and Namespace, when set,
// narrow the match. Package diff uses this type as it is: there is no copy
// to keep in step.
type IgnoreDifference struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// JSONPointers are RFC 6901 pointers, e.g. /spec/replicas.
	JSONPointers []string `json:"jsonPointers,omitempty"`
	// JQPathExpressions are jq paths, e.g. .spec.template.spec.containers[].image.
	JQPathExpressions []string `json:"jqPathExpressions,omitempty"`
	// ManagedFieldsManagers ignores every field owned by these field
	// managers (e.g. an autoscaler).
	ManagedFieldsManagers []string `json:"managedFieldsManagers,omitempty"`
}

// Matches reports whether the rule applies to the object with key k.
func (d *IgnoreDifference) Matches(k ResourceKey) bool {
	return (d.Group == "*" || d.Group == k.Group) &&
		(d.Kind == "*" || d.Kind == k.Kind) &&
		(d.Name == "" || d.Name == k.Name) &&
		(d.Namespace == "" || d.Namespace == k.Namespace)
}

package appset

import (
	"encoding/json"
	"fmt"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// The identity of the ApplicationSet API, in gyre's group and version.
const (
	// Kind is the kind of an ApplicationSet object.
	Kind = "ApplicationSet"
	// Resource is the plural resource name: applicationsets.gyre.dev.
	Resource = "applicationsets"
)

// GroupVersionResource returns the resource dynamic clients and informers
// use to reach ApplicationSets.
func GroupVersionResource() schema.GroupVersionResource {
	return app.SchemeGroupVersion().WithResource(Resource)
}

// GroupVersionKind returns the GroupVersionKind of an ApplicationSet.
func GroupVersionKind() schema.GroupVersionKind {
	return app.SchemeGroupVersion().WithKind(Kind)
}

// ApplicationSet generates Applications in its own namespace: its
// generators produce parameter sets, and each set fills Template into one
// Application.
type ApplicationSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   Spec   `json:"spec"`
	Status Status `json:"status,omitzero"`
}

// Key returns the namespace and name of the ApplicationSet.
func (s *ApplicationSet) Key() types.NamespacedName {
	return types.NamespacedName{Namespace: s.Namespace, Name: s.Name}
}

// Spec is what an ApplicationSet declares. The field names are Argo CD's,
// so an Argo CD ApplicationSet applies once its apiVersion is changed to
// gyre.dev/v1alpha1.
type Spec struct {
	// GoTemplate must be true: Template is filled with Go templates
	// ({{ .name }}). Argo CD's older fasttemplate syntax ({{name}}) is
	// refused with an ErrorOccurred condition.
	GoTemplate bool `json:"goTemplate,omitempty"`
	// GoTemplateOptions are text/template options; "missingkey=error"
	// (recommended), "missingkey=zero" and "missingkey=default" are known.
	GoTemplateOptions []string `json:"goTemplateOptions,omitempty"`
	// Generators produce the parameter sets, one Application each. The
	// sets of all generators are concatenated.
	Generators []Generator `json:"generators"`
	// Template is the Application each parameter set fills in.
	Template Template `json:"template"`
	// SyncPolicy says what the ApplicationSet may do to the Applications
	// it generated.
	SyncPolicy *SyncPolicy `json:"syncPolicy,omitempty"`

	// PreservedFields is accepted for compatibility and needs nothing:
	// gyre writes generated Applications with server-side apply, so
	// labels and annotations others add always stay.
	PreservedFields json.RawMessage `json:"preservedFields,omitempty"`
	// ApplyNestedSelectors is accepted for compatibility; selectors are
	// not supported (see Generator).
	ApplyNestedSelectors bool `json:"applyNestedSelectors,omitempty"`
	// TemplatePatch, Strategy and IgnoreApplicationDifferences are Argo
	// CD fields gyre does not support. They are kept, not pruned, so
	// that a set using one is refused by name instead of behaving
	// differently without a word.
	TemplatePatch                json.RawMessage `json:"templatePatch,omitempty"`
	Strategy                     json.RawMessage `json:"strategy,omitempty"`
	IgnoreApplicationDifferences json.RawMessage `json:"ignoreApplicationDifferences,omitempty"`
}

// unsupported names the Argo CD fields of s that gyre refuses.
func (s *Spec) unsupported() []string {
	var out []string
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"templatePatch", s.TemplatePatch}, {"strategy", s.Strategy}, {"ignoreApplicationDifferences", s.IgnoreApplicationDifferences}} {
		if len(f.raw) > 0 && string(f.raw) != "null" {
			out = append(out, "spec."+f.name)
		}
	}
	return out
}

// Generator is one source of parameter sets: exactly one field is set.
type Generator struct {
	// List yields its elements as they are.
	List *ListGenerator `json:"list,omitempty"`
	// Clusters yields one set per registered cluster its selector picks.
	Clusters *ClusterGenerator `json:"clusters,omitempty"`
	// Git yields one set per matching directory or file of a repository.
	Git *GitGenerator `json:"git,omitempty"`
	// Matrix combines every set of its first generator with every set of
	// its second.
	Matrix *MatrixGenerator `json:"matrix,omitempty"`
	// Merge overlays the sets of its later generators on the sets of its
	// first that have the same values at MergeKeys.
	Merge *MergeGenerator `json:"merge,omitempty"`

	// Argo CD's other generators, its post-selector and its per-generator
	// template are not supported: they are kept, not pruned, so that gyre
	// refuses them by name.
	SCMProvider             json.RawMessage `json:"scmProvider,omitempty"`
	PullRequest             json.RawMessage `json:"pullRequest,omitempty"`
	ClusterDecisionResource json.RawMessage `json:"clusterDecisionResource,omitempty"`
	Plugin                  json.RawMessage `json:"plugin,omitempty"`
	Selector                json.RawMessage `json:"selector,omitempty"`
	Template                json.RawMessage `json:"template,omitempty"`
}

// unsupported names the fields of g gyre refuses.
func (g *Generator) unsupported() []string {
	var out []string
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"scmProvider", g.SCMProvider}, {"pullRequest", g.PullRequest}, {"clusterDecisionResource", g.ClusterDecisionResource}, {"plugin", g.Plugin}, {"selector", g.Selector}, {"template", g.Template}} {
		if len(f.raw) > 0 && string(f.raw) != "null" {
			out = append(out, f.name)
		}
	}
	return out
}

// ListGenerator yields a fixed list of parameter sets.
type ListGenerator struct {
	// Elements are JSON objects; each is one parameter set.
	Elements []map[string]any `json:"elements,omitempty"`
	// ElementsYaml is a YAML (or JSON) list of objects, appended to
	// Elements; it may itself come from a template of an outer matrix.
	ElementsYaml string `json:"elementsYaml,omitempty"`
}

// ClusterGenerator yields one parameter set per registered cluster:
// name, nameNormalized, server, project, metadata.labels,
// metadata.annotations and values.
type ClusterGenerator struct {
	// Selector picks clusters by the labels of their Secrets. Empty picks
	// every cluster, the in-cluster one included; otherwise only clusters
	// that have a Secret are considered (Argo CD's rule).
	Selector metav1.LabelSelector `json:"selector,omitzero"`
	// Values are added to each set as values.<key>; they are templates
	// over the cluster's parameters.
	Values map[string]string `json:"values,omitempty"`
}

// GitGenerator reads a revision of a git repository through gyre's
// repository cache. Set Directories or Files.
type GitGenerator struct {
	// RepoURL is the repository.
	RepoURL string `json:"repoURL"`
	// Revision is a branch, tag or commit; empty means HEAD.
	Revision string `json:"revision,omitempty"`
	// Directories yields one set per directory matching an item's path
	// glob and no excluding item.
	Directories []GitDirectory `json:"directories,omitempty"`
	// Files yields one set per object of each JSON or YAML file matching
	// an item's path glob.
	Files []GitFile `json:"files,omitempty"`
	// Values are added to each set as values.<key>; they are templates
	// over the set's other parameters.
	Values map[string]string `json:"values,omitempty"`
	// PathParamPrefix, when set, puts the path parameters under
	// <prefix>.path instead of path.
	PathParamPrefix string `json:"pathParamPrefix,omitempty"`
	// RequeueAfterSeconds is accepted for compatibility; gyre re-reads
	// the repository whenever the cache sees it move.
	RequeueAfterSeconds *int64 `json:"requeueAfterSeconds,omitempty"`
}

// GitDirectory is a glob over directory paths, or, with Exclude, a glob of
// directories to leave out.
type GitDirectory struct {
	Path    string `json:"path"`
	Exclude bool   `json:"exclude,omitempty"`
}

// GitFile is a glob over file paths ("**" crosses directories).
type GitFile struct {
	Path    string `json:"path"`
	Exclude bool   `json:"exclude,omitempty"`
}

// MatrixGenerator is the product of two generators. The second may use the
// first's parameters in its own fields (a git path of {{ .path.path }}).
type MatrixGenerator struct {
	Generators []Generator `json:"generators"`
}

// MergeGenerator merges the sets of its generators by MergeKeys: a set of a
// later generator overrides the keys of the first generator's sets whose
// values at every merge key equal its own; sets that match none are
// dropped.
type MergeGenerator struct {
	MergeKeys  []string    `json:"mergeKeys"`
	Generators []Generator `json:"generators"`
}

// Template is the Application a parameter set fills in. Every string in it
// is a Go template.
type Template struct {
	Metadata TemplateMeta `json:"metadata"`
	Spec     app.Spec     `json:"spec"`
}

// TemplateMeta is the part of an Application's metadata a template sets.
type TemplateMeta struct {
	// Name is the Application's name; it must render to a different name
	// for each parameter set.
	Name string `json:"name"`
	// Namespace, when set, must be the ApplicationSet's own namespace.
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Finalizers are copied as they are; app.ResourcesFinalizer makes
	// deleting an Application delete what it deployed.
	Finalizers []string `json:"finalizers,omitempty"`
}

// Policy is what an ApplicationSet may do to its Applications.
type Policy string

// The policies of SyncPolicy.ApplicationsSync.
const (
	// PolicySync creates, updates and deletes: the default.
	PolicySync Policy = "sync"
	// PolicyCreateOnly only creates.
	PolicyCreateOnly Policy = "create-only"
	// PolicyCreateUpdate creates and updates, never deletes.
	PolicyCreateUpdate Policy = "create-update"
	// PolicyCreateDelete creates and deletes, never updates.
	PolicyCreateDelete Policy = "create-delete"
)

// Policies returns every Policy.
func Policies() []Policy {
	return []Policy{PolicySync, PolicyCreateOnly, PolicyCreateUpdate, PolicyCreateDelete}
}

// AllowsUpdate reports whether p lets generated Applications be updated.
func (p Policy) AllowsUpdate() bool {
	return p == PolicySync || p == PolicyCreateUpdate || p == ""
}

// AllowsDelete reports whether p lets generated Applications whose
// parameters are gone be deleted.
func (p Policy) AllowsDelete() bool {
	return p == PolicySync || p == PolicyCreateDelete || p == ""
}

// SyncPolicy bounds what the ApplicationSet does to the Applications it
// generated.
type SyncPolicy struct {
	// PreserveResourcesOnDeletion keeps what generated Applications
	// deployed when they are deleted: gyre removes their
	// app.ResourcesFinalizer first.
	PreserveResourcesOnDeletion bool `json:"preserveResourcesOnDeletion,omitempty"`
	// ApplicationsSync is the Policy; empty means sync.
	ApplicationsSync Policy `json:"applicationsSync,omitempty"`
}

// policy returns the set's Policy, sync when unset.
func (s *Spec) policy() Policy {
	if s.SyncPolicy == nil || s.SyncPolicy.ApplicationsSync == "" {
		return PolicySync
	}
	return s.SyncPolicy.ApplicationsSync
}

// preserve reports whether deletions keep the deployed resources.
func (s *Spec) preserve() bool {
	return s.SyncPolicy != nil && s.SyncPolicy.PreserveResourcesOnDeletion
}

// Status is written by gyre through the status subresource.
type Status struct {
	// Conditions are ErrorOccurred, ParametersGenerated and
	// ResourcesUpToDate, Argo CD's condition types.
	Conditions []Condition `json:"conditions,omitempty"`
	// Resources are the generated Applications, by name.
	Resources []ResourceStatus `json:"resources,omitempty"`
}

// ConditionType names a condition of an ApplicationSet.
type ConditionType string

// The condition types, each always present with status True or False.
const (
	// ConditionErrorOccurred is True when the last evaluation met an
	// error: a generator or template failure, a name conflict, a refused
	// write. Its message says which.
	ConditionErrorOccurred ConditionType = "ErrorOccurred"
	// ConditionParametersGenerated is True when every generator produced
	// its parameters.
	ConditionParametersGenerated ConditionType = "ParametersGenerated"
	// ConditionResourcesUpToDate is True when every generated Application
	// was written as the template says.
	ConditionResourcesUpToDate ConditionType = "ResourcesUpToDate"
)

// Condition is one condition of an ApplicationSet's status.
type Condition struct {
	Type    ConditionType `json:"type"`
	Status  string        `json:"status"`
	Reason  string        `json:"reason,omitempty"`
	Message string        `json:"message,omitempty"`
	// LastTransitionTime is when Status last changed.
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
}

// ResourceStatus is one generated Application as the status lists it.
type ResourceStatus struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Health and Sync are copied from the Application's status.
	Health app.HealthStatus `json:"health,omitempty"`
	Sync   app.SyncStatus   `json:"sync,omitempty"`
	// Message says why the Application is not as generated, if it is not.
	Message string `json:"message,omitempty"`
}

// FromUnstructured decodes an ApplicationSet read by a dynamic client.
// Its error names the object.
func FromUnstructured(obj *unstructured.Unstructured) (*ApplicationSet, error) {
	data, err := obj.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("ApplicationSet %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	s := &ApplicationSet{}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("ApplicationSet %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return s, nil
}

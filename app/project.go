package app

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The identity of the Project API.
const (
	// ProjectKind is the kind of a Project object.
	ProjectKind = "Project"
	// ProjectListKind is the kind of a list of Projects.
	ProjectListKind = "ProjectList"
	// ProjectResource is the plural resource name: projects.gyre.dev.
	ProjectResource = "projects"
)

// ProjectGroupVersionResource returns the resource that dynamic clients and
// informers use to reach Projects.
func ProjectGroupVersionResource() schema.GroupVersionResource {
	return SchemeGroupVersion().WithResource(ProjectResource)
}

// Project bounds what the Applications that name it may do: which
// repositories they read, where they deploy, which kinds they may create and
// from which namespaces they may be created. Projects live in gyre's own
// namespace. Field names follow Argo CD's AppProject, so that an AppProject's
// spec can be pasted in.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type Project struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ProjectSpec `json:"spec"`
}

// ProjectList is a list of Projects.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type ProjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []Project `json:"items"`
}

// ProjectSpec holds a Project's rules. Glob patterns use "*" for any run of
// characters and "?" for one; a pattern starting with "!" denies what it
// matches, and a deny wins over any allow.
type ProjectSpec struct {
	// Description says what the Project is for.
	Description string `json:"description,omitempty"`
	// SourceRepos are the repository URLs the Project's Applications may
	// read, as glob patterns ("https://github.com/team-a/*"). Empty allows
	// none.
	SourceRepos []string `json:"sourceRepos,omitempty"`
	// Destinations are the clusters and namespaces the Project's
	// Applications may deploy to. Every namespaced object a render produces
	// must land in an allowed namespace, not only spec.destination's. Empty
	// allows none.
	Destinations []ProjectDestination `json:"destinations,omitempty"`
	// ClusterResourceWhitelist lists the cluster-scoped kinds the
	// Applications may manage. Empty allows none.
	ClusterResourceWhitelist []GroupKind `json:"clusterResourceWhitelist,omitempty"`
	// ClusterResourceBlacklist lists cluster-scoped kinds refused even when
	// the whitelist allows them.
	ClusterResourceBlacklist []GroupKind `json:"clusterResourceBlacklist,omitempty"`
	// NamespaceResourceWhitelist lists the namespaced kinds the Applications
	// may manage. Empty allows every namespaced kind.
	NamespaceResourceWhitelist []GroupKind `json:"namespaceResourceWhitelist,omitempty"`
	// NamespaceResourceBlacklist lists namespaced kinds refused.
	NamespaceResourceBlacklist []GroupKind `json:"namespaceResourceBlacklist,omitempty"`
	// SourceNamespaces lists the namespaces (globs) other than gyre's own
	// whose Applications may use this Project. Applications in gyre's own
	// namespace may always use it.
	SourceNamespaces []string `json:"sourceNamespaces,omitempty"`
}

// ProjectDestination is one allowed destination: a cluster, by server URL
// or by name, and a namespace, each a glob pattern. An empty server or name
// matches nothing on its own; set the one the Applications use ("*" matches
// any).
type ProjectDestination struct {
	// Server is the cluster's API server URL pattern
	// ("https://kubernetes.default.svc" is the cluster gyre runs in).
	Server string `json:"server,omitempty"`
	// Name is the cluster's name pattern ("in-cluster" is the cluster gyre
	// runs in).
	Name string `json:"name,omitempty"`
	// Namespace is the namespace pattern; "" matches only cluster-scoped
	// objects.
	Namespace string `json:"namespace,omitempty"`
}

// GroupKind names a kind in a Project's resource lists; both fields are glob
// patterns, and the core group is "".
type GroupKind struct {
	// Group is the API group pattern ("" for the core group, "*" for any).
	Group string `json:"group"`
	// Kind is the kind pattern.
	Kind string `json:"kind"`
}

// InClusterName is the cluster name of the cluster gyre runs in, as Project
// destinations may name it.
const InClusterName = "in-cluster"

// DefaultProjectSpec returns the rules of the default Project while no
// Project named "default" exists: everything is allowed, as in Argo CD.
func DefaultProjectSpec() ProjectSpec {
	return ProjectSpec{
		Description:              "the default project: allows every repository, destination and kind",
		SourceRepos:              []string{"*"},
		Destinations:             []ProjectDestination{{Server: "*", Name: "*", Namespace: "*"}},
		ClusterResourceWhitelist: []GroupKind{{Group: "*", Kind: "*"}},
		SourceNamespaces:         []string{"*"},
	}
}

// ProjectFromUnstructured converts a watched object into a Project.
func ProjectFromUnstructured(u *unstructured.Unstructured) (*Project, error) {
	if u.GroupVersionKind().GroupKind() != (schema.GroupKind{Group: Group, Kind: ProjectKind}) {
		return nil, fmt.Errorf("%s: not a %s/%s", KeyOf(u), Group, ProjectKind)
	}
	p := &Project{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, p); err != nil {
		return nil, fmt.Errorf("Project %s/%s: %w", u.GetNamespace(), u.GetName(), err)
	}
	return p, nil
}

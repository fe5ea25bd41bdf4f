package app

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TreeNode is one object in an Application's resource tree, as the UI and
// the CLI show it: the objects git declares at the top, and below them what
// the cluster made from them (Deployment → ReplicaSet → Pod), linked through
// owner references. live builds the nodes; it is plain data.
type TreeNode struct {
	// Key identifies the object.
	Key ResourceKey `json:"key"`
	// Version is the API version the object was read at.
	Version string `json:"version,omitempty"`
	// UID is the object's uid; empty for an object git declares that does
	// not exist yet.
	UID types.UID `json:"uid,omitempty"`
	// ParentUIDs are the UIDs of the object's owners that are themselves in
	// the tree; empty for the top-level objects.
	ParentUIDs []types.UID `json:"parentUIDs,omitempty"`
	// Health is nil for kinds without health.
	Health *HealthState `json:"health,omitempty"`
	// Sync is set for objects git declares; empty for generated children.
	Sync SyncStatus `json:"sync,omitempty"`
	// Info is a few short facts to show beside the node (pod phase,
	// restarts, ready counts), in display order.
	Info []InfoItem `json:"info,omitempty"`
	// Images are the container images, for workloads and pods.
	Images []string `json:"images,omitempty"`
	// CreatedAt is the object's creationTimestamp.
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`
}

// InfoItem is one named fact about a tree node, e.g. {"Status", "Running"}.
type InfoItem struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

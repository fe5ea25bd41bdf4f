package app

// ClusterState is what gyre knows of one destination cluster, for `gyre
// cluster list`, the API and the UI.
// +k8s:deepcopy-gen=false
type ClusterState struct {
	// Name and Server identify the cluster, as destinations name it.
	Name   string `json:"name"`
	Server string `json:"server"`
	// Version is the API server's version, once it has answered.
	Version string `json:"version,omitempty"`
	// Applications is how many Applications deploy there.
	Applications int `json:"applications"`
	// State says whether gyre can reach it, and Message why not.
	State   ClusterConnection `json:"state"`
	Message string            `json:"message,omitempty"`
	// Namespaces limits gyre there, when set.
	Namespaces []string `json:"namespaces,omitempty"`
	// Labels are the cluster Secret's, which ApplicationSet cluster
	// generators select by.
	Labels map[string]string `json:"labels,omitempty"`
}

// ClusterConnection is whether gyre can reach a cluster.
type ClusterConnection string

// The connection states of a cluster.
const (
	// ClusterConnected: its API server answered the last probe.
	ClusterConnected ClusterConnection = "Connected"
	// ClusterUnreachable: it did not; its Applications have a ClusterError
	// condition and are not compared until it answers.
	ClusterUnreachable ClusterConnection = "Unreachable"
	// ClusterUnknown: no Application has used it yet, so gyre has not
	// connected to it.
	ClusterUnknown ClusterConnection = "Unknown"
)

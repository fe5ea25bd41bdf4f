package sync

import (
	"slices"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kindRank is a kind's position in the order a wave applies objects.
type kindRank int

// The kind ranks, in apply order. It follows Helm's install order (so charts
// behave as under helm install) with CustomResourceDefinitions moved up to
// right after Namespaces, so custom resources and RBAC rules that name them
// find them. Kinds gyre does not know come after every known kind, and the
// admission webhooks and policies come last of all, so a webhook whose
// service is not running yet cannot reject the rest of its own wave.
const (
	rankNamespace kindRank = iota
	rankCustomResourceDefinition
	rankPriorityClass
	rankNetworkPolicy
	rankResourceQuota
	rankLimitRange
	rankPodSecurityPolicy
	rankPodDisruptionBudget
	rankServiceAccount
	rankSecret
	rankSecretList
	rankConfigMap
	rankStorageClass
	rankPersistentVolume
	rankPersistentVolumeClaim
	rankClusterRole
	rankClusterRoleList
	rankClusterRoleBinding
	rankClusterRoleBindingList
	rankRole
	rankRoleList
	rankRoleBinding
	rankRoleBindingList
	rankService
	rankDaemonSet
	rankPod
	rankReplicationController
	rankReplicaSet
	rankDeployment
	rankHorizontalPodAutoscaler
	rankStatefulSet
	rankJob
	rankCronJob
	rankIngressClass
	rankIngress
	rankAPIService
	rankOther
	rankAdmissionPolicy
	rankAdmissionPolicyBinding
	rankWebhookConfiguration
)

// Groups that hold the kinds KindOrder knows.
const (
	groupCore          = ""
	groupApps          = "apps"
	groupExtensions    = "extensions" // the legacy home of Deployment, Ingress…
	groupBatch         = "batch"
	groupPolicy        = "policy"
	groupRBAC          = "rbac.authorization.k8s.io"
	groupNetworking    = "networking.k8s.io"
	groupStorage       = "storage.k8s.io"
	groupScheduling    = "scheduling.k8s.io"
	groupAutoscaling   = "autoscaling"
	groupAPIExtensions = "apiextensions.k8s.io"
	groupAPIRegistry   = "apiregistration.k8s.io"
	groupAdmission     = "admissionregistration.k8s.io"
)

// KindOrder returns the rank of kind gk in the order objects of one wave are
// applied: lower first; prune deletes in the reverse order. Only the relative
// order of the values means anything. The order is Namespace,
// CustomResourceDefinition, PriorityClass, NetworkPolicy, ResourceQuota,
// LimitRange, PodSecurityPolicy, PodDisruptionBudget, ServiceAccount, Secret,
// ConfigMap, StorageClass, PersistentVolume, PersistentVolumeClaim, the RBAC
// kinds (ClusterRole, ClusterRoleBinding, Role, RoleBinding), Service,
// DaemonSet, Pod, ReplicationController, ReplicaSet, Deployment,
// HorizontalPodAutoscaler, StatefulSet, Job, CronJob, IngressClass, Ingress,
// APIService, then every kind not listed here, and last the admission
// policies, their bindings and the admission webhook configurations.
//
// A kind is recognised only in the API groups Kubernetes serves it from
// (Deployment in apps or the legacy extensions, not a custom resource that
// happens to be called Deployment), whatever the version.
func KindOrder(gk schema.GroupKind) int {
	return int(rankOf(gk))
}

// rankOf returns the rank of gk.
func rankOf(gk schema.GroupKind) kindRank {
	in := func(groups ...string) bool { return slices.Contains(groups, gk.Group) }
	switch gk.Kind {
	case "Namespace":
		if in(groupCore) {
			return rankNamespace
		}
	case "CustomResourceDefinition":
		if in(groupAPIExtensions) {
			return rankCustomResourceDefinition
		}
	case "PriorityClass":
		if in(groupScheduling) {
			return rankPriorityClass
		}
	case "NetworkPolicy":
		if in(groupNetworking, groupExtensions) {
			return rankNetworkPolicy
		}
	case "ResourceQuota":
		if in(groupCore) {
			return rankResourceQuota
		}
	case "LimitRange":
		if in(groupCore) {
			return rankLimitRange
		}
	case "PodSecurityPolicy":
		if in(groupPolicy, groupExtensions) {
			return rankPodSecurityPolicy
		}
	case "PodDisruptionBudget":
		if in(groupPolicy) {
			return rankPodDisruptionBudget
		}
	case "ServiceAccount":
		if in(groupCore) {
			return rankServiceAccount
		}
	case "Secret":
		if in(groupCore) {
			return rankSecret
		}
	case "SecretList":
		if in(groupCore) {
			return rankSecretList
		}
	case "ConfigMap":
		if in(groupCore) {
			return rankConfigMap
		}
	case "StorageClass":
		if in(groupStorage) {
			return rankStorageClass
		}
	case "PersistentVolume":
		if in(groupCore) {
			return rankPersistentVolume
		}
	case "PersistentVolumeClaim":
		if in(groupCore) {
			return rankPersistentVolumeClaim
		}
	case "ClusterRole":
		if in(groupRBAC) {
			return rankClusterRole
		}
	case "ClusterRoleList":
		if in(groupRBAC) {
			return rankClusterRoleList
		}
	case "ClusterRoleBinding":
		if in(groupRBAC) {
			return rankClusterRoleBinding
		}
	case "ClusterRoleBindingList":
		if in(groupRBAC) {
			return rankClusterRoleBindingList
		}
	case "Role":
		if in(groupRBAC) {
			return rankRole
		}
	case "RoleList":
		if in(groupRBAC) {
			return rankRoleList
		}
	case "RoleBinding":
		if in(groupRBAC) {
			return rankRoleBinding
		}
	case "RoleBindingList":
		if in(groupRBAC) {
			return rankRoleBindingList
		}
	case "Service":
		if in(groupCore) {
			return rankService
		}
	case "DaemonSet":
		if in(groupApps, groupExtensions) {
			return rankDaemonSet
		}
	case "Pod":
		if in(groupCore) {
			return rankPod
		}
	case "ReplicationController":
		if in(groupCore) {
			return rankReplicationController
		}
	case "ReplicaSet":
		if in(groupApps, groupExtensions) {
			return rankReplicaSet
		}
	case "Deployment":
		if in(groupApps, groupExtensions) {
			return rankDeployment
		}
	case "HorizontalPodAutoscaler":
		if in(groupAutoscaling) {
			return rankHorizontalPodAutoscaler
		}
	case "StatefulSet":
		if in(groupApps) {
			return rankStatefulSet
		}
	case "Job":
		if in(groupBatch) {
			return rankJob
		}
	case "CronJob":
		if in(groupBatch) {
			return rankCronJob
		}
	case "IngressClass":
		if in(groupNetworking) {
			return rankIngressClass
		}
	case "Ingress":
		if in(groupNetworking, groupExtensions) {
			return rankIngress
		}
	case "APIService":
		if in(groupAPIRegistry) {
			return rankAPIService
		}
	case "ValidatingAdmissionPolicy", "MutatingAdmissionPolicy":
		if in(groupAdmission) {
			return rankAdmissionPolicy
		}
	case "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicyBinding":
		if in(groupAdmission) {
			return rankAdmissionPolicyBinding
		}
	case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
		if in(groupAdmission) {
			return rankWebhookConfiguration
		}
	}
	return rankOther
}

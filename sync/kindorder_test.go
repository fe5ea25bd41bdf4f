package sync

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestKindOrderSequence checks that KindOrder puts kinds in the documented
// order: each entry strictly after the one before.
func TestKindOrderSequence(t *testing.T) {
	order := []schema.GroupKind{
		{Kind: "Namespace"},
		{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"},
		{Group: "scheduling.k8s.io", Kind: "PriorityClass"},
		{Group: "networking.k8s.io", Kind: "NetworkPolicy"},
		{Kind: "ResourceQuota"},
		{Kind: "LimitRange"},
		{Group: "policy", Kind: "PodSecurityPolicy"},
		{Group: "policy", Kind: "PodDisruptionBudget"},
		{Kind: "ServiceAccount"},
		{Kind: "Secret"},
		{Kind: "SecretList"},
		{Kind: "ConfigMap"},
		{Group: "storage.k8s.io", Kind: "StorageClass"},
		{Kind: "PersistentVolume"},
		{Kind: "PersistentVolumeClaim"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleList"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBindingList"},
		{Group: "rbac.authorization.k8s.io", Kind: "Role"},
		{Group: "rbac.authorization.k8s.io", Kind: "RoleList"},
		{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"},
		{Group: "rbac.authorization.k8s.io", Kind: "RoleBindingList"},
		{Kind: "Service"},
		{Group: "apps", Kind: "DaemonSet"},
		{Kind: "Pod"},
		{Kind: "ReplicationController"},
		{Group: "apps", Kind: "ReplicaSet"},
		{Group: "apps", Kind: "Deployment"},
		{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"},
		{Group: "apps", Kind: "StatefulSet"},
		{Group: "batch", Kind: "Job"},
		{Group: "batch", Kind: "CronJob"},
		{Group: "networking.k8s.io", Kind: "IngressClass"},
		{Group: "networking.k8s.io", Kind: "Ingress"},
		{Group: "apiregistration.k8s.io", Kind: "APIService"},
		{Group: "example.com", Kind: "Widget"},
		{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"},
		{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"},
		{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"},
	}
	for i := 1; i < len(order); i++ {
		if a, b := KindOrder(order[i-1]), KindOrder(order[i]); a >= b {
			t.Errorf("KindOrder(%s) = %d, not before KindOrder(%s) = %d", order[i-1], a, order[i], b)
		}
	}
}

// TestKindOrderGroups checks that a kind is recognised in the groups
// Kubernetes serves it from, legacy ones included, and only there.
func TestKindOrderGroups(t *testing.T) {
	tests := []struct {
		name string
		a, b schema.GroupKind
		same bool // KindOrder(a) == KindOrder(b); else a's is lower
	}{
		{"legacy Deployment", schema.GroupKind{Group: "extensions", Kind: "Deployment"}, schema.GroupKind{Group: "apps", Kind: "Deployment"}, true},
		{"legacy Ingress", schema.GroupKind{Group: "extensions", Kind: "Ingress"}, schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}, true},
		{"mutating and validating webhooks", schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}, schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}, true},
		{"a custom Service is not a core Service", schema.GroupKind{Kind: "Service"}, schema.GroupKind{Group: "serving.knative.dev", Kind: "Service"}, false},
		{"a custom Service ranks with unknown kinds", schema.GroupKind{Group: "serving.knative.dev", Kind: "Service"}, schema.GroupKind{Group: "example.com", Kind: "Widget"}, true},
		{"a Namespace in another group is unknown", schema.GroupKind{Kind: "Namespace"}, schema.GroupKind{Group: "example.com", Kind: "Namespace"}, false},
		{"unknown kinds before webhooks", schema.GroupKind{Group: "example.com", Kind: "Widget"}, schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := KindOrder(tt.a), KindOrder(tt.b)
			if tt.same && a != b {
				t.Errorf("KindOrder(%s) = %d, KindOrder(%s) = %d, want equal", tt.a, a, tt.b, b)
			}
			if !tt.same && a >= b {
				t.Errorf("KindOrder(%s) = %d, want below KindOrder(%s) = %d", tt.a, a, tt.b, b)
			}
		})
	}
}

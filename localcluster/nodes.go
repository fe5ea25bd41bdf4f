package localcluster

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// leaseDuration is how long a node's lease is valid; it is renewed at a
// quarter of that, as the kubelet does.
const leaseDuration = 40 * time.Second

func nodeName(i int) string { return fmt.Sprintf("gyre-node-%d", i+1) }

// registerNodes creates (or, after a restart, refreshes) the simulated nodes
// and marks them Ready.
func registerNodes(ctx context.Context, client kubernetes.Interface, n int) error {
	for i := range n {
		name := nodeName(i)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: name,
				Labels: map[string]string{
					"kubernetes.io/hostname": name,
					"kubernetes.io/os":       "linux",
					"kubernetes.io/arch":     "amd64",
					"gyre.dev/simulated":     "true",
				},
			},
			Spec: corev1.NodeSpec{PodCIDR: podCIDR(i), PodCIDRs: []string{podCIDR(i)}},
		}
		created, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			created, err = client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		}
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		created.Status = nodeStatus(i)
		if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("node %s status: %w", name, err)
		}
	}
	return nil
}

func podCIDR(i int) string { return fmt.Sprintf("10.244.%d.0/24", i) }

func nodeStatus(i int) corev1.NodeStatus {
	now := metav1.Now()
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("8"),
		corev1.ResourceMemory:           resource.MustParse("32Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	return corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "simulated by gyre: containers do not run"),
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", ""),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", ""),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", ""),
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: nodeIP(i)},
			{Type: corev1.NodeHostName, Address: nodeName(i)},
		},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion:          KubeVersion(),
			OperatingSystem:         "linux",
			Architecture:            "amd64",
			ContainerRuntimeVersion: "gyre-simulated://1",
			OSImage:                 "gyre simulated node",
		},
	}
}

func nodeIP(i int) string { return fmt.Sprintf("172.18.0.%d", i+2) }

// renewLeases keeps every node's Lease in kube-node-lease fresh until ctx is
// done, as a kubelet's heartbeat does.
func renewLeases(ctx context.Context, client kubernetes.Interface, n int) {
	tick := time.NewTicker(leaseDuration / 4)
	defer tick.Stop()
	for {
		for i := range n {
			renewLease(ctx, client, nodeName(i))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func renewLease(ctx context.Context, client kubernetes.Interface, node string) {
	leases := client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	lease, err := leases.Get(ctx, node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: corev1.NamespaceNodeLease},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(node),
				LeaseDurationSeconds: ptr.To(int32(leaseDuration.Seconds())),
				RenewTime:            &now,
			},
		}
		leases.Create(ctx, lease, metav1.CreateOptions{})
		return
	}
	if err != nil {
		return
	}
	lease.Spec.RenewTime = &now
	leases.Update(ctx, lease, metav1.UpdateOptions{})
}

package localcluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
)

// simulator stands in for the kubelets, the scheduler, the cloud load
// balancer and the volume provisioner of a real cluster. It watches pods,
// Services, Ingresses and PersistentVolumeClaims and writes what those
// components would: bindings, pod status, load-balancer addresses and bound
// volumes. No container is ever started.
type simulator struct {
	client kubernetes.Interface
	log    *slog.Logger
	nodes  int

	pods     corelisters.PodLister
	services corelisters.ServiceLister
	ingress  networkinglisters.IngressLister
	claims   corelisters.PersistentVolumeClaimLister
	queue    workqueue.TypedRateLimitingInterface[simKey]

	nextNode atomic.Uint64

	mu     sync.Mutex
	nextIP map[string]int // per node, the last host part handed out
	nextLB int
}

// simKey names one object the simulator has to look at.
type simKey struct {
	kind      string // "pod", "service", "ingress", "pvc"
	namespace string
	name      string
}

const simWorkers = 4

func newSimulator(client kubernetes.Interface, nodes int, log *slog.Logger) *simulator {
	return &simulator{
		client: client,
		log:    log,
		nodes:  nodes,
		nextIP: map[string]int{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[simKey](5*time.Millisecond, 5*time.Second),
			workqueue.TypedRateLimitingQueueConfig[simKey]{Name: "gyre-simulator"}),
	}
}

// run starts the informers and workers and blocks until ctx is done.
func (s *simulator) run(ctx context.Context) {
	f := informers.NewSharedInformerFactory(s.client, 0)
	watch := func(kind string, inf cache.SharedIndexInformer) {
		enqueue := func(obj any) {
			if m, err := metaOf(obj); err == nil {
				s.queue.Add(simKey{kind: kind, namespace: m.GetNamespace(), name: m.GetName()})
			}
		}
		inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    enqueue,
			UpdateFunc: func(_, obj any) { enqueue(obj) },
		})
	}
	watch("pod", f.Core().V1().Pods().Informer())
	watch("service", f.Core().V1().Services().Informer())
	watch("ingress", f.Networking().V1().Ingresses().Informer())
	watch("pvc", f.Core().V1().PersistentVolumeClaims().Informer())
	s.pods = f.Core().V1().Pods().Lister()
	s.services = f.Core().V1().Services().Lister()
	s.ingress = f.Networking().V1().Ingresses().Lister()
	s.claims = f.Core().V1().PersistentVolumeClaims().Lister()
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())

	var wg sync.WaitGroup
	for range simWorkers {
		wg.Go(func() {
			for s.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	s.queue.ShutDown()
	wg.Wait()
	f.Shutdown()
}

func metaOf(obj any) (metav1.Object, error) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("not an object: %T", obj)
	}
	return m, nil
}

func (s *simulator) processNext(ctx context.Context) bool {
	key, quit := s.queue.Get()
	if quit {
		return false
	}
	defer s.queue.Done(key)
	var err error
	switch key.kind {
	case "pod":
		err = s.syncPod(ctx, key)
	case "service":
		err = s.syncService(ctx, key)
	case "ingress":
		err = s.syncIngress(ctx, key)
	case "pvc":
		err = s.syncClaim(ctx, key)
	}
	if err != nil && ctx.Err() == nil {
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			s.log.Debug("simulated node", "object", key.kind+"/"+key.namespace+"/"+key.name, "err", err)
		}
		s.queue.AddRateLimited(key)
		return true
	}
	s.queue.Forget(key)
	return true
}

// syncPod moves a pod through its life as a kubelet would report it:
// deleted pods go at once, unbound pods are bound to a node, bound pods
// become Running and Ready, and pods of Jobs finish Succeeded.
func (s *simulator) syncPod(ctx context.Context, key simKey) error {
	pod, err := s.pods.Pods(key.namespace).Get(key.name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case pod.DeletionTimestamp != nil:
		err := s.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0),
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	case pod.Spec.NodeName == "":
		return s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: s.chooseNode(pod)},
		}, metav1.CreateOptions{})
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		return nil
	case pod.Status.Phase == corev1.PodRunning && !finishes(pod):
		return nil
	}
	if !strings.HasPrefix(pod.Spec.NodeName, "gyre-node-") {
		return nil // bound to a node gyre does not simulate
	}
	updated := pod.DeepCopy()
	updated.Status = s.podStatus(pod)
	_, err = s.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	return err
}

// finishes reports whether the pod runs to completion: pods owned by a Job.
func finishes(pod *corev1.Pod) bool {
	for _, o := range pod.OwnerReferences {
		if o.Kind == "Job" && strings.HasPrefix(o.APIVersion, "batch/") {
			return true
		}
	}
	return false
}

// failsOnPurpose reports whether a pod that runs to completion is meant to
// fail: its first container's command line is `false` or ends in `exit 1`
// (as in `sh -c "…; exit 1"`). Since no container runs, this is how a test or
// a demo makes a Job fail.
func failsOnPurpose(pod *corev1.Pod) bool {
	if len(pod.Spec.Containers) == 0 {
		return false
	}
	c := pod.Spec.Containers[0]
	line := strings.TrimSpace(strings.Join(append(append([]string{}, c.Command...), c.Args...), " "))
	return line == "false" || line == "/bin/false" || strings.HasSuffix(line, "exit 1")
}

// chooseNode returns the node a pod must go to (a DaemonSet pod names its
// node through required node affinity) or the next node round robin.
func (s *simulator) chooseNode(pod *corev1.Pod) string {
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, f := range term.MatchFields {
				if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) > 0 {
					return f.Values[0]
				}
			}
		}
	}
	if h := pod.Spec.NodeSelector["kubernetes.io/hostname"]; h != "" {
		return h
	}
	return nodeName(int(s.nextNode.Add(1)-1) % s.nodes)
}

func (s *simulator) podStatus(pod *corev1.Pod) corev1.PodStatus {
	now := metav1.Now()
	done := finishes(pod)
	st := pod.Status.DeepCopy()
	st.HostIP = nodeIPOf(pod.Spec.NodeName)
	st.HostIPs = []corev1.HostIP{{IP: st.HostIP}}
	if st.PodIP == "" {
		st.PodIP = s.allocPodIP(pod.Spec.NodeName)
	}
	st.PodIPs = []corev1.PodIP{{IP: st.PodIP}}
	if st.StartTime == nil {
		st.StartTime = &now
	}
	ready := corev1.ConditionTrue
	readyReason := ""
	failed := done && failsOnPurpose(pod)
	if done {
		st.Phase = corev1.PodSucceeded
		ready, readyReason = corev1.ConditionFalse, "PodCompleted"
		if failed {
			st.Phase = corev1.PodFailed
			readyReason = "PodFailed"
		}
	} else {
		st.Phase = corev1.PodRunning
	}
	setPodCondition(st, corev1.PodScheduled, corev1.ConditionTrue, "", now)
	setPodCondition(st, corev1.PodReadyToStartContainers, corev1.ConditionTrue, "", now)
	setPodCondition(st, corev1.PodInitialized, corev1.ConditionTrue, "", now)
	setPodCondition(st, corev1.ContainersReady, ready, readyReason, now)
	setPodCondition(st, corev1.PodReady, ready, readyReason, now)

	st.InitContainerStatuses = nil
	for _, c := range pod.Spec.InitContainers {
		cs := containerStatus(c, pod.UID)
		cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now, ContainerID: cs.ContainerID}}
		cs.Ready = true
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
	}
	st.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		cs := containerStatus(c, pod.UID)
		if done {
			cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now, ContainerID: cs.ContainerID}}
			if failed {
				cs.State.Terminated.ExitCode, cs.State.Terminated.Reason = 1, "Error"
			}
			cs.Started = ptr.To(false)
		} else {
			cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
			cs.Ready = true
			cs.Started = ptr.To(true)
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	return *st
}

func containerStatus(c corev1.Container, pod types.UID) corev1.ContainerStatus {
	id := sha256.Sum256([]byte(string(pod) + "/" + c.Name))
	img := sha256.Sum256([]byte(c.Image))
	return corev1.ContainerStatus{
		Name:        c.Name,
		Image:       c.Image,
		ImageID:     c.Image + "@sha256:" + hex.EncodeToString(img[:]),
		ContainerID: "simulated://" + hex.EncodeToString(id[:]),
	}
}

func setPodCondition(st *corev1.PodStatus, t corev1.PodConditionType, s corev1.ConditionStatus, reason string, now metav1.Time) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			if st.Conditions[i].Status != s {
				st.Conditions[i].LastTransitionTime = now
			}
			st.Conditions[i].Status, st.Conditions[i].Reason = s, reason
			return
		}
	}
	st.Conditions = append(st.Conditions, corev1.PodCondition{Type: t, Status: s, Reason: reason, LastTransitionTime: now})
}

func nodeIPOf(node string) string {
	var i int
	if _, err := fmt.Sscanf(node, "gyre-node-%d", &i); err != nil || i < 1 {
		return ""
	}
	return nodeIP(i - 1)
}

// allocPodIP hands out the next address of the node's pod range.
func (s *simulator) allocPodIP(node string) string {
	var i int
	fmt.Sscanf(node, "gyre-node-%d", &i)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nextIP[node]%253 + 1
	s.nextIP[node] = n
	return fmt.Sprintf("10.244.%d.%d", max(i-1, 0), n+1)
}

// allocLBIP hands out the next load-balancer address.
func (s *simulator) allocLBIP() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextLB = s.nextLB%250 + 1
	return fmt.Sprintf("172.18.255.%d", s.nextLB)
}

// syncService gives a LoadBalancer Service an ingress address, as a cloud
// provider's load balancer controller would.
func (s *simulator) syncService(ctx context.Context, key simKey) error {
	svc, err := s.services.Services(key.namespace).Get(key.name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Status.LoadBalancer.Ingress) > 0 || svc.DeletionTimestamp != nil {
		return nil
	}
	updated := svc.DeepCopy()
	updated.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: s.allocLBIP(), IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)}}
	_, err = s.client.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	return err
}

// syncIngress gives an Ingress a load-balancer address, as an ingress
// controller would.
func (s *simulator) syncIngress(ctx context.Context, key simKey) error {
	ing, err := s.ingress.Ingresses(key.namespace).Get(key.name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(ing.Status.LoadBalancer.Ingress) > 0 || ing.DeletionTimestamp != nil {
		return nil
	}
	updated := ing.DeepCopy()
	updated.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: s.allocLBIP()}}
	_, err = s.client.NetworkingV1().Ingresses(ing.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	return err
}

// syncClaim binds a pending PersistentVolumeClaim to a new PersistentVolume
// of the requested size, as a dynamic provisioner and the binder would.
func (s *simulator) syncClaim(ctx context.Context, key simKey) error {
	pvc, err := s.claims.PersistentVolumeClaims(key.namespace).Get(key.name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pvc.Status.Phase == corev1.ClaimBound || pvc.DeletionTimestamp != nil {
		return nil
	}
	pvName := "pvc-" + string(pvc.UID)
	if pvc.Spec.VolumeName == "" {
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: pvName, Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": "gyre.dev/simulated"}},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: claimSize(pvc)},
				AccessModes:                   pvc.Spec.AccessModes,
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
				StorageClassName:              ptr.Deref(pvc.Spec.StorageClassName, ""),
				VolumeMode:                    pvc.Spec.VolumeMode,
				ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID},
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/gyre/volumes/" + pvName},
				},
			},
		}
		if _, err := s.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		bound := pvc.DeepCopy()
		bound.Spec.VolumeName = pvName
		if bound.Annotations == nil {
			bound.Annotations = map[string]string{}
		}
		bound.Annotations["pv.kubernetes.io/bind-completed"] = "yes"
		bound.Annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
		if _, err := s.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Update(ctx, bound, metav1.UpdateOptions{}); err != nil {
			return err
		}
		return nil // the update brings the claim back through the queue
	}
	if pv, err := s.client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{}); err == nil && pv.Status.Phase != corev1.VolumeBound {
		pv.Status.Phase = corev1.VolumeBound
		if _, err := s.client.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	bound := pvc.DeepCopy()
	bound.Status.Phase = corev1.ClaimBound
	bound.Status.AccessModes = pvc.Spec.AccessModes
	bound.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: claimSize(pvc)}
	_, err = s.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).UpdateStatus(ctx, bound, metav1.UpdateOptions{})
	return err
}

// claimSize is the storage a claim requests, 1Gi when it names none.
func claimSize(pvc *corev1.PersistentVolumeClaim) resource.Quantity {
	if q, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		return q
	}
	return resource.MustParse("1Gi")
}

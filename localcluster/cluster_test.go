package localcluster_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/localcluster/clustertest"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var cluster *clustertest.Cluster

func TestMain(m *testing.M) { os.Exit(clustertest.Run(m, &cluster)) }

var ctx = context.Background()

func podTemplate(app, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "main", Image: image,
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
		}}},
	}
}

func selector(app string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
}

// podsReady lists the pods matching app and reports whether exactly n exist
// and all are Running and Ready with running containers and a pod IP.
func podsReady(t *testing.T, ns, app string, n int) (bool, string) {
	pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{"app": app}.String()})
	if err != nil {
		return false, err.Error()
	}
	if len(pods.Items) != n {
		return false, fmt.Sprintf("%d pods, want %d", len(pods.Items), n)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.Spec.NodeName == "" || p.Status.PodIP == "" {
			return false, fmt.Sprintf("pod %s: phase %s node %q ip %q", p.Name, p.Status.Phase, p.Spec.NodeName, p.Status.PodIP)
		}
		if !podCondition(&p, corev1.PodReady) || len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Running == nil || !p.Status.ContainerStatuses[0].Ready {
			return false, fmt.Sprintf("pod %s not ready: %+v", p.Name, p.Status.ContainerStatuses)
		}
	}
	return true, ""
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func deploymentAvailable(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == *d.Spec.Replicas && d.Status.UpdatedReplicas == *d.Spec.Replicas && d.Status.Replicas == *d.Spec.Replicas
		}
	}
	return false
}

func TestDeploymentLifecycle(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	deployments := cluster.Client.AppsV1().Deployments(ns)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: selector("web"), Template: podTemplate("web", "nginx:1.27")},
	}
	if _, err := deployments.Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		got, err := deployments.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if !deploymentAvailable(got) {
			return false, fmt.Sprintf("deployment status %+v", got.Status)
		}
		return podsReady(t, ns, "web", 3)
	})
	rs, err := cluster.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(rs.Items) != 1 {
		t.Fatalf("want one ReplicaSet, got %v (%v)", len(rs.Items), err)
	}
	oldRS := rs.Items[0].Name

	// A new image rolls out a new ReplicaSet; the old pods go away.
	got, err := deployments.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
	if _, err := deployments.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		got, err := deployments.Get(ctx, "web", metav1.GetOptions{})
		if err != nil || !deploymentAvailable(got) {
			return false, fmt.Sprintf("rollout: %v %+v", err, got.Status)
		}
		pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		if len(pods.Items) != 3 {
			return false, fmt.Sprintf("%d pods, want 3", len(pods.Items))
		}
		for _, p := range pods.Items {
			if p.Spec.Containers[0].Image != "nginx:1.28" || p.OwnerReferences[0].Name == oldRS {
				return false, fmt.Sprintf("old pod %s still there", p.Name)
			}
		}
		return podsReady(t, ns, "web", 3)
	})
	rs, err = cluster.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(rs.Items) != 2 {
		t.Fatalf("want two ReplicaSets after rollout, got %d (%v)", len(rs.Items), err)
	}

	// Deleting the Deployment garbage-collects its ReplicaSets and pods.
	if err := deployments.Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		rs, err := cluster.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(rs.Items) == 0 && len(pods.Items) == 0, fmt.Sprintf("%d ReplicaSets and %d pods left", len(rs.Items), len(pods.Items))
	})
}

func TestStatefulSetAndDaemonSetBecomeReady(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	ss := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To[int32](2), Selector: selector("db"), ServiceName: "db", Template: podTemplate("db", "postgres:17"),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
	if _, err := cluster.Client.AppsV1().StatefulSets(ns).Create(ctx, ss, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec:       appsv1.DaemonSetSpec{Selector: selector("agent"), Template: podTemplate("agent", "fluent-bit:3")},
	}
	if _, err := cluster.Client.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	nodes, err := cluster.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		got, err := cluster.Client.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
		if err != nil || got.Status.ReadyReplicas != 2 || got.Status.ObservedGeneration != got.Generation {
			return false, fmt.Sprintf("statefulset: %v %+v", err, got.Status)
		}
		return true, ""
	})
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		got, err := cluster.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		want := int32(len(nodes.Items))
		if err != nil || got.Status.DesiredNumberScheduled != want || got.Status.NumberReady != want || got.Status.ObservedGeneration != got.Generation {
			return false, fmt.Sprintf("daemonset: %v %+v", err, got.Status)
		}
		return true, ""
	})
	// Each DaemonSet pod is on the node it was made for, one per node.
	pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=agent"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range pods.Items {
		seen[p.Spec.NodeName] = true
	}
	if len(seen) != len(nodes.Items) {
		t.Fatalf("daemonset pods on %d distinct nodes, want %d", len(seen), len(nodes.Items))
	}
	// The StatefulSet's claims are bound.
	claims, err := cluster.Client.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(claims.Items) != 2 {
		t.Fatalf("want 2 claims, got %d (%v)", len(claims.Items), err)
	}
	for _, c := range claims.Items {
		if c.Status.Phase != corev1.ClaimBound {
			t.Errorf("claim %s is %s", c.Name, c.Status.Phase)
		}
	}
}

func TestJobCompletesAndCronJobCreatesJobs(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	jobSpec := batchv1.JobSpec{
		Completions: ptr.To[int32](2),
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "migrate", Image: "busybox"}},
		}},
	}
	if _, err := cluster.Client.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "migrate"}, Spec: jobSpec}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "tick"},
		Spec: batchv1.CronJobSpec{
			Schedule:    "* * * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: jobSpec},
		},
	}
	if _, err := cluster.Client.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		job, err := cluster.Client.BatchV1().Jobs(ns).Get(ctx, "migrate", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range job.Status.Conditions {
			if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
				return job.Status.Succeeded == 2, fmt.Sprintf("succeeded %d", job.Status.Succeeded)
			}
		}
		return false, fmt.Sprintf("job status %+v", job.Status)
	})
	// A schedule of every minute fires within the next minute boundary.
	clustertest.Eventually(t, 75*time.Second, func() (bool, string) {
		jobs, err := cluster.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, j := range jobs.Items {
			for _, o := range j.OwnerReferences {
				if o.Kind == "CronJob" && o.Name == "tick" {
					return true, ""
				}
			}
		}
		return false, fmt.Sprintf("%d jobs, none from the CronJob", len(jobs.Items))
	})
}

func TestLoadBalancerIngressAndClaim(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "front"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": "front"},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
	if _, err := cluster.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "front"},
		Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: "front", Port: networkingv1.ServiceBackendPort{Number: 80}},
		}},
	}
	if _, err := cluster.Client.NetworkingV1().Ingresses(ns).Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "cache"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}},
		},
	}
	if _, err := cluster.Client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 10*time.Second, func() (bool, string) {
		s, err := cluster.Client.CoreV1().Services(ns).Get(ctx, "front", metav1.GetOptions{})
		if err != nil || len(s.Status.LoadBalancer.Ingress) == 0 || s.Status.LoadBalancer.Ingress[0].IP == "" {
			return false, fmt.Sprintf("service: %v %+v", err, s.Status)
		}
		i, err := cluster.Client.NetworkingV1().Ingresses(ns).Get(ctx, "front", metav1.GetOptions{})
		if err != nil || len(i.Status.LoadBalancer.Ingress) == 0 || i.Status.LoadBalancer.Ingress[0].IP == "" {
			return false, fmt.Sprintf("ingress: %v %+v", err, i.Status)
		}
		c, err := cluster.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "cache", metav1.GetOptions{})
		if err != nil || c.Status.Phase != corev1.ClaimBound || c.Spec.VolumeName == "" {
			return false, fmt.Sprintf("claim: %v %+v", err, c.Status)
		}
		pv, err := cluster.Client.CoreV1().PersistentVolumes().Get(ctx, c.Spec.VolumeName, metav1.GetOptions{})
		if err != nil || pv.Status.Phase != corev1.VolumeBound || pv.Spec.Capacity.Storage().String() != "5Gi" {
			return false, fmt.Sprintf("volume: %v %+v", err, pv)
		}
		return true, ""
	})
}

func TestNamespaceDeletionFinishes(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: selector("web"), Template: podTemplate("web", "nginx")},
	}
	if _, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 60*time.Second, func() (bool, string) {
		got, err := cluster.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		return false, fmt.Sprintf("namespace still %v: %v", got.Status.Phase, err)
	})
}

func TestNodesAreReadyWithLeases(t *testing.T) {
	t.Parallel()
	nodes, err := cluster.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 3 {
		t.Fatalf("%d nodes, want 3", len(nodes.Items))
	}
	for _, n := range nodes.Items {
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
		}
		if !ready || len(n.Spec.Taints) != 0 {
			t.Errorf("node %s: ready=%v taints=%v", n.Name, ready, n.Spec.Taints)
		}
		name := n.Name
		clustertest.Eventually(t, 10*time.Second, func() (bool, string) {
			l, err := cluster.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return l.Spec.RenewTime != nil && time.Since(l.Spec.RenewTime.Time) < time.Minute, "lease not renewed"
		})
	}
}

func TestServerReportsRealVersion(t *testing.T) {
	t.Parallel()
	v, err := cluster.Client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != "v1.37.2" || v.Major != "1" || v.Minor != "37" {
		t.Fatalf("server version %+v, want v1.37.2", v)
	}
}

// TestPodsWithResourcesAndProbesRun covers pods whose status carries more
// than the minimal pod's: a QoS class the API server computed from
// resources (Burstable: the init container asks for none), init containers and
// probes.
func TestPodsWithResourcesAndProbesRun(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	tmpl := podTemplate("probed", "nginx")
	tmpl.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}}
	tmpl.Spec.Containers[0].Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
	}
	tmpl.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}}}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "probed"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: selector("probed"), Template: tmpl},
	}
	if _, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		got, err := cluster.Client.AppsV1().Deployments(ns).Get(ctx, "probed", metav1.GetOptions{})
		if err != nil || !deploymentAvailable(got) {
			return false, fmt.Sprintf("deployment: %v %+v", err, got.Status)
		}
		return true, ""
	})
	pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Status.QOSClass != corev1.PodQOSBurstable || len(p.Status.InitContainerStatuses) != 1 {
			t.Errorf("pod %s: qos %s, %d init statuses", p.Name, p.Status.QOSClass, len(p.Status.InitContainerStatuses))
		}
	}
}

// TestJobMeantToFailFails: a Job whose command is `false` fails, so hooks
// that fail can be exercised without containers.
func TestJobMeantToFailFails(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "doomed"},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"sh", "-c", "migrate; exit 1"}}},
			}},
		},
	}
	if _, err := cluster.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		got, err := cluster.Client.BatchV1().Jobs(ns).Get(ctx, "doomed", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range got.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
				return got.Status.Succeeded == 0, fmt.Sprintf("succeeded %d", got.Status.Succeeded)
			}
		}
		return false, fmt.Sprintf("job status %+v", got.Status)
	})
}

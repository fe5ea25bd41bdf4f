package live

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// createWeb creates, for the Application appKey, a Deployment "web" with
// replicas pods and a Service "web" selecting them.
func createWeb(t testing.TB, appKey types.NamespacedName, ns string, replicas int32) {
	t.Helper()
	ctx := context.Background()
	d := &appsv1.Deployment{
		ObjectMeta: tracked(appKey, deploymentGVK.GroupKind(), ns, "web"),
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: selector("web"), Template: podTemplate("web")},
	}
	if _, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: tracked(appKey, serviceGVK.GroupKind(), ns, "web"),
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
	if _, err := cluster.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// webTreeReady checks the tree of an Application holding createWeb's
// objects: Deployment → ReplicaSet → n Pods, Service → EndpointSlice →
// the same Pods, every Pod healthy with its info.
func webTreeReady(tree []app.TreeNode, n int) (bool, string) {
	byUID, err := treeIndex(tree)
	if err != nil {
		return false, err.Error() + describe(tree)
	}
	deps, svcs := nodesOfKind(tree, "Deployment"), nodesOfKind(tree, "Service")
	rss, pods, slices := nodesOfKind(tree, "ReplicaSet"), nodesOfKind(tree, "Pod"), nodesOfKind(tree, "EndpointSlice")
	if len(deps) != 1 || len(svcs) != 1 || len(rss) != 1 || len(pods) != n || len(slices) != 1 {
		return false, fmt.Sprintf("want 1 Deployment, 1 Service, 1 ReplicaSet, %d Pods, 1 EndpointSlice:%s", n, describe(tree))
	}
	dep, svc, rs, slice := deps[0], svcs[0], rss[0], slices[0]
	if dep.Sync != app.Synced || len(dep.ParentUIDs) != 0 || dep.Health == nil || dep.Health.Status != app.Healthy {
		return false, "Deployment node:" + describe(tree)
	}
	if want := fmt.Sprintf("%d/%d", n, n); infoValue(dep, "Ready") != want || infoValue(rs, "Ready") != want {
		return false, "workload Ready info:" + describe(tree)
	}
	if len(dep.Images) != 1 || dep.Images[0] != "nginx:1.27" {
		return false, fmt.Sprintf("Deployment images %v", dep.Images)
	}
	if len(rs.ParentUIDs) != 1 || rs.ParentUIDs[0] != dep.UID || rs.Sync != "" {
		return false, "ReplicaSet not under the Deployment:" + describe(tree)
	}
	if len(slice.ParentUIDs) != 1 || slice.ParentUIDs[0] != svc.UID || infoValue(slice, "Ready") != fmt.Sprintf("%d/%d", n, n) {
		return false, "EndpointSlice not under the Service with all endpoints ready:" + describe(tree)
	}
	for _, p := range pods {
		if !hasParent(p, rs.UID) || !hasParent(p, slice.UID) || len(p.ParentUIDs) != 2 {
			return false, fmt.Sprintf("Pod %s parents %v, want ReplicaSet %s and EndpointSlice %s", p.Key.Name, p.ParentUIDs, rs.UID, slice.UID)
		}
		if p.Health == nil || p.Health.Status != app.Healthy {
			return false, "Pod not healthy:" + describe(tree)
		}
		if infoValue(p, "Status") != "Running" || infoValue(p, "Ready") != "1/1" || infoValue(p, "Restarts") != "0" || infoValue(p, "Node") == "" || infoValue(p, "IP") == "" {
			return false, fmt.Sprintf("Pod %s info %v", p.Key.Name, p.Info)
		}
		if len(p.Images) != 1 || p.Images[0] != "nginx:1.27" || p.CreatedAt == nil {
			return false, fmt.Sprintf("Pod %s images %v created %v", p.Key.Name, p.Images, p.CreatedAt)
		}
	}
	if _, ok := byUID[rs.UID]; !ok {
		return false, "ReplicaSet missing by uid"
	}
	return true, ""
}

func TestTreeDeploymentAndService(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			testTreeDeploymentAndService(t, m)
		})
	}
}

// testTreeDeploymentAndService is TestTreeDeploymentAndService with descendants watched in mode m.
func testTreeDeploymentAndService(t *testing.T, m mode) {
	ns := cluster.Namespace(t)
	demo := types.NamespacedName{Namespace: ns, Name: "demo"}
	c, _ := newCacheIn(t, m)
	startWatches(t, c, ns, deploymentGVK, serviceGVK)
	createWeb(t, demo, ns, 3)

	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		m := c.Managed(ns, "demo")
		if len(m) != 2 || m[0].GetKind() != "Service" || m[1].GetKind() != "Deployment" {
			return false, fmt.Sprintf("Managed = %d objects, want Service and Deployment in key order", len(m))
		}
		return webTreeReady(c.Tree(ns, "demo", declared(c, demo)), 3)
	})
	if _, ok := c.Get(app.ResourceKey{Group: "apps", Kind: "Deployment", Namespace: ns, Name: "web"}); !ok {
		t.Error("Get of the Deployment: not found")
	}
	if _, ok := c.Get(app.ResourceKey{Group: "apps", Kind: "Deployment", Namespace: ns, Name: "nope"}); ok {
		t.Error("Get of a missing Deployment: found")
	}
	if got := c.Managed(ns, "other"); len(got) != 0 {
		t.Errorf("Managed of another app: %d objects", len(got))
	}

	// A declared object that does not exist is a Missing top-level node.
	in := append(declared(c, demo), TreeInput{Key: app.ResourceKey{Kind: "ConfigMap", Namespace: ns, Name: "cfg"}, Version: "v1", Sync: app.OutOfSync})
	tree := c.Tree(ns, "demo", in)
	var missing *app.TreeNode
	for i := range tree {
		if tree[i].Key.Kind == "ConfigMap" {
			missing = &tree[i]
		}
	}
	if missing == nil || missing.Health == nil || missing.Health.Status != app.Missing || missing.Sync != app.OutOfSync || missing.UID != "" {
		t.Errorf("missing ConfigMap node = %+v", missing)
	}
	if !c.HasSynced() {
		t.Error("HasSynced = false after the watches synced")
	}

	// Once its only namespace is forgotten the cache has no descendant
	// watches, per namespace or cluster-wide, and the tree is the managed
	// objects alone.
	c.ForgetNamespace(ns)
	if tree := c.Tree(ns, "demo", declared(c, demo)); len(tree) != 2 {
		t.Errorf("tree after ForgetNamespace:%s", describe(tree))
	}
	for _, st := range c.Stats() {
		if !st.Managed {
			t.Errorf("Stats after ForgetNamespace: %+v", st)
		}
	}
}

func TestTreeCronJobAndStatefulSet(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			testTreeCronJobAndStatefulSet(t, m)
		})
	}
}

// testTreeCronJobAndStatefulSet is TestTreeCronJobAndStatefulSet with descendants watched in mode m.
func testTreeCronJobAndStatefulSet(t *testing.T, m mode) {
	ctx := context.Background()
	ns := cluster.Namespace(t)
	demo := types.NamespacedName{Namespace: ns, Name: "demo"}
	c, _ := newCacheIn(t, m)
	startWatches(t, c, ns, cronJobGVK, statefulSetGVK)

	cj := &batchv1.CronJob{
		ObjectMeta: tracked(demo, cronJobGVK.GroupKind(), ns, "nightly"),
		Spec: batchv1.CronJobSpec{
			Schedule: "0 3 * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "main", Image: "busybox:1.36"}}},
			}}},
		},
	}
	cj, err := cluster.Client.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// What `kubectl create job --from=cronjob/nightly` does: a Job from the
	// template, owned by the CronJob. (The schedule is hours away.)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: "nightly-manual", Namespace: ns,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))},
		},
		Spec: cj.Spec.JobTemplate.Spec,
	}
	if _, err := cluster.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sts := &appsv1.StatefulSet{
		ObjectMeta: tracked(demo, statefulSetGVK.GroupKind(), ns, "db"),
		Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To[int32](2), ServiceName: "db", Selector: selector("db"), Template: podTemplate("db")},
	}
	if _, err := cluster.Client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		tree := c.Tree(ns, "demo", declared(c, demo))
		if _, err := treeIndex(tree); err != nil {
			return false, err.Error()
		}
		cjs, jobs, stss := nodesOfKind(tree, "CronJob"), nodesOfKind(tree, "Job"), nodesOfKind(tree, "StatefulSet")
		revs, pods := nodesOfKind(tree, "ControllerRevision"), nodesOfKind(tree, "Pod")
		if len(cjs) != 1 || len(jobs) != 1 || len(stss) != 1 || len(revs) != 1 || len(pods) != 3 {
			return false, "want CronJob, Job, StatefulSet, ControllerRevision and 3 Pods:" + describe(tree)
		}
		if !hasParent(jobs[0], cjs[0].UID) || infoValue(jobs[0], "Status") != "Complete" || infoValue(jobs[0], "Completions") != "1/1" {
			return false, "Job not complete under the CronJob:" + describe(tree)
		}
		if !hasParent(revs[0], stss[0].UID) || revs[0].Health != nil {
			return false, "ControllerRevision not under the StatefulSet:" + describe(tree)
		}
		if infoValue(cjs[0], "Schedule") != "0 3 * * *" || len(cjs[0].Images) != 1 || cjs[0].Images[0] != "busybox:1.36" {
			return false, "CronJob info:" + describe(tree)
		}
		if infoValue(stss[0], "Ready") != "2/2" || stss[0].Health == nil || stss[0].Health.Status != app.Healthy {
			return false, "StatefulSet not ready:" + describe(tree)
		}
		var jobPods, stsPods int
		for _, p := range pods {
			switch {
			case hasParent(p, jobs[0].UID) && infoValue(p, "Status") == "Completed":
				jobPods++
			case hasParent(p, stss[0].UID) && infoValue(p, "Status") == "Running" && p.Health.Status == app.Healthy:
				stsPods++
			}
		}
		if jobPods != 1 || stsPods != 2 {
			return false, fmt.Sprintf("%d completed Job pods (want 1), %d running StatefulSet pods (want 2):%s", jobPods, stsPods, describe(tree))
		}
		return true, ""
	})
}

func TestManagedIgnoresCopies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := cluster.Namespace(t)
	demo := types.NamespacedName{Namespace: ns, Name: "demo"}
	c, rec := newCache(t)
	startWatches(t, c, ns, configMapGVK)

	gk := schema.GroupKind{Kind: "ConfigMap"}
	orig := &corev1.ConfigMap{ObjectMeta: tracked(demo, gk, ns, "settings")}
	// A copy made with kubectl get -o yaml and a new name keeps the
	// original's tracking id, which names the original.
	cp := &corev1.ConfigMap{ObjectMeta: tracked(demo, gk, ns, "settings")}
	cp.Name = "settings-copy"
	for _, cm := range []*corev1.ConfigMap{cp, orig} {
		if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rec.waitFor(t, 10*time.Second, "Managed returning the ConfigMap", func() bool { return len(c.Managed(ns, "demo")) > 0 })
	if _, ok := c.Get(app.ResourceKey{Kind: "ConfigMap", Namespace: ns, Name: "settings-copy"}); !ok {
		t.Fatal("the copy is not cached at all")
	}
	if got := c.Managed(ns, "demo"); len(got) != 1 || got[0].GetName() != "settings" {
		t.Fatalf("Managed = %v, want only the original", got)
	}
}

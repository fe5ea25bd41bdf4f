package localcluster_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/localcluster"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// TestClustersInOneProcess runs two more clusters beside the shared one, all
// three in this process, and checks that each one's controllers and
// simulated nodes work on their own: a Deployment in each gets its
// ReplicaSet and Ready pods there, and deleting it garbage-collects them.
// Then one extra cluster is stopped and started again on the same data dir
// and address while the others keep serving and reconciling. It is not
// parallel: the parallel tests wait until it is done.
func TestClustersInOneProcess(t *testing.T) {
	extra := make([]*clustertest.Cluster, 2)
	errs := make([]error, len(extra))
	var wg sync.WaitGroup
	for i := range extra {
		dir := t.TempDir()
		wg.Go(func() { extra[i], errs[i] = clustertest.Start(localcluster.Options{DataDir: dir, Nodes: 1}) })
	}
	wg.Wait()
	for i, c := range extra {
		if c != nil {
			t.Cleanup(func() { c.Stop() }) // the cluster c holds then: Restart replaces it
		}
		if errs[i] != nil {
			t.Fatalf("start extra cluster %d: %v", i+1, errs[i])
		}
	}
	all := []*clustertest.Cluster{cluster, extra[0], extra[1]}
	seen := map[string]bool{}
	for _, c := range all {
		if seen[c.URL()] {
			t.Fatalf("two clusters serve %s", c.URL())
		}
		seen[c.URL()] = true
	}

	// The component logs of the process go to one file, which every
	// cluster reports.
	for _, c := range extra {
		if c.LogPath() != cluster.LogPath() {
			t.Errorf("%s logs to %s, the shared cluster to %s", c.URL(), c.LogPath(), cluster.LogPath())
		}
	}

	// Each cluster reconciles its own Deployment, with a name of its own so
	// that an object in the wrong cluster would show.
	nss := make([]string, len(all))
	for i, c := range all {
		nss[i] = c.Namespace(t)
		createDeployment(t, c.Client, nss[i], fmt.Sprintf("web-%d", i), 2)
	}
	for i, c := range all {
		waitDeploymentReady(t, c.Client, nss[i], fmt.Sprintf("web-%d", i), 2)
		ds, err := c.Client.AppsV1().Deployments(nss[i]).List(ctx, metav1.ListOptions{})
		if err != nil || len(ds.Items) != 1 {
			t.Fatalf("cluster %d: want its one Deployment, got %d (%v)", i, len(ds.Items), err)
		}
	}
	// The pods of an extra cluster are on its one node.
	for i, c := range extra {
		pods, err := c.Client.CoreV1().Pods(nss[i+1]).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName != "gyre-node-1" {
				t.Errorf("extra cluster %d: pod %s on node %q", i+1, p.Name, p.Spec.NodeName)
			}
		}
	}
	for i, c := range all {
		deleteDeployment(t, c.Client, nss[i], fmt.Sprintf("web-%d", i))
	}
	for i, c := range all {
		waitCollected(t, c.Client, nss[i])
	}

	// Stop the first extra cluster. The others keep reconciling.
	stopped := extra[0]
	kept := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}, Data: map[string]string{"answer": "42"}}
	if _, err := stopped.Client.CoreV1().ConfigMaps(nss[1]).Create(ctx, kept, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	addr := stopped.URL()
	stopped.Stop()
	if _, err := stopped.Client.CoreV1().Namespaces().Get(ctx, nss[1], metav1.GetOptions{}); err == nil {
		t.Fatal("the stopped cluster still answers")
	}
	for _, i := range []int{0, 2} {
		createDeployment(t, all[i].Client, nss[i], "while-stopped", 1)
	}
	for _, i := range []int{0, 2} {
		waitDeploymentReady(t, all[i].Client, nss[i], "while-stopped", 1)
	}

	// Start it again: same address, its objects kept, its controllers work.
	if err := stopped.Restart(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if stopped.URL() != addr {
		t.Fatalf("restarted at %s, want %s", stopped.URL(), addr)
	}
	got, err := stopped.Client.CoreV1().ConfigMaps(nss[1]).Get(ctx, "kept", metav1.GetOptions{})
	if err != nil || got.Data["answer"] != "42" {
		t.Fatalf("config map across restart: %v %+v", err, got)
	}
	createDeployment(t, stopped.Client, nss[1], "after-restart", 2)
	waitDeploymentReady(t, stopped.Client, nss[1], "after-restart", 2)
	deleteDeployment(t, stopped.Client, nss[1], "after-restart")
	waitCollected(t, stopped.Client, nss[1])
	// The others still work after the restart.
	for _, i := range []int{0, 2} {
		deleteDeployment(t, all[i].Client, nss[i], "while-stopped")
	}
	for _, i := range []int{0, 2} {
		waitCollected(t, all[i].Client, nss[i])
	}
}

// TestSecondClusterLogsToTheFirst checks where the component logs of a
// second cluster in the process go: to the shared cluster's file, which
// the second one's own file names.
func TestSecondClusterLogsToTheFirst(t *testing.T) {
	c, err := localcluster.Start(ctx, localcluster.Options{DataDir: t.TempDir(), Nodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	own, err := os.ReadFile(filepath.Join(c.DataDir(), "apiserver.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(own), "log to "+cluster.LogPath()) {
		t.Fatalf("the second cluster's apiserver.log does not name %s:\n%s", cluster.LogPath(), own)
	}
}

func createDeployment(t *testing.T, c kubernetes.Interface, ns, name string, replicas int32) {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: selector(name), Template: podTemplate(name, "nginx")},
	}
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitDeploymentReady waits until the Deployment is Available through one
// ReplicaSet and its pods are Running and Ready on a node.
func waitDeploymentReady(t *testing.T, c kubernetes.Interface, ns, name string, replicas int) {
	t.Helper()
	clustertest.Eventually(t, 60*time.Second, func() (bool, string) {
		d, err := c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if !deploymentAvailable(d) {
			return false, fmt.Sprintf("deployment %s/%s: %+v", ns, name, d.Status)
		}
		sel := labels.Set{"app": name}.String()
		rs, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil || len(rs.Items) != 1 {
			return false, fmt.Sprintf("%d ReplicaSets of %s (%v)", len(rs.Items), name, err)
		}
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil || len(pods.Items) != replicas {
			return false, fmt.Sprintf("%d pods of %s (%v)", len(pods.Items), name, err)
		}
		for _, p := range pods.Items {
			if p.Status.Phase != corev1.PodRunning || p.Spec.NodeName == "" || !podCondition(&p, corev1.PodReady) {
				return false, fmt.Sprintf("pod %s: %s on %q", p.Name, p.Status.Phase, p.Spec.NodeName)
			}
		}
		return true, ""
	})
}

func deleteDeployment(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	err := c.AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
	if err != nil {
		t.Fatal(err)
	}
}

// waitCollected waits until the garbage collector has removed every
// ReplicaSet and pod of the namespace.
func waitCollected(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	clustertest.Eventually(t, 60*time.Second, func() (bool, string) {
		rs, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(rs.Items) == 0 && len(pods.Items) == 0, fmt.Sprintf("%s: %d ReplicaSets and %d pods left", ns, len(rs.Items), len(pods.Items))
	})
}

package live

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// listPods returns the pods with label app=name.
func listPods(t testing.TB, ns, name string) []corev1.Pod {
	t.Helper()
	pods, err := cluster.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: labels.Set{"app": name}.String()})
	if err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

// runningPods reports whether exactly n pods labelled app=name are Running
// and Ready.
func runningPods(t testing.TB, ns, name string, n int) (bool, string) {
	pods := listPods(t, ns, name)
	if len(pods) != n {
		return false, fmt.Sprintf("%d pods %s, want %d", len(pods), name, n)
	}
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			return false, fmt.Sprintf("pod %s: %s", p.Name, p.Status.Phase)
		}
	}
	return true, ""
}

func TestOnChange(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			testOnChange(t, m)
		})
	}
}

// testOnChange is TestOnChange with descendants watched in mode m.
func testOnChange(t *testing.T, m mode) {
	ctx := context.Background()
	ns := cluster.Namespace(t)
	demo := types.NamespacedName{Namespace: ns, Name: "demo"}
	c, rec := newCacheIn(t, m)
	startWatches(t, c, ns, deploymentGVK, serviceGVK)
	createWeb(t, demo, ns, 3)
	// An unrelated Deployment in the same namespace, without gyre's label
	// and annotation.
	stray := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "stray"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: selector("stray"), Template: podTemplate("stray")},
	}
	if _, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx, stray, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		if ok, msg := webTreeReady(c.Tree(ns, "demo", declared(c, demo)), 3); !ok {
			return false, msg
		}
		return runningPods(t, ns, "stray", 1)
	})
	deployKey := app.ResourceKey{Group: "apps", Kind: "Deployment", Namespace: ns, Name: "web"}

	t.Run("managed object edited", func(t *testing.T) {
		d, err := cluster.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Annotations["example.com/edited"] = "yes"
		mark := rec.mark()
		if _, err := cluster.Client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		rec.waitFor(t, 5*time.Second, "OnChange(demo) after the Deployment edit", func() bool {
			live, ok := c.Get(deployKey)
			return ok && live.GetAnnotations()["example.com/edited"] == "yes" && rec.calledSince(mark, demo)
		})
	})

	t.Run("managed object without descendants edited", func(t *testing.T) {
		// The deployment controller copies a Deployment's annotations to its
		// ReplicaSet, so the edit above also reaches OnChange through the
		// ReplicaSet. A Service annotation changes nothing else.
		mark := rec.mark()
		patch := []byte(`{"metadata":{"annotations":{"example.com/edited":"yes"}}}`)
		if _, err := cluster.Client.CoreV1().Services(ns).Patch(ctx, "web", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		rec.waitFor(t, 5*time.Second, "OnChange(demo) after the Service edit", func() bool {
			live, ok := c.Get(app.ResourceKey{Kind: "Service", Namespace: ns, Name: "web"})
			return ok && live.GetAnnotations()["example.com/edited"] == "yes" && rec.calledSince(mark, demo)
		})
	})

	t.Run("pod changed", func(t *testing.T) {
		// A label the selector ignores changes the Pod and nothing else.
		pod := listPods(t, ns, "web")[0]
		mark := rec.mark()
		patch := []byte(`{"metadata":{"labels":{"example.com/touched":"yes"}}}`)
		if _, err := cluster.Client.CoreV1().Pods(ns).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		rec.waitFor(t, 5*time.Second, "OnChange(demo) after the Pod change", func() bool {
			cached := c.descendantByUID(ns, pod.UID)
			return cached != nil && cached.GetLabels()["example.com/touched"] == "yes" && rec.calledSince(mark, demo)
		})
	})

	t.Run("pod deleted and replaced", func(t *testing.T) {
		pod := listPods(t, ns, "web")[0]
		mark := rec.mark()
		if err := cluster.Client.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		rec.waitFor(t, 5*time.Second, "OnChange(demo) after the Pod deletion", func() bool {
			return c.descendantByUID(ns, pod.UID) == nil && rec.calledSince(mark, demo)
		})
		clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
			tree := c.Tree(ns, "demo", declared(c, demo))
			if _, ok := findUID(tree, pod.UID); ok {
				return false, "deleted pod still in the tree"
			}
			return webTreeReady(tree, 3)
		})
	})

	t.Run("unrelated pods", func(t *testing.T) {
		pod := listPods(t, ns, "stray")[0]
		if err := cluster.Client.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
			if c.descendantByUID(ns, pod.UID) != nil {
				return false, "deleted stray pod still cached"
			}
			return runningPods(t, ns, "stray", 1)
		})
		// Pod events are delivered in order: once a later change to a demo
		// pod has been seen, the stray pod's events have been handled.
		barrier := listPods(t, ns, "web")[0]
		mark := rec.mark()
		patch := []byte(`{"metadata":{"labels":{"example.com/barrier":"yes"}}}`)
		if _, err := cluster.Client.CoreV1().Pods(ns).Patch(ctx, barrier.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		rec.waitFor(t, 5*time.Second, "OnChange(demo) after the barrier", func() bool {
			cached := c.descendantByUID(ns, barrier.UID)
			return cached != nil && cached.GetLabels()["example.com/barrier"] == "yes" && rec.calledSince(mark, demo)
		})
		// Other tests' applications live in their own namespaces; in this
		// one, every call since the cache started was for demo.
		for _, k := range rec.all() {
			if k.Name == "" || (k.Namespace == ns && k != demo) {
				t.Errorf("OnChange(%s): only %s's objects or descendants should trigger it", k, demo)
			}
		}
	})

	t.Run("managed object deleted", func(t *testing.T) {
		mark := rec.mark()
		if err := cluster.Client.CoreV1().Services(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		rec.waitFor(t, 5*time.Second, "OnChange(demo) after the Service deletion", func() bool {
			_, ok := c.Get(app.ResourceKey{Kind: "Service", Namespace: ns, Name: "web"})
			return !ok && rec.calledSince(mark, demo)
		})
		if m := c.Managed(ns, "demo"); len(m) != 1 || m[0].GetKind() != "Deployment" {
			t.Errorf("Managed after deleting the Service: %d objects", len(m))
		}
	})
}

// findUID returns the node of tree with uid.
func findUID(tree []app.TreeNode, uid types.UID) (app.TreeNode, bool) {
	for _, n := range tree {
		if n.UID == uid {
			return n, true
		}
	}
	return app.TreeNode{}, false
}

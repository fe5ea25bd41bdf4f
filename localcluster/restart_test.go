package localcluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/localcluster/clustertest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestRestartKeepsObjects stops the shared cluster and starts it again on
// the same data dir. It is not parallel: the parallel tests wait until it is
// done.
func TestRestartKeepsObjects(t *testing.T) {
	ns := cluster.Namespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}, Data: map[string]string{"answer": "42"}}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: selector("web"), Template: podTemplate("web", "nginx")},
	}
	if _, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAvailable := func() {
		clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
			got, err := cluster.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return deploymentAvailable(got), fmt.Sprintf("%+v", got.Status)
		})
	}
	waitAvailable()
	before, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "kept", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// A client still watching does not hold the stop up: the API server
	// waits shutdownTimeout for it, not the minute a production one gives
	// (Stop's own fallback is 20 s).
	w, err := cluster.Client.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	start := time.Now()
	if err := cluster.Restart(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("restart with a watch open took %s; the API server waited for the watch", took.Round(time.Millisecond))
	}

	after, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "kept", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("config map lost across restart: %v", err)
	}
	if after.UID != before.UID || after.Data["answer"] != "42" {
		t.Fatalf("config map changed across restart: %+v", after)
	}
	waitAvailable()
	// The cluster still works: a new object goes through the controllers.
	cm2 := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "new"}}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm2, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ok, msg := podsReady(t, ns, "web", 2)
	if !ok {
		t.Fatal(msg)
	}
}

package live

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/health"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// descendantWatches returns the Stats of c's descendant watches.
func descendantWatches(c *Cache) []ResourceStats {
	var out []ResourceStats
	for _, st := range c.Stats() {
		if !st.Managed {
			out = append(out, st)
		}
	}
	return out
}

// TestClusterWideWatchCount: watching descendants cluster-wide costs five
// watches however many namespaces are in use; per namespace, five a
// namespace.
func TestClusterWideWatchCount(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wide, _ := newCacheIn(t, modes[0])
	perNamespace, _ := newCacheIn(t, modes[1])
	kinds := len(descendants())
	for i := range 6 {
		ns := cluster.Namespace(t)
		for _, c := range []*Cache{wide, perNamespace} {
			if err := c.WatchNamespace(ctx, ns); err != nil {
				t.Fatal(err)
			}
		}
		got := descendantWatches(wide)
		if len(got) != kinds {
			t.Fatalf("cluster-wide, %d namespaces in use: %d descendant watches, want %d: %+v", i+1, len(got), kinds, got)
		}
		for _, st := range got {
			if st.Namespace != "" {
				t.Errorf("cluster-wide: a watch of namespace %s: %+v", st.Namespace, st)
			}
		}
		if got := descendantWatches(perNamespace); len(got) != (i+1)*kinds {
			t.Fatalf("per namespace, %d namespaces in use: %d descendant watches, want %d", i+1, len(got), (i+1)*kinds)
		}
	}
	if !wide.HasSynced() {
		t.Error("HasSynced = false after WatchNamespace returned")
	}
}

// TestClusterWideAcrossNamespaces: with descendants watched cluster-wide,
// the Applications of several namespaces each get their whole tree
// (Deployment → ReplicaSet → Pod, Service → EndpointSlice → Pod) and
// OnChange for a change to their own Pods.
func TestClusterWideAcrossNamespaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, rec := newCache(t)
	apps := make([]types.NamespacedName, 3)
	for i := range apps {
		ns := cluster.Namespace(t)
		apps[i] = types.NamespacedName{Namespace: ns, Name: "demo"}
		startWatches(t, c, ns, deploymentGVK, serviceGVK)
		createWeb(t, apps[i], ns, 1)
	}
	if got := descendantWatches(c); len(got) != len(descendants()) {
		t.Fatalf("%d descendant watches for %d namespaces, want %d: %+v", len(got), len(apps), len(descendants()), got)
	}
	for _, a := range apps {
		clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
			return webTreeReady(c.Tree(a.Namespace, a.Name, declared(c, a)), 1)
		})
	}
	for _, a := range apps {
		pod := listPods(t, a.Namespace, "web")[0]
		mark := rec.mark()
		patch := []byte(`{"metadata":{"labels":{"example.com/touched":"yes"}}}`)
		if _, err := cluster.Client.CoreV1().Pods(a.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		rec.waitFor(t, 5*time.Second, fmt.Sprintf("OnChange(%s) after its Pod changed", a), func() bool {
			cached := c.descendantByUID(a.Namespace, pod.UID)
			return cached != nil && cached.GetLabels()["example.com/touched"] == "yes" && rec.calledSince(mark, a)
		})
	}
}

// TestClusterWideRetainNamespaces: cluster-wide, releasing a namespace
// stops no watch, and its objects stay cached while another namespace is
// in use; once none is, the cluster-wide watches stop and their objects are
// dropped. Not parallel: it counts the process's goroutines.
func TestClusterWideRetainNamespaces(t *testing.T) {
	ctx := context.Background()
	kept, idle := cluster.Namespace(t), cluster.Namespace(t)
	clock := &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c, err := New(cluster.Config, Options{
		IdleTimeout: 10 * time.Minute,
		Now:         clock.Now,
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	c.Start(runCtx)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: idle},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "nginx:1.27"}}},
	}
	pod, err = cluster.Client.CoreV1().Pods(idle).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	for _, ns := range []string{kept, idle} {
		if err := c.WatchNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	grown := runtime.NumGoroutine()
	if grown <= base {
		t.Fatalf("watching started no goroutines (%d before, %d after)", base, grown)
	}
	if c.descendantByUID(idle, pod.UID) == nil {
		t.Fatal("the pod is not cached after WatchNamespace")
	}
	both := slices.Sorted(slices.Values([]string{kept, idle}))
	if got := c.Namespaces(); !slices.Equal(got, both) {
		t.Errorf("Namespaces = %v, want %v", got, both)
	}

	clock.Advance(10 * time.Minute)
	if got := c.RetainNamespaces([]string{kept}); !slices.Equal(got, []string{idle}) {
		t.Fatalf("RetainNamespaces released %v, want [%s]", got, idle)
	}
	if got := c.Namespaces(); !slices.Equal(got, []string{kept}) {
		t.Errorf("Namespaces after the release = %v, want [%s]", got, kept)
	}
	if got := descendantWatches(c); len(got) != len(descendants()) {
		t.Errorf("descendant watches after releasing one of two namespaces: %+v", got)
	}
	if c.descendantByUID(idle, pod.UID) == nil {
		t.Error("the pod of the released namespace was dropped while the cluster-wide watches run")
	}
	// Asked for again, the namespace is in use again; nothing starts.
	if err := c.WatchNamespace(ctx, idle); err != nil {
		t.Fatal(err)
	}
	if got := descendantWatches(c); len(got) != len(descendants()) {
		t.Errorf("descendant watches after watching a namespace again: %+v", got)
	}

	// Nothing in use: the cluster-wide watches stop.
	clock.Advance(9 * time.Minute)
	if got := c.RetainNamespaces(nil); len(got) != 0 {
		t.Fatalf("RetainNamespaces released %v 9m after their last use; want nothing", got)
	}
	clock.Advance(time.Minute)
	if got := c.RetainNamespaces(nil); !slices.Equal(got, both) {
		t.Fatalf("RetainNamespaces released %v, want %v", got, both)
	}
	if got := c.Namespaces(); len(got) != 0 {
		t.Errorf("Namespaces with none in use = %v", got)
	}
	if got := descendantWatches(c); len(got) != 0 {
		t.Errorf("descendant watches with no namespace in use: %+v", got)
	}
	if c.descendantByUID(idle, pod.UID) != nil {
		t.Error("the pod is still cached after the cluster-wide watches stopped")
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		n := runtime.NumGoroutine()
		return n <= base+2, fmt.Sprintf("%d goroutines; %d before watching, %d while watching", n, base, grown)
	})

	// Asked for again, the cluster-wide watches start afresh.
	if err := c.WatchNamespace(ctx, kept); err != nil {
		t.Fatal(err)
	}
	if c.descendantByUID(idle, pod.UID) == nil {
		t.Error("the pod is not cached after the cluster-wide watches started again")
	}
}

// TestStripDescendant: the transform of descendant watches drops
// managedFields, the last-applied annotation, volumes and the containers'
// env and mounts, and leaves everything health, the tree's info and
// images, and the indexes read.
func TestStripDescendant(t *testing.T) {
	t.Parallel()
	ctr := func(name string) corev1.Container {
		return corev1.Container{
			Name: name, Image: "example.com/" + name + ":1",
			Env:          []corev1.EnvVar{{Name: "A", Value: "1"}},
			EnvFrom:      []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			Ports:        []corev1.ContainerPort{{ContainerPort: 80}},
		}
	}
	sidecar := ctr("sidecar")
	sidecar.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	spec := corev1.PodSpec{
		InitContainers: []corev1.Container{sidecar},
		Containers:     []corev1.Container{ctr("main")},
		Volumes:        []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		NodeName:       "node-1",
		RestartPolicy:  corev1.RestartPolicyAlways,
	}
	meta := metav1.ObjectMeta{
		Name: "x", Namespace: "ns", UID: "uid-x",
		Labels: map[string]string{"app": "x"},
		Annotations: map[string]string{
			lastAppliedAnnotation:               `{"big":"copy"}`,
			"deployment.kubernetes.io/revision": "3",
		},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "x", UID: "uid-owner"}},
		ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate}},
	}
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: meta, Spec: spec,
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "10.0.0.1",
			Conditions:            []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "sidecar", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}},
			ContainerStatuses:     []corev1.ContainerStatus{{Name: "main", Ready: true, RestartCount: 2, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}},
		},
	}
	rs := &appsv1.ReplicaSet{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"}, ObjectMeta: meta,
		Spec:   appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](1), Template: corev1.PodTemplateSpec{Spec: spec}},
		Status: appsv1.ReplicaSetStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1},
	}
	for _, tc := range []struct {
		obj     any
		podSpec []string
	}{
		{pod, []string{"spec"}},
		{rs, []string{"spec", "template", "spec"}},
	} {
		content, err := k8sruntime.DefaultUnstructuredConverter.ToUnstructured(tc.obj)
		if err != nil {
			t.Fatal(err)
		}
		full := &unstructured.Unstructured{Object: content}
		gk := full.GroupVersionKind().GroupKind()
		t.Run(gk.Kind, func(t *testing.T) {
			got, err := stripDescendant(tc.podSpec)(full.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			stripped := got.(*unstructured.Unstructured)
			for _, path := range [][]string{
				{"metadata", "managedFields"},
				{"metadata", "annotations", lastAppliedAnnotation},
				append(slices.Clone(tc.podSpec), "volumes"),
			} {
				if field(stripped.Object, path...) != nil {
					t.Errorf("%v kept", path)
				}
			}
			for _, list := range []string{"initContainers", "containers"} {
				for _, c := range sliceField(stripped.Object, append(slices.Clone(tc.podSpec), list)...) {
					for _, f := range strippedContainerFields {
						if field(c, f) != nil {
							t.Errorf("%s %s: %s kept", list, str(c, "name"), f)
						}
					}
					if str(c, "image") == "" || field(c, "ports") == nil {
						t.Errorf("%s %s: image or ports dropped: %v", list, str(c, "name"), c)
					}
				}
			}
			if stripped.GetAnnotations()["deployment.kubernetes.io/revision"] != "3" || stripped.GetLabels()["app"] != "x" || len(stripped.GetOwnerReferences()) != 1 {
				t.Errorf("metadata that is read was dropped: %v", stripped.Object["metadata"])
			}
			for _, idx := range []cache.IndexFunc{indexByUID, indexByOwner} {
				before, _ := idx(full)
				after, _ := idx(stripped)
				if !slices.Equal(before, after) {
					t.Errorf("index values changed: %v, then %v", before, after)
				}
			}
			wantHealth, _ := health.Check(full)
			gotHealth, _ := health.Check(stripped)
			if gotHealth != wantHealth {
				t.Errorf("health %+v, was %+v", gotHealth, wantHealth)
			}
			if got, want := info(gk, stripped.Object), info(gk, full.Object); !reflect.DeepEqual(got, want) || len(want) == 0 {
				t.Errorf("info %v, was %v", got, want)
			}
			if got, want := images(gk, stripped.Object), images(gk, full.Object); !slices.Equal(got, want) || len(want) != 2 {
				t.Errorf("images %v, was %v", got, want)
			}
		})
	}

	t.Run("metadata only", func(t *testing.T) {
		m := &metav1.PartialObjectMetadata{ObjectMeta: *meta.DeepCopy()}
		got, err := stripDescendant(nil)(m)
		if err != nil {
			t.Fatal(err)
		}
		pm := got.(*metav1.PartialObjectMetadata)
		if pm.ManagedFields != nil || pm.Annotations[lastAppliedAnnotation] != "" || pm.Annotations["deployment.kubernetes.io/revision"] != "3" || pm.UID != "uid-x" {
			t.Errorf("stripped metadata = %+v", pm.ObjectMeta)
		}
	})

	// An EndpointSlice keeps everything but managedFields and the
	// annotation.
	slice := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
		"metadata": map[string]any{"name": "s", "namespace": "ns", "annotations": map[string]any{lastAppliedAnnotation: "{}"}},
		"endpoints": []any{map[string]any{
			"addresses":  []any{"10.0.0.1"},
			"conditions": map[string]any{"ready": true},
			"targetRef":  map[string]any{"kind": "Pod", "name": "x", "namespace": "ns", "uid": "uid-x"},
		}},
	}}
	want := slice.DeepCopy()
	delete(want.Object["metadata"].(map[string]any), "annotations")
	if got, _ := stripDescendant(nil)(slice); !reflect.DeepEqual(got.(*unstructured.Unstructured).Object, want.Object) {
		t.Errorf("stripped EndpointSlice = %v, want %v", got, want)
	}
}

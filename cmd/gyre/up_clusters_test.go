//go:build !nolocalcluster

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/internal/testsupport"
)

// bannerCluster is one workload cluster as the start banner lists it.
type bannerCluster struct{ name, server, kubeconfig string }

// bannerClusters reads the workload clusters from the start banner: lines
// "  clusters    cluster-1  https://…  kubeconfig …" and the ones below.
func bannerClusters(t *testing.T, stdout string) map[string]bannerCluster {
	t.Helper()
	out := map[string]bannerCluster{}
	for l := range strings.SplitSeq(stdout, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "clusters"))
		if len(f) == 4 && strings.HasPrefix(f[0], "cluster-") && f[2] == "kubeconfig" {
			out[f[0]] = bannerCluster{name: f[0], server: f[1], kubeconfig: f[3]}
		}
	}
	return out
}

// oneNode lists the nodes through cfg and checks there is the one
// simulated node a workload cluster has.
func oneNode(t *testing.T, what string, cfg *rest.Config) {
	t.Helper()
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := c.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("%s: list nodes: %v", what, err)
	}
	if len(nodes.Items) != 1 || nodes.Items[0].Name != "gyre-node-1" {
		t.Fatalf("%s: %d nodes, want the one gyre-node-1", what, len(nodes.Items))
	}
}

// checkWorkloadClusters checks, for each of names, what gyre up promises: a
// banner line with the server and kubeconfig path, a kubeconfig file that
// reaches the cluster, and a cluster Secret in namespace gyre of the main
// cluster that cluster.FromSecret reads into a working client
// configuration for the same server. It returns the servers by name.
func checkWorkloadClusters(t *testing.T, p *upProcess, names ...string) map[string]string {
	t.Helper()
	listed := bannerClusters(t, p.stdout.String())
	if len(listed) != len(names) {
		t.Fatalf("banner lists clusters %v, want %v\n%s", listed, names, p.transcript())
	}
	main := p.client()
	servers := map[string]string{}
	for _, name := range names {
		b, ok := listed[name]
		if !ok {
			t.Fatalf("banner does not list %s\n%s", name, p.stdout.String())
		}
		if want := filepath.Join(p.dataDir, "kubeconfig-"+name); b.kubeconfig != want {
			t.Errorf("banner: %s kubeconfig %s, want %s", name, b.kubeconfig, want)
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", b.kubeconfig)
		if err != nil {
			t.Fatalf("kubeconfig of %s: %v", name, err)
		}
		if cfg.Host != b.server {
			t.Errorf("kubeconfig of %s reaches %s, banner says %s", name, cfg.Host, b.server)
		}
		oneNode(t, "kubeconfig of "+name, cfg)

		s, err := main.CoreV1().Secrets(upNamespace).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("cluster Secret %s: %v", name, err)
		}
		if !cluster.IsClusterSecret(s) {
			t.Errorf("Secret %s has labels %v, not a cluster Secret's", name, s.Labels)
		}
		c, err := cluster.FromSecret(s)
		if err != nil {
			t.Fatalf("cluster Secret %s: %v", name, err)
		}
		if c.Name != name || c.Server != b.server {
			t.Errorf("cluster Secret %s: name %q server %q, want %q %q", name, c.Name, c.Server, name, b.server)
		}
		oneNode(t, "cluster Secret "+name, c.Config)
		servers[name] = b.server
	}
	return servers
}

// TestUpClusters: `gyre up --clusters 2` runs two workload clusters beside
// the main one, lists them in its banner, writes a working kubeconfig for
// each and registers each as a cluster Secret that package cluster reads.
// A restart with --clusters 1 keeps cluster-1 at the same address (its
// Secret and kubeconfig stay valid) and removes cluster-2's Secret.
func TestUpClusters(t *testing.T) {
	needBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)

	start := time.Now()
	p := startUpWith(t, dir, addr, "--clusters", "2", "--examples=false")
	p.waitReady()
	t.Logf("gyre up --clusters 2: banner after %.1fs", time.Since(start).Seconds())
	servers := checkWorkloadClusters(t, p, "cluster-1", "cluster-2")
	if servers["cluster-1"] == servers["cluster-2"] {
		t.Fatalf("both clusters at %s", servers["cluster-1"])
	}
	for _, name := range []string{"cluster-1", "cluster-2"} {
		if _, err := os.Stat(filepath.Join(dir, "clusters", name, "etcd")); err != nil {
			t.Errorf("%s keeps no data under %s: %v", name, dir, err)
		}
	}
	// An object in cluster-1 is there and only there.
	c1 := clientFor(t, filepath.Join(dir, "kubeconfig-cluster-1"))
	uid := createConfigMap(t, c1)
	for _, other := range []kubernetes.Interface{p.client(), clientFor(t, filepath.Join(dir, "kubeconfig-cluster-2"))} {
		if _, err := other.CoreV1().ConfigMaps("default").Get(t.Context(), "kept", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("a ConfigMap created in cluster-1, looked up in another cluster: %v, want not found", err)
		}
	}
	p.stop()

	start = time.Now()
	p = startUpWith(t, dir, addr, "--clusters", "1", "--examples=false")
	p.waitReady()
	t.Logf("gyre up --clusters 1 (restart): banner after %.1fs", time.Since(start).Seconds())
	again := checkWorkloadClusters(t, p, "cluster-1")
	if again["cluster-1"] != servers["cluster-1"] {
		t.Errorf("cluster-1 moved from %s to %s", servers["cluster-1"], again["cluster-1"])
	}
	wantConfigMap(t, clientFor(t, filepath.Join(dir, "kubeconfig-cluster-1")), uid)
	if _, err := p.client().CoreV1().Secrets(upNamespace).Get(t.Context(), "cluster-2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Secret of cluster-2 after a start with --clusters 1: %v, want not found", err)
	}
	p.stop()
}

// TestUpClustersFlag: --clusters out of range is refused before anything
// starts.
func TestUpClustersFlag(t *testing.T) {
	for _, n := range []int{-1, maxUpClusters + 1} {
		err := runUp(t.Context(), upOptions{DataDir: t.TempDir(), Nodes: 1, Clusters: n}, os.Stdout)
		if err == nil || !strings.Contains(err.Error(), "--clusters must be between 0 and") {
			t.Errorf("--clusters %d: %v", n, err)
		}
	}
}

// clientFor returns a client that uses the kubeconfig at path.
func clientFor(t *testing.T, path string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestUpClustersDeploy: an Application in gyre up's namespace with
// destination.name cluster-1 syncs its ConfigMap into cluster-1, and
// not into the main cluster.
func TestUpClustersDeploy(t *testing.T) {
	needBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	repo := testsupport.NewRepo(t)
	repo.Commit("a ConfigMap for cluster-1", map[string]string{
		"fleet/hello.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  greeting: hi\n",
	})
	p := startUpWith(t, dir, freeAddr(t), "--clusters", "1", "--examples=false")
	p.waitReady()
	a := &app.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: app.SchemeGroupVersion().String(), Kind: app.ApplicationKind},
		ObjectMeta: metav1.ObjectMeta{Name: "hello-fleet", Namespace: upNamespace},
		Spec: app.Spec{
			Source:      app.Source{RepoURL: repo.Dir, TargetRevision: "main", Path: "fleet"},
			Destination: app.Destination{Name: "cluster-1", Namespace: "fleet-demo"},
			SyncPolicy: &app.SyncPolicy{
				Automated:   &app.AutomatedSync{Prune: true},
				SyncOptions: app.SyncOptions{string(app.OptionCreateNamespace) + "=true"},
			},
		},
	}
	u, err := a.ToUnstructured()
	if err != nil {
		t.Fatal(err)
	}
	apps := p.dynamicClient().Resource(app.GroupVersionResource()).Namespace(upNamespace)
	if _, err := apps.Create(t.Context(), u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c1 := clientFor(t, filepath.Join(dir, "kubeconfig-cluster-1"))
	testsupport.Eventually(t, syncTimeout, func() (bool, string) {
		got, err := apps.Get(t.Context(), a.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		live, err := app.FromUnstructured(got)
		if err != nil {
			return false, err.Error()
		}
		state := fmt.Sprintf("app %s %s %v", live.Status.Sync.Status, live.Status.Health.Status, live.Status.Conditions)
		cm, err := c1.CoreV1().ConfigMaps("fleet-demo").Get(t.Context(), "hello", metav1.GetOptions{})
		if err != nil {
			return false, state + "; in cluster-1: " + err.Error()
		}
		return cm.Data["greeting"] == "hi" && live.Status.Sync.Status == app.Synced, state
	})
	if _, err := p.client().CoreV1().ConfigMaps("fleet-demo").Get(t.Context(), "hello", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the ConfigMap looked up in the main cluster: %v, want not found", err)
	}
	p.stop()
}

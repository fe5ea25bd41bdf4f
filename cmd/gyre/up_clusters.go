//go:build !nolocalcluster

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/localcluster"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The workload clusters of `gyre up --clusters N`: N more embedded control
// planes in the same process, each with its own etcd, API server,
// controllers and one simulated node, registered in the main cluster as
// cluster Secrets so that Applications can deploy to them by name.

// maxUpClusters bounds --clusters: each cluster costs ~170 MB and a few
// seconds of start.
const maxUpClusters = 10

// upManagedBy labels the cluster Secrets gyre up writes, so that a later
// start with fewer clusters removes its own and no other.
const upManagedBy = "gyre-up"

// workloadCluster is one of the clusters `gyre up --clusters` runs.
type workloadCluster struct {
	*localcluster.Cluster
	// Name is cluster-<i>: the cluster Secret's name and the cluster's.
	Name string
	// Kubeconfig is <data-dir>/kubeconfig-cluster-<i>, its admin kubeconfig.
	Kubeconfig string
}

// workloadClusterName names the i-th workload cluster, counting from 1.
func workloadClusterName(i int) string { return "cluster-" + strconv.Itoa(i) }

// pendingClusters are workload clusters being started in the background.
type pendingClusters struct {
	done     chan struct{}
	clusters []*workloadCluster // set before done is closed
	err      error              // set before done is closed
}

// startWorkloadClusters starts n workload clusters in the background, all at
// once, with their data under <dataDir>/clusters. It returns at once; wait
// gives the result.
func startWorkloadClusters(ctx context.Context, dataDir string, n int) *pendingClusters {
	p := &pendingClusters{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		clusters := make([]*workloadCluster, n)
		var g errgroup.Group
		for i := range clusters {
			g.Go(func() (err error) {
				clusters[i], err = startWorkloadCluster(ctx, dataDir, workloadClusterName(i+1))
				return err
			})
		}
		p.err = g.Wait()
		p.clusters = slices.DeleteFunc(clusters, func(w *workloadCluster) bool { return w == nil })
	}()
	return p
}

// wait waits until every cluster has started or one has failed.
func (p *pendingClusters) wait(ctx context.Context) ([]*workloadCluster, error) {
	select {
	case <-p.done:
		return p.clusters, p.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stop waits for the start to end and stops the clusters that started, all
// at once. It does nothing on a nil p.
func (p *pendingClusters) stop() {
	if p == nil {
		return
	}
	<-p.done
	var wg sync.WaitGroup
	for _, w := range p.clusters {
		wg.Go(w.Stop)
	}
	wg.Wait()
}

// startWorkloadCluster starts the workload cluster called name in
// <dataDir>/clusters/<name>, on the API address it had the last time, so
// that its kubeconfig and Secret stay valid; the address is kept in the
// file api-address in its data dir. If another program has taken that
// port since, the cluster moves to a free one, and the kubeconfig and
// Secret written at this start say so.
func startWorkloadCluster(ctx context.Context, dataDir, name string) (*workloadCluster, error) {
	dir := filepath.Join(dataDir, "clusters", name)
	addrFile := filepath.Join(dir, "api-address")
	opts := localcluster.Options{DataDir: dir, APIAddress: "127.0.0.1:0", Nodes: 1}
	if b, err := os.ReadFile(addrFile); err == nil && strings.TrimSpace(string(b)) != "" {
		opts.APIAddress = strings.TrimSpace(string(b))
	}
	c, err := localcluster.Start(ctx, opts)
	if errors.Is(err, localcluster.ErrAddressInUse) && opts.APIAddress != "127.0.0.1:0" {
		opts.APIAddress = "127.0.0.1:0"
		c, err = localcluster.Start(ctx, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	w := &workloadCluster{Cluster: c, Name: name, Kubeconfig: filepath.Join(dataDir, "kubeconfig-"+name)}
	if err := w.writeFiles(addrFile); err != nil {
		c.Stop()
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	return w, nil
}

// writeFiles records the cluster's API address in addrFile and writes its
// admin kubeconfig, with context, cluster and user named gyre-<name> so
// that it merges with the main cluster's.
func (w *workloadCluster) writeFiles(addrFile string) error {
	u, err := url.Parse(w.URL())
	if err != nil {
		return err
	}
	if err := os.WriteFile(addrFile, []byte(u.Host+"\n"), 0o600); err != nil {
		return err
	}
	cfg := w.RESTConfig()
	ctxName := "gyre-" + w.Name
	kc := clientcmdapi.NewConfig()
	kc.Clusters[ctxName] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[ctxName+"-admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts[ctxName] = &clientcmdapi.Context{Cluster: ctxName, AuthInfo: ctxName + "-admin", Namespace: "default"}
	kc.CurrentContext = ctxName
	if err := clientcmd.WriteToFile(*kc, w.Kubeconfig); err != nil {
		return fmt.Errorf("kubeconfig %s: %w", w.Kubeconfig, err)
	}
	return nil
}

// clusterSecret returns the cluster Secret of a cluster called name,
// reached at cfg.Host with cfg's client certificate, in namespace ns.
func clusterSecret(name, ns string, cfg *rest.Config) (*corev1ac.SecretApplyConfiguration, error) {
	conf, err := json.Marshal(cluster.Config{TLSClientConfig: cluster.TLSConfig{CAData: cfg.CAData, CertData: cfg.CertData, KeyData: cfg.KeyData}})
	if err != nil {
		return nil, err
	}
	return corev1ac.Secret(name, ns).
		WithLabels(map[string]string{cluster.LabelSecretType: cluster.SecretTypeCluster, "app.kubernetes.io/managed-by": upManagedBy}).
		WithType(corev1.SecretTypeOpaque).
		WithData(map[string][]byte{
			cluster.KeyName:   []byte(name),
			cluster.KeyServer: []byte(cfg.Host),
			cluster.KeyConfig: conf,
		}), nil
}

// registerWorkloadClusters writes a cluster Secret for each workload cluster
// into gyre up's namespace of the main cluster (server-side apply, so a
// restart rewrites them), and removes the ones an earlier start with more
// clusters wrote.
func registerWorkloadClusters(ctx context.Context, main *rest.Config, clusters []*workloadCluster) error {
	client, err := kubernetes.NewForConfig(main)
	if err != nil {
		return err
	}
	if len(clusters) > 0 {
		if err := ensureNamespace(ctx, main, upNamespace); err != nil {
			return err
		}
	}
	keep := map[string]bool{}
	for _, w := range clusters {
		s, err := clusterSecret(w.Name, upNamespace, w.RESTConfig())
		if err != nil {
			return err
		}
		if _, err := client.CoreV1().Secrets(upNamespace).Apply(ctx, s, metav1.ApplyOptions{FieldManager: upManagedBy, Force: true}); err != nil {
			return fmt.Errorf("Secret %s/%s: %w", upNamespace, w.Name, err)
		}
		keep[w.Name] = true
	}
	sel := labels.Set{cluster.LabelSecretType: cluster.SecretTypeCluster, "app.kubernetes.io/managed-by": upManagedBy}.String()
	old, err := client.CoreV1().Secrets(upNamespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("Secrets in %s: %w", upNamespace, err)
	}
	for _, s := range old.Items {
		if keep[s.Name] {
			continue
		}
		if err := client.CoreV1().Secrets(upNamespace).Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("Secret %s/%s: %w", upNamespace, s.Name, err)
		}
	}
	return nil
}

// clusterBanner is the part of the start banner that lists the workload
// clusters.
func clusterBanner(clusters []*workloadCluster) string {
	if len(clusters) == 0 {
		return ""
	}
	var b strings.Builder
	for i, w := range clusters {
		label := ""
		if i == 0 {
			label = "clusters"
		}
		fmt.Fprintf(&b, "  %-10s  %s  %s  kubeconfig %s\n", label, w.Name, w.URL(), w.Kubeconfig)
	}
	fmt.Fprintf(&b, "              1 simulated node each; registered as cluster Secrets in namespace %s,\n", upNamespace)
	fmt.Fprintf(&b, "              deploy to one with destination.name: %s\n", clusters[0].Name)
	return b.String()
}

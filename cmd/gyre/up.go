//go:build !nolocalcluster

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/examples"
	"github.com/gyre-cd/gyre/localcluster"
	"github.com/gyre-cd/gyre/web"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// upOptions are the flags of `gyre up`.
type upOptions struct {
	DataDir  string
	APIAddr  string
	Nodes    int
	Clusters int
	Examples bool
	// Agent runs gyre's reconcile loop and web server on the cluster;
	// without it `gyre up` is the cluster alone, for a `gyre serve`
	// elsewhere (and the benchmarks).
	Agent bool
	agentOptions
	httpOptions
}

// upNamespace is where `gyre up` keeps its own Applications.
const upNamespace = "gyre"

func newUpCommand() *cobra.Command {
	o := upOptions{DataDir: defaultDataDir(), APIAddr: "127.0.0.1:7443", Nodes: 3, Examples: true, Agent: true, agentOptions: agentOptions{
		ResyncPeriod: 3 * time.Minute,
		PollInterval: 10 * time.Second,
	}, httpOptions: httpOptions{Addr: "127.0.0.1:8080"}}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run an embedded Kubernetes control plane with gyre on it",
		Long: `up starts a real Kubernetes control plane inside this process (etcd,
kube-apiserver, kube-controller-manager's controllers) with simulated nodes, so
gyre can be tried on a machine with nothing else installed. Pods are scheduled
and reported Running and Ready, but their containers do not run.

With --clusters N it also runs N small workload clusters (one simulated node
each) in the same process, registered as cluster Secrets cluster-1 … cluster-N
in namespace gyre, so Applications can deploy to them with
destination.name: cluster-1; their kubeconfigs are written beside the main one.

Everything is kept in --data-dir; the next start on the same directory finds
every object again. Stop with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runUp(ctx, o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data-dir", o.DataDir, "directory for the cluster's data, certificates, kubeconfig and logs")
	f.StringVar(&o.APIAddr, "api-addr", o.APIAddr, "address the Kubernetes API server listens on")
	f.IntVar(&o.Nodes, "nodes", o.Nodes, "number of simulated nodes")
	f.IntVar(&o.Clusters, "clusters", o.Clusters, fmt.Sprintf("number of additional workload clusters to run and register as cluster-1…N (0 to %d)", maxUpClusters))
	f.BoolVar(&o.Examples, "examples", o.Examples, "deploy the bundled example Applications (on first start)")
	f.BoolVar(&o.Agent, "agent", o.Agent, "run gyre's agent and web UI on the cluster; --agent=false runs the cluster alone, like kind, for a gyre serve elsewhere")
	f.StringVar(&o.Addr, "addr", o.Addr, "address of the web UI, API, webhooks and metrics")
	o.addFlags(f)
	return cmd
}

func runUp(ctx context.Context, o upOptions, out io.Writer) error {
	upStart := time.Now()
	if o.Nodes < 1 {
		return fmt.Errorf("--nodes must be at least 1, got %d", o.Nodes)
	}
	if o.Clusters < 0 || o.Clusters > maxUpClusters {
		return fmt.Errorf("--clusters must be between 0 and %d, got %d", maxUpClusters, o.Clusters)
	}
	c, err := localcluster.Start(ctx, localcluster.Options{DataDir: o.DataDir, APIAddress: o.APIAddr, Nodes: o.Nodes})
	if err != nil {
		return err
	}
	// The workload clusters start while the agent and the web server do;
	// the main cluster went first, so its apiserver.log gets the
	// component logs of the process (see localcluster).
	var workloads *pendingClusters
	if o.Clusters > 0 {
		workloads = startWorkloadClusters(ctx, c.DataDir(), o.Clusters)
	}
	defer func() {
		fmt.Fprintln(out, "gyre up: stopping")
		start := time.Now()
		workloads.stop()
		c.Stop()
		fmt.Fprintf(out, "gyre up: stopped (%.1fs); the data dir keeps every object for the next start\n", time.Since(start).Seconds())
	}()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if !o.Agent {
		return runClusterOnly(ctx, c, workloads, o, out, log)
	}
	o.CacheDir = filepath.Join(c.DataDir(), "git-cache")
	o.SystemNamespace = upNamespace
	o.AllowFileRepos = true // the bundled examples and local repositories
	tel, err := newTelemetry()
	if err != nil {
		return err
	}
	agentCtx, stopAgent := context.WithCancel(ctx)
	defer stopAgent()
	a, err := startAgent(agentCtx, c.RESTConfig(), o.agentOptions, tel.hooks(), log)
	if err != nil {
		return err
	}
	if err := a.waitReady(ctx, time.Minute); err != nil {
		return err
	}
	token, err := readOrCreateSecret(filepath.Join(c.DataDir(), "admin-token"))
	if err != nil {
		return err
	}
	// One secret per provider, so that a secret one git host knows cannot
	// sign for another.
	webhooks := web.StaticWebhookSecrets{}
	for _, p := range web.Providers() {
		secret, err := readOrCreateSecret(webhookSecretPath(c.DataDir(), p))
		if err != nil {
			return err
		}
		webhooks[string(p)] = []byte(secret)
	}
	tokens := web.StaticTokens{token: {Name: "admin", Role: web.RoleAdmin}}
	addr, webDone, err := serveHTTP(agentCtx, c.RESTConfig(), a, tel, o.httpOptions, tokens, webhooks, log)
	if err != nil {
		return err
	}
	server := baseURL(addr, o.TLSCert != "")
	cliPath := defaultCLIConfigPath()
	if err := saveCLIConfig(cliPath, cliConfig{Server: server, Token: token, Namespace: upNamespace}); err != nil {
		log.Warn("could not write the CLI config", "path", cliPath, "err", err)
	}
	var apps []string
	if o.Examples {
		if apps, err = deployExamples(ctx, c, time.Now()); err != nil {
			return err
		}
	}
	var clusters []*workloadCluster
	if workloads != nil {
		if clusters, err = workloads.wait(ctx); err != nil {
			return err
		}
		log.Info("workload clusters started", "clusters", len(clusters), "elapsed", time.Since(upStart).Round(100*time.Millisecond))
	}
	if err := registerWorkloadClusters(ctx, c.RESTConfig(), clusters); err != nil {
		return err
	}
	fmt.Fprintf(out, `gyre up: Kubernetes %s is ready (%.1fs)
  web UI      %s/#token=%s
  API server  %s
  kubeconfig  %s
  data dir    %s  (component logs in %s)
  nodes       %d simulated: pods are scheduled and shown Running, but containers do not run
%s`, localcluster.KubeVersion(), c.ReadyAfter().Seconds(), server, token, c.URL(), c.KubeconfigPath(), c.DataDir(), c.LogPath(), o.Nodes, clusterBanner(clusters))
	if len(apps) > 0 {
		fmt.Fprintf(out, "  apps        %s in namespace %s, from the git repository %s\n", strings.Join(apps, ", "), upNamespace, filepath.Join(c.DataDir(), "examples"))
	}
	fmt.Fprintf(out, `The admin token is in %s; the CLI is set up to use it (%s):
                            gyre app list
Webhooks:                   POST %s/api/webhook, each provider with its own secret,
                            in %s (%s)
To use kubectl:             export KUBECONFIG=%s
                            kubectl get applications -n %s
To manage a real cluster:   gyre serve --kubeconfig ~/.kube/config
Press Ctrl-C to stop.
`, filepath.Join(c.DataDir(), "admin-token"), cliPath, server, webhookSecretPath(c.DataDir(), "<provider>"), providerList(), c.KubeconfigPath(), upNamespace)
	select {
	case <-ctx.Done():
		stopAgent()
		<-a.done
		<-webDone
		return nil
	case err := <-a.done:
		return fmt.Errorf("reconcile loop stopped: %v", err)
	case err := <-webDone:
		return fmt.Errorf("web server stopped: %v", err)
	}
}

// runClusterOnly is `gyre up --agent=false`: the cluster (and workload
// clusters, registered as cluster Secrets) until ctx ends, with no agent,
// web server or examples.
func runClusterOnly(ctx context.Context, c *localcluster.Cluster, workloads *pendingClusters, o upOptions, out io.Writer, log *slog.Logger) error {
	// Without the agent, --pprof-addr profiles the control plane.
	if o.PprofAddr != "" {
		if err := servePprof(ctx, o.PprofAddr, log); err != nil {
			return err
		}
	}
	var clusters []*workloadCluster
	if workloads != nil {
		var err error
		if clusters, err = workloads.wait(ctx); err != nil {
			return err
		}
	}
	if err := registerWorkloadClusters(ctx, c.RESTConfig(), clusters); err != nil {
		return err
	}
	fmt.Fprintf(out, `gyre up: Kubernetes %s is ready (%.1fs), without gyre's agent
  API server  %s
  kubeconfig  %s
  data dir    %s  (component logs in %s)
  nodes       %d simulated: pods are scheduled and shown Running, but containers do not run
%sTo run gyre against it:     gyre serve --kubeconfig %s
Press Ctrl-C to stop.
`, localcluster.KubeVersion(), c.ReadyAfter().Seconds(), c.URL(), c.KubeconfigPath(), c.DataDir(), c.LogPath(), o.Nodes, clusterBanner(clusters), c.KubeconfigPath())
	<-ctx.Done()
	return nil
}

// webhookSecretPath is the file `gyre up` keeps the webhook secret of
// provider p in.
func webhookSecretPath(dataDir string, p web.Provider) string {
	return filepath.Join(dataDir, "webhook-secret-"+string(p))
}

// providerList names the webhook providers, comma-separated.
func providerList() string {
	var names []string
	for _, p := range web.Providers() {
		names = append(names, string(p))
	}
	return strings.Join(names, ", ")
}

// deployExamples creates, on first start, a git repository of the bundled
// examples in the data dir and an Application for each. Applications that
// exist already are left as they are: the user may have changed them.
func deployExamples(ctx context.Context, c *localcluster.Cluster, now time.Time) ([]string, error) {
	repoDir := filepath.Join(c.DataDir(), "examples")
	if _, err := examples.Seed(repoDir, now); err != nil {
		return nil, err
	}
	if err := ensureNamespace(ctx, c.RESTConfig(), upNamespace); err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		return nil, err
	}
	var names []string
	for _, a := range examples.Applications(repoDir, upNamespace) {
		u, err := a.ToUnstructured()
		if err != nil {
			return nil, err
		}
		_, err = dyn.Resource(app.GroupVersionResource()).Namespace(upNamespace).Create(ctx, u, metav1.CreateOptions{FieldManager: "gyre-up"})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("application %s: %w", a.Name, err)
		}
		names = append(names, a.Name)
	}
	return names, nil
}

// ensureNamespace creates namespace ns unless it exists.
func ensureNamespace(ctx context.Context, cfg *rest.Config, ns string) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
	if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Apply(ctx, ns, u, metav1.ApplyOptions{FieldManager: upManagedBy}); err != nil {
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	return nil
}

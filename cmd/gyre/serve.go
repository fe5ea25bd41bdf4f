package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// serveOptions are the flags of `gyre serve`.
type serveOptions struct {
	Kubeconfig string
	agentOptions
}

func newServeCommand() *cobra.Command {
	o := serveOptions{agentOptions: agentOptions{
		CacheDir:     filepath.Join(os.TempDir(), "gyre-git-cache"),
		Workers:      8,
		ResyncPeriod: 3 * time.Minute,
		PollInterval: time.Minute,

		LeaderElectionNamespace: os.Getenv("POD_NAMESPACE"),
		LeaderElectionID:        "gyre-leader",
	}}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run gyre against a cluster",
		Long: `serve runs gyre's reconcile loop against a Kubernetes cluster: the one
--kubeconfig names, else the in-cluster service account, else $KUBECONFIG or
~/.kube/config. It installs the Application CRD and keeps every Application
compared with git.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runServe(ctx, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to manage (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)")
	f.StringVar(&o.CacheDir, "cache-dir", o.CacheDir, "directory for the git cache")
	f.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "elect one replica to reconcile (the others serve the API and take over on loss)")
	f.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "namespace of the leader Lease (default: $POD_NAMESPACE)")
	f.StringVar(&o.LeaderElectionID, "leader-election-id", o.LeaderElectionID, "name of the leader Lease")
	o.addFlags(f)
	return cmd
}

func runServe(ctx context.Context, o serveOptions) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if o.LeaderElect && o.LeaderElectionNamespace == "" {
		return fmt.Errorf("--leader-elect needs --leader-election-namespace (or $POD_NAMESPACE)")
	}
	cfg, err := clusterConfig(o.Kubeconfig)
	if err != nil {
		return err
	}
	a, err := startAgent(ctx, cfg, o.agentOptions, agentHooks{}, log)
	if err != nil {
		return err
	}
	if err := a.waitReady(ctx, 2*time.Minute); err != nil {
		return err
	}
	log.Info("gyre serving", "cluster", cfg.Host)
	return <-a.done
}

// clusterConfig finds the cluster to manage: an explicit kubeconfig, the
// in-cluster service account, or the default kubeconfig loading rules.
func clusterConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w; pass --kubeconfig or run inside a cluster", err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return cfg, nil
}

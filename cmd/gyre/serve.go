package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
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
	httpOptions
	// SecretNamespace holds the token and webhook Secrets.
	SecretNamespace string
	// TokenSecret names a Secret whose keys are "<role>.<name>" with API
	// tokens as values, and "projects.<name>" limiting that name's tokens
	// to projects. It is watched: changes apply at once.
	TokenSecret string
	// AdminTokenFile holds one admin token, for running outside a cluster.
	AdminTokenFile string
	// WebhookSecret names a Secret whose keys are provider names and values
	// webhook secrets. It is watched: changes apply at once.
	WebhookSecret string
}

func newServeCommand() *cobra.Command {
	o := serveOptions{agentOptions: agentOptions{
		CacheDir:     filepath.Join(os.TempDir(), "gyre-git-cache"),
		ResyncPeriod: 3 * time.Minute,
		PollInterval: time.Minute,

		LeaderElectionNamespace: os.Getenv("POD_NAMESPACE"),
		LeaderElectionID:        "gyre-leader",
		SystemNamespace:         cmp.Or(os.Getenv("POD_NAMESPACE"), "gyre"),
	}, httpOptions: httpOptions{Addr: ":8080"}, SecretNamespace: os.Getenv("POD_NAMESPACE")}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run gyre against a cluster",
		Long: `serve runs gyre's reconcile loop against a Kubernetes cluster: the one
--kubeconfig names, else the in-cluster service account, else $KUBECONFIG or
~/.kube/config. It installs the Application CRD and keeps every Application
compared with git.

Unless GOGC is set, serve runs Go's garbage collector at GOGC=50: its
heap grows to half again what it holds, not double, for a little more CPU
while many Applications sync at once and next to none when they are quiet.
GOMEMLIMIT, as the chart sets it from the memory limit, applies as well.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			agentGC()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runServe(ctx, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to manage (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)")
	f.StringVar(&o.CacheDir, "cache-dir", o.CacheDir, "directory for the git cache")
	f.StringVar(&o.SystemNamespace, "system-namespace", o.SystemNamespace, "gyre's own namespace: Projects are read from it, and Applications may put only Applications and Projects there (default: $POD_NAMESPACE, else gyre)")
	f.BoolVar(&o.AllowFileRepos, "allow-file-repos", o.AllowFileRepos, "let Applications read file:// repositories on this machine's disk (never gyre's own git cache)")
	f.StringSliceVar(&o.Namespaces, "namespaces", o.Namespaces, "manage objects only in these namespaces (for namespace-scoped RBAC); default: all")
	f.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "elect one replica to reconcile (the others serve the API and take over on loss)")
	f.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "namespace of the leader Lease (default: $POD_NAMESPACE)")
	f.StringVar(&o.LeaderElectionID, "leader-election-id", o.LeaderElectionID, "name of the leader Lease")
	f.StringVar(&o.Addr, "addr", o.Addr, "address of the web UI, API, webhooks and metrics")
	f.StringVar(&o.TLSCert, "tls-cert", o.TLSCert, "serve HTTPS with this certificate (PEM)")
	f.StringVar(&o.TLSKey, "tls-key", o.TLSKey, "private key of --tls-cert (PEM)")
	f.StringVar(&o.SecretNamespace, "secret-namespace", o.SecretNamespace, "namespace of --token-secret and --webhook-secret (default: $POD_NAMESPACE)")
	f.StringVar(&o.TokenSecret, "token-secret", o.TokenSecret, "Secret of API tokens: keys <role>.<name> (roles admin, readonly), values tokens; keys projects.<name> limit name's tokens to projects (comma-separated); changes apply at once")
	f.StringVar(&o.AdminTokenFile, "admin-token-file", o.AdminTokenFile, "file holding an admin API token (created if missing)")
	f.StringVar(&o.WebhookSecret, "webhook-secret", o.WebhookSecret, "Secret of webhook secrets: keys github, gitlab, gitea, bitbucket, bitbucketserver, generic; changes apply at once")
	o.addFlags(f)
	return cmd
}

// agentGCPercent is the garbage collector's target (GOGC) of gyre serve.
// Most of the agent's heap is what it watches and keeps; at Go's default
// of 100 the heap grows to twice that between collections. At 50, 1,000
// synced Applications settle at about 115 MiB instead of 140, for about a
// tenth more agent CPU while they first sync (see the README's benchmark).
const agentGCPercent = 50

// agentGC sets the garbage collector's target to agentGCPercent unless
// GOGC says otherwise. gyre up keeps Go's default: its control plane
// shares the process.
func agentGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(agentGCPercent)
	}
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
	tokens, webhooks, err := serveSecrets(ctx, cfg, o, log)
	if err != nil {
		return err
	}
	tel, err := newTelemetry()
	if err != nil {
		return err
	}
	a, err := startAgent(ctx, cfg, o.agentOptions, tel.hooks(), log)
	if err != nil {
		return err
	}
	if err := a.waitReady(ctx, 2*time.Minute); err != nil {
		return err
	}
	addr, webDone, err := serveHTTP(ctx, cfg, a, tel, o.httpOptions, tokens, webhooks, log)
	if err != nil {
		return err
	}
	log.Info("gyre serving", "cluster", cfg.Host, "addr", addr.String())
	select {
	case err := <-a.done:
		<-webDone
		return err
	case err := <-webDone:
		if err != nil {
			return fmt.Errorf("web server stopped: %v", err)
		}
		return <-a.done
	}
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
	return cfg, nil
}

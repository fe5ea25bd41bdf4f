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

	"github.com/gyre-cd/gyre/web"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
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
	// TokenSecret names a Secret whose keys are "<role>.<name>" and values
	// API tokens.
	TokenSecret string
	// AdminTokenFile holds one admin token, for running outside a cluster.
	AdminTokenFile string
	// WebhookSecret names a Secret whose keys are provider names and values
	// webhook secrets.
	WebhookSecret string
}

func newServeCommand() *cobra.Command {
	o := serveOptions{agentOptions: agentOptions{
		CacheDir:     filepath.Join(os.TempDir(), "gyre-git-cache"),
		Workers:      8,
		ResyncPeriod: 3 * time.Minute,
		PollInterval: time.Minute,

		LeaderElectionNamespace: os.Getenv("POD_NAMESPACE"),
		LeaderElectionID:        "gyre-leader",
	}, httpOptions: httpOptions{Addr: ":8080"}, SecretNamespace: os.Getenv("POD_NAMESPACE")}
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
	f.StringSliceVar(&o.Namespaces, "namespaces", o.Namespaces, "manage objects only in these namespaces (for namespace-scoped RBAC); default: all")
	f.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "elect one replica to reconcile (the others serve the API and take over on loss)")
	f.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "namespace of the leader Lease (default: $POD_NAMESPACE)")
	f.StringVar(&o.LeaderElectionID, "leader-election-id", o.LeaderElectionID, "name of the leader Lease")
	f.StringVar(&o.Addr, "addr", o.Addr, "address of the web UI, API, webhooks and metrics")
	f.StringVar(&o.TLSCert, "tls-cert", o.TLSCert, "serve HTTPS with this certificate (PEM)")
	f.StringVar(&o.TLSKey, "tls-key", o.TLSKey, "private key of --tls-cert (PEM)")
	f.StringVar(&o.SecretNamespace, "secret-namespace", o.SecretNamespace, "namespace of --token-secret and --webhook-secret (default: $POD_NAMESPACE)")
	f.StringVar(&o.TokenSecret, "token-secret", o.TokenSecret, "Secret of API tokens: keys <role>.<name> (roles admin, readonly), values tokens")
	f.StringVar(&o.AdminTokenFile, "admin-token-file", o.AdminTokenFile, "file holding an admin API token (created if missing)")
	f.StringVar(&o.WebhookSecret, "webhook-secret", o.WebhookSecret, "Secret of webhook secrets: keys github, gitlab, gitea, bitbucket, bitbucketserver, generic")
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
	tokens, webhooks, err := serveSecrets(ctx, cfg, o)
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

// serveSecrets reads the API tokens and webhook secrets `gyre serve` was
// pointed at.
func serveSecrets(ctx context.Context, cfg *rest.Config, o serveOptions) (web.StaticTokens, web.StaticWebhookSecrets, error) {
	tokens := web.StaticTokens{}
	webhooks := web.StaticWebhookSecrets{}
	if o.TokenSecret != "" || o.WebhookSecret != "" {
		if o.SecretNamespace == "" {
			return nil, nil, fmt.Errorf("--token-secret and --webhook-secret need --secret-namespace (or $POD_NAMESPACE)")
		}
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, nil, err
		}
		if o.TokenSecret != "" {
			sec, err := client.CoreV1().Secrets(o.SecretNamespace).Get(ctx, o.TokenSecret, metav1.GetOptions{})
			if err != nil {
				return nil, nil, fmt.Errorf("token secret %s/%s: %w", o.SecretNamespace, o.TokenSecret, err)
			}
			if tokens, err = web.TokensFromSecret(sec); err != nil {
				return nil, nil, err
			}
		}
		if o.WebhookSecret != "" {
			sec, err := client.CoreV1().Secrets(o.SecretNamespace).Get(ctx, o.WebhookSecret, metav1.GetOptions{})
			if err != nil {
				return nil, nil, fmt.Errorf("webhook secret %s/%s: %w", o.SecretNamespace, o.WebhookSecret, err)
			}
			if webhooks, err = web.WebhookSecretsFromSecret(sec); err != nil {
				return nil, nil, err
			}
		}
	}
	if o.AdminTokenFile != "" {
		token, err := readOrCreateSecret(o.AdminTokenFile)
		if err != nil {
			return nil, nil, err
		}
		tokens[token] = web.Identity{Name: "admin", Role: web.RoleAdmin}
	}
	if len(tokens) == 0 {
		return nil, nil, fmt.Errorf("no API tokens: pass --token-secret or --admin-token-file")
	}
	return tokens, webhooks, nil
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

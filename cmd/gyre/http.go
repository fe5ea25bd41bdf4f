package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/gyre-cd/gyre/web"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
)

// httpOptions are the flags of gyre's HTTP server (API, UI, webhooks,
// metrics), shared by `gyre serve` and `gyre up`.
type httpOptions struct {
	Addr    string
	TLSCert string
	TLSKey  string
}

// telemetry is the metrics registry and the collectors the loop feeds.
type telemetry struct {
	registry *prometheus.Registry
	metrics  *web.Metrics
}

func newTelemetry() (*telemetry, error) {
	reg := prometheus.NewRegistry()
	m, err := web.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &telemetry{registry: reg, metrics: m}, nil
}

// hooks connects the loop to the metrics.
func (t *telemetry) hooks() agentHooks {
	return agentHooks{Sync: t.metrics, Git: t.metrics, WrapTransport: t.metrics.WrapTransport}
}

// serveHTTP starts the HTTP server for a running agent and returns the
// address it listens on and a channel that yields once it has stopped.
func serveHTTP(ctx context.Context, cfg *rest.Config, a *agent, t *telemetry, o httpOptions, tokens web.TokenSource, webhooks web.WebhookSecretSource, log *slog.Logger) (net.Addr, <-chan error, error) {
	cluster, err := newWebCluster(cfg, a.reconciler)
	if err != nil {
		return nil, nil, err
	}
	srv, err := web.New(web.Options{
		Backend:        newWebBackend(a.reconciler, a.source),
		Cluster:        cluster,
		Repositories:   a.repositories(),
		Clusters:       a.reconciler.Clusters,
		ClusterStore:   a.clusterStore(),
		Tokens:         tokens,
		WebhookSecrets: webhooks,
		Registry:       t.registry,
		Metrics:        t.metrics,
		Logger:         log,
		Version:        version,
	})
	if err != nil {
		return nil, nil, err
	}
	return startWeb(ctx, o.Addr, srv.Handler(), o.TLSCert, o.TLSKey)
}

// readOrCreateSecret returns the secret kept in path, creating a random one
// (32 bytes, hex) on first use.
func readOrCreateSecret(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		if s := strings.TrimSpace(string(data)); s != "" {
			return s, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	s := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return s, nil
}

// baseURL is the URL the API is reached at from this machine.
func baseURL(addr net.Addr, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host := addr.String()
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		host = net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	return scheme + "://" + host
}

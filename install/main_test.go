package install

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/localcluster/clustertest"
	"github.com/gyre-cd/gyre/source"
	gyresync "github.com/gyre-cd/gyre/sync"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// repoRoot is the repository root: the chart, the Dockerfile and
// app/crd.yaml are read from there.
const repoRoot = ".."

// chartDir is the chart's path inside the repository.
const chartDir = "charts/gyre"

// The tests share one embedded cluster and one reconcile loop.
var (
	cluster    *clustertest.Cluster
	reconciler *gyresync.Reconciler
)

// appsNamespace holds the Applications the shared reconcile loop works on;
// a test that runs a loop of its own keeps its Applications elsewhere.
const appsNamespace = "gyre-test-apps"

func TestMain(m *testing.M) {
	os.Exit(clustertest.Run(m, &cluster, startReconciler))
}

// startReconciler runs a reconcile loop on the cluster, as `gyre serve`
// does, and waits until its caches have synced.
func startReconciler(c *clustertest.Cluster) (func(), error) {
	dir, err := os.MkdirTemp("", "gyre-install-test-")
	if err != nil {
		return nil, err
	}
	opts := source.DefaultOptions(filepath.Join(dir, "git"))
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.AllowFileURLs = true
	src, err := source.New(opts)
	if err != nil {
		return nil, err
	}
	if _, err := c.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: appsNamespace}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	r, err := gyresync.New(c.Config, src, gyresync.Options{Namespace: appsNamespace, Logger: slog.New(slog.DiscardHandler), WaveTimeout: time.Minute})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		select {
		case err := <-done:
			return false, fmt.Errorf("reconciler stopped: %v", err)
		default:
			return r.Ready(), nil
		}
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("reconciler not ready: %w", err)
	}
	reconciler = r
	return func() { cancel(); <-done; os.RemoveAll(dir) }, nil
}

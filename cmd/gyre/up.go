//go:build !nolocalcluster

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gyre-cd/gyre/localcluster"
	"github.com/spf13/cobra"
)

// upOptions are the flags of `gyre up`.
type upOptions struct {
	DataDir string
	APIAddr string
	Nodes   int
}

func newUpCommand() *cobra.Command {
	o := upOptions{DataDir: defaultDataDir(), APIAddr: "127.0.0.1:7443", Nodes: 3}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run an embedded Kubernetes control plane with gyre on it",
		Long: `up starts a real Kubernetes control plane inside this process (etcd,
kube-apiserver, kube-controller-manager's controllers) with simulated nodes, so
gyre can be tried on a machine with nothing else installed. Pods are scheduled
and reported Running and Ready, but their containers do not run.

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
	return cmd
}

func runUp(ctx context.Context, o upOptions, out io.Writer) error {
	if o.Nodes < 1 {
		return fmt.Errorf("--nodes must be at least 1, got %d", o.Nodes)
	}
	c, err := localcluster.Start(ctx, localcluster.Options{DataDir: o.DataDir, APIAddress: o.APIAddr, Nodes: o.Nodes})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, `gyre up: Kubernetes %s is ready (%.1fs)
  API server  %s
  kubeconfig  %s
  data dir    %s  (component logs in %s)
  nodes       %d simulated: pods are scheduled and shown Running, but containers do not run
To use kubectl:             export KUBECONFIG=%s
To manage a real cluster:   gyre serve --kubeconfig ~/.kube/config
Press Ctrl-C to stop.
`, localcluster.KubeVersion(), c.ReadyAfter().Seconds(), c.URL(), c.KubeconfigPath(), c.DataDir(), c.LogPath(), o.Nodes, c.KubeconfigPath())
	<-ctx.Done()
	fmt.Fprintln(out, "gyre up: stopping")
	start := time.Now()
	c.Stop()
	fmt.Fprintf(out, "gyre up: stopped (%.1fs); the data dir keeps every object for the next start\n", time.Since(start).Seconds())
	return nil
}

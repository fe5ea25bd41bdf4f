package localcluster

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	"k8s.io/kubernetes/cmd/kube-apiserver/app/options"
)

// Addresses inside the simulated cluster network.
const (
	serviceCIDR  = "10.96.0.0/16"
	serviceAPIIP = "10.96.0.1"
)

// shutdownTimeout bounds how long a stopping kube-apiserver waits for the
// requests it is serving.
const shutdownTimeout = 2 * time.Second

// startAPIServer builds the real kube-apiserver (with the aggregator and the
// apiextensions server in its chain) serving on ln and backed by etcd at
// etcdURL, and runs it until ctx is done. The returned channel yields the
// server's exit error once it has shut down. Several clusters' API servers
// may run in one process; they are built one at a time (see buildMu).
func startAPIServer(ctx context.Context, ln net.Listener, etcdURL string, p *pki) (<-chan error, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	s := options.NewServerRunOptions()
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, f := range s.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--advertise-address=127.0.0.1",
		"--cert-dir=" + p.dir,
		"--tls-cert-file=" + p.path(servingCertFile),
		"--tls-private-key-file=" + p.path(servingKeyFile),
		"--client-ca-file=" + p.path(caCertFile),
		"--service-cluster-ip-range=" + serviceCIDR,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.path(saKeyFile),
		"--service-account-signing-key-file=" + p.path(saKeyFile),
		"--authorization-mode=RBAC",
		"--endpoint-reconciler-type=none",
		// No node lifecycle controller runs to lift the not-ready taint that
		// this plugin puts on new nodes; the simulated nodes are Ready at once.
		"--disable-admission-plugins=TaintNodesByCondition",
		"--allow-privileged=true",
		"--shutdown-delay-duration=0s",
		"--profiling=false",
		"--enable-priority-and-fairness=false",
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("kube-apiserver flags: %w", err)
	}
	s.SecureServing.Listener = ln
	s.SecureServing.BindPort = port
	s.SecureServing.ExternalAddress = net.ParseIP("127.0.0.1")

	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return nil, fmt.Errorf("kube-apiserver feature gates: %w", err)
	}
	completed, err := s.Complete(ctx)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver options: %w", err)
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return nil, fmt.Errorf("kube-apiserver options: %w", utilerrors.NewAggregate(errs))
	}
	cfg, err := app.NewConfig(completed)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver config: %w", err)
	}
	cc, err := cfg.Complete()
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver config: %w", err)
	}
	server, err := app.CreateServerChain(cc)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver: %w", err)
	}
	// A stopping cluster waits this long for requests in flight, watches
	// included, instead of the minute a production API server gives its
	// load balancer: gyre up stops when asked, whoever is still watching.
	server.GenericAPIServer.ShutdownTimeout = shutdownTimeout
	prepared, err := server.PrepareRun()
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- prepared.Run(ctx) }()
	return done, nil
}

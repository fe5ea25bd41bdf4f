package localcluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/component-base/configz"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
)

// DefaultControllers returns the kube-controller-manager controllers the
// embedded cluster runs: the workload controllers, garbage collection,
// namespaces, service accounts and endpoints. Node, volume and cloud
// controllers are left out; the simulated nodes stand in for them.
func DefaultControllers() []string {
	return []string{
		"deployment-controller",
		"replicaset-controller",
		"statefulset-controller",
		"daemonset-controller",
		"job-controller",
		"cronjob-controller",
		"garbage-collector-controller",
		"namespace-controller",
		"serviceaccount-controller",
		"endpointslice-controller",
		"disruption-controller",
		"ttl-after-finished-controller",
		"root-ca-certificate-publisher-controller",
		"clusterrole-aggregation-controller",
		"horizontal-pod-autoscaler-controller",
	}
}

// startControllerManager runs kube-controller-manager's controllers in this
// process until ctx is done. The returned channel yields Run's error once the
// controllers have stopped. Several clusters' controller managers may run in
// one process; they are built one at a time (see buildMu).
func startControllerManager(ctx context.Context, kubeconfig string, p *pki, controllers []string) (<-chan error, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	s, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, fmt.Errorf("kube-controller-manager options: %w", err)
	}
	fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
	for _, f := range s.Flags(kcm.KnownControllers(), kcm.ControllersDisabledByDefault(), kcm.ControllerAliases()).FlagSets {
		fs.AddFlagSet(f)
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--controllers=" + strings.Join(controllers, ","),
		"--leader-elect=false",
		"--secure-port=0",
		"--service-account-private-key-file=" + p.path(saKeyFile),
		"--root-ca-file=" + p.path(caCertFile),
		"--kube-api-qps=500",
		"--kube-api-burst=1000",
		"--controller-shutdown-timeout=2s",
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("kube-controller-manager flags: %w", err)
	}
	cfg, err := s.Config(ctx, kcm.KnownControllers(), kcm.ControllersDisabledByDefault(), kcm.ControllerAliases())
	if err != nil {
		return nil, fmt.Errorf("kube-controller-manager config: %w", err)
	}
	// Run registers two things under fixed, process-wide names and fails
	// if either is taken: its configuration page (configz) and its
	// informers' name. Either may be held by a previous run (a restart) or
	// by another cluster's controller manager. Nothing serves the page (no
	// secure port) and the informer name only decides which informers
	// publish metrics, so the holder's are dropped; and before the next
	// build may drop this run's, it waits until this run has registered.
	configz.Delete(kcm.ConfigzName)
	releaseInformerName(kcmInformerName)
	done := make(chan error, 1)
	go func() { done <- kcm.Run(ctx, cfg.Complete()) }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for heldInformerName(kcmInformerName) == nil {
		select {
		case err := <-done:
			if err == nil {
				err = errors.New("stopped at once")
			}
			return nil, fmt.Errorf("kube-controller-manager: %w", err)
		case <-ctx.Done():
			return done, ctx.Err()
		case <-deadline:
			return done, errors.New("kube-controller-manager did not start within 30s")
		case <-tick.C:
		}
	}
	return done, nil
}

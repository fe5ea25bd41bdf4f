package localcluster

import (
	"context"
	"fmt"
	"strings"

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
// controllers have stopped.
func startControllerManager(ctx context.Context, kubeconfig string, p *pki, controllers []string) (<-chan error, error) {
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
	// Run registers its configuration page by name; a second run in the same
	// process (a restart) must remove the first one's.
	configz.Delete(kcm.ConfigzName)
	done := make(chan error, 1)
	go func() { done <- kcm.Run(ctx, cfg.Complete()) }()
	return done, nil
}

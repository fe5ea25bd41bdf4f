package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/health"
	"github.com/gyre-cd/gyre/helmrepo"
	"github.com/gyre-cd/gyre/render"
	"github.com/gyre-cd/gyre/source"
	gyresync "github.com/gyre-cd/gyre/sync"
	"github.com/gyre-cd/gyre/web"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// agentOptions are the flags shared by `gyre serve` and `gyre up` that shape
// the reconcile loop.
type agentOptions struct {
	CacheDir string
	// SystemNamespace is gyre's own namespace (Projects live there).
	SystemNamespace string
	// AllowFileRepos lets Applications read file:// repositories.
	AllowFileRepos bool
	Namespace      string
	Namespaces     []string
	Workers        int
	// KubeQPS and KubeBurst bound the requests each client of a cluster
	// makes (client-go's token bucket): the reconcile loop's writes, the
	// Application status writes and the watches each have one.
	KubeQPS      float64
	KubeBurst    int
	ResyncPeriod time.Duration
	PollInterval time.Duration
	// GitTimeout bounds each ref listing and fetch (source.Options.Timeout).
	GitTimeout time.Duration

	LeaderElect             bool
	LeaderElectionNamespace string
	LeaderElectionID        string

	// RenderTimeout, RenderMemory and RenderWorkers configure the render
	// sandbox (render.SandboxOptions).
	RenderTimeout time.Duration
	RenderMemory  byteSize
	RenderWorkers int

	// HealthScripts is a directory of Lua health checks laid out like Argo
	// CD's resource_customizations; the ConfigMaps gyre-cm and argocd-cm
	// in SystemNamespace add to it and win over it.
	HealthScripts string

	// PprofAddr, when set, is where Go's profiles are served
	// (net/http/pprof), apart from the API: they reveal internals.
	PprofAddr string
}

// agentHooks connect the loop to metrics. Any may be nil.
type agentHooks struct {
	Sync          gyresync.Observer
	Git           source.Observer
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// agent is a running reconcile loop.
type agent struct {
	reconciler *gyresync.Reconciler
	source     *source.Cache
	clusters   *cluster.Registry
	// clusterSecrets writes cluster Secrets for the API; nil without a
	// system namespace to keep them in.
	clusterSecrets *clusterStore
	charts         *helmrepo.Cache
	// creds are the repository credentials Secrets; nil without a system
	// namespace.
	creds *repoCredentials
	done  chan error
}

// clusterStore is what the API writes cluster Secrets through; nil without
// a system namespace.
func (a *agent) clusterStore() web.ClusterStore {
	if a.clusterSecrets == nil {
		return nil
	}
	return a.clusterSecrets
}

// repositories is what the API manages repository credentials through;
// nil without a system namespace to keep them in.
func (a *agent) repositories() web.Repositories {
	if a.creds == nil {
		return nil
	}
	return &repoStore{creds: a.creds, src: a.source, charts: a.charts}
}

// startAgent builds the git cache and the reconciler for the cluster at cfg
// and runs the loop until ctx is done. With leader election, every replica
// watches (and so can serve the API) but only the leader reconciles.
func startAgent(ctx context.Context, cfg *rest.Config, o agentOptions, hooks agentHooks, log *slog.Logger) (*agent, error) {
	o.setMachineDefaults()
	if o.PprofAddr != "" {
		if err := servePprof(ctx, o.PprofAddr, log); err != nil {
			return nil, err
		}
	}
	srcOpts := source.DefaultOptions(o.CacheDir)
	srcOpts.Logger = log
	srcOpts.Observer = hooks.Git
	srcOpts.AllowFileURLs = o.AllowFileRepos
	if o.PollInterval > 0 {
		srcOpts.PollInterval = o.PollInterval
		// The default jitter (6s) is a tenth of the default interval; a
		// shorter --git-poll gets a tenth of its own, not ±6s.
		srcOpts.PollJitter = 0
	}
	if o.GitTimeout > 0 {
		srcOpts.Timeout = o.GitTimeout
	}
	var creds *repoCredentials
	var client kubernetes.Interface
	if o.SystemNamespace != "" {
		var err error
		if client, err = kubernetes.NewForConfig(cfg); err != nil {
			return nil, err
		}
		if creds, err = watchRepoCredentials(ctx, client, o.SystemNamespace, log); err != nil {
			return nil, err
		}
		srcOpts.Credentials = creds
	}
	src, err := source.New(srcOpts)
	if err != nil {
		return nil, fmt.Errorf("git cache %s: %w", o.CacheDir, err)
	}
	chartOpts := helmrepo.Options{Dir: filepath.Join(o.CacheDir, "charts"), PollInterval: o.PollInterval, Timeout: o.GitTimeout, Observer: hooks.Git, Logger: log}
	if creds != nil {
		chartOpts.Credentials = creds.lookup
	}
	charts, err := helmrepo.New(chartOpts)
	if err != nil {
		return nil, fmt.Errorf("chart cache %s: %w", chartOpts.Dir, err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = float32(o.KubeQPS), o.KubeBurst
	// Every watch stream the API server compresses holds a gzip reader
	// (about 40 KiB) here and costs both sides CPU per event; between a
	// controller and its API server, bandwidth is the cheaper resource.
	cfg.DisableCompression = true
	if hooks.WrapTransport != nil {
		cfg.Wrap(hooks.WrapTransport)
	}
	sandbox, err := render.NewSandbox(render.SandboxOptions{Timeout: o.RenderTimeout, MemoryBytes: int64(o.RenderMemory), Workers: o.RenderWorkers, Logger: log})
	if err != nil {
		return nil, err
	}
	// Destination clusters: the one gyre runs in, and the cluster Secrets
	// in gyre's namespace, followed live.
	clusters := cluster.NewRegistry(cfg, log)
	if client != nil {
		if err := clusters.Watch(ctx, client, o.SystemNamespace); err != nil {
			sandbox.Close()
			return nil, err
		}
	}
	checker := &health.Checker{}
	// One watch of Applications for the loop, ApplicationSets and
	// notifications; the loop's Start runs it once the CRD is installed.
	apps, err := gyresync.NewApplicationsInformer(cfg, o.Namespace)
	if err != nil {
		sandbox.Close()
		return nil, err
	}
	r, err := gyresync.New(cfg, src, gyresync.Options{Applications: apps, Workers: o.Workers, QPS: float32(o.KubeQPS), Burst: o.KubeBurst, ResyncPeriod: o.ResyncPeriod, Namespace: o.Namespace, Namespaces: o.Namespaces, SystemNamespace: o.SystemNamespace, Logger: log, Observer: hooks.Sync, Render: render.CacheOptions{Sandbox: sandbox}, Charts: charts, Health: checker, Clusters: clusters})
	if err != nil {
		sandbox.Close()
		return nil, err
	}
	if err := watchHealthScripts(ctx, client, o.SystemNamespace, o.HealthScripts, checker, log, r.RefreshAll); err != nil {
		sandbox.Close()
		return nil, err
	}
	startNotifications(ctx, cfg, o, hooks, log, apps)
	if err := startAppSets(ctx, cfg, src, clusters, o, log, apps); err != nil {
		sandbox.Close()
		return nil, err
	}
	a := &agent{reconciler: r, source: src, clusters: clusters, charts: charts, creds: creds, done: make(chan error, 1)}
	if client != nil {
		a.clusterSecrets = &clusterStore{secrets: client.CoreV1().Secrets(o.SystemNamespace), ns: o.SystemNamespace, registry: clusters}
	}
	if creds != nil {
		creds.setOnChange(func(old, cur *source.SecretCredentials) { refreshChanged(r, src, old, cur, log) })
	}
	go func() {
		err := runLoop(ctx, cfg, o, log, r)
		sandbox.Close() // the loop has stopped; its render workers go with it
		a.done <- err
	}()
	return a, nil
}

// runLoop starts the reconciler and works its queue until ctx is done: at
// once, or, with leader election, while this replica leads.
func runLoop(ctx context.Context, cfg *rest.Config, o agentOptions, log *slog.Logger, r *gyresync.Reconciler) error {
	if err := r.Start(ctx); err != nil {
		return err
	}
	if !o.LeaderElect {
		r.Work(ctx)
		return nil
	}
	return lead(ctx, cfg, o, log, r.Work)
}

// lead takes part in the election on a Lease and works while it leads. It
// returns nil when ctx ends (releasing the lease), and an error when the
// lead is lost, so that the process exits and starts afresh.
func lead(ctx context.Context, cfg *rest.Config, o agentOptions, log *slog.Logger, work func(context.Context)) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	id, err := os.Hostname()
	if err != nil {
		id = "gyre"
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	id += "-" + hex.EncodeToString(suffix)
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: o.LeaderElectionNamespace, Name: o.LeaderElectionID},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	lost := errors.New("lost the leader lease")
	var result error
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   15 * time.Second,
		RenewDeadline:   10 * time.Second,
		RetryPeriod:     2 * time.Second,
		ReleaseOnCancel: true,
		Name:            o.LeaderElectionID,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				log.Info("leading: reconciling", "identity", id)
				work(ctx)
			},
			OnStoppedLeading: func() {
				if ctx.Err() == nil {
					result = lost
				}
			},
			OnNewLeader: func(leader string) {
				if leader != id {
					log.Info("following: serving only", "leader", leader)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	elector.Run(ctx)
	return result
}

// waitReady blocks until the loop's caches have synced, the loop failed, or
// timeout passed.
func (a *agent) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !a.reconciler.Ready() {
		select {
		case err := <-a.done:
			return fmt.Errorf("reconcile loop stopped: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("reconcile loop not ready after %s", timeout)
		case <-tick.C:
		}
	}
	return nil
}

// addFlags registers the loop's flags; the render flags default to
// render.DefaultSandboxOptions.
func (o *agentOptions) addFlags(f interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
	Float64Var(*float64, string, float64, string)
	DurationVar(*time.Duration, string, time.Duration, string)
	Var(pflag.Value, string, string)
}) {
	o.setMachineDefaults() // so that help shows this machine's values
	f.StringVar(&o.Namespace, "app-namespace", o.Namespace, "watch Applications in this namespace only (default: all)")
	f.IntVar(&o.Workers, "workers", o.Workers, "Applications reconciled at once; sized from this machine: 8 per CPU core, at least 16 and at most 64")
	f.Float64Var(&o.KubeQPS, "kube-qps", o.KubeQPS, "requests per second each Kubernetes client may make on average; sized from this machine: 200 per CPU core, at least 400")
	f.IntVar(&o.KubeBurst, "kube-burst", o.KubeBurst, "requests each Kubernetes client may make at once; sized from this machine: twice --kube-qps")
	f.DurationVar(&o.ResyncPeriod, "resync", o.ResyncPeriod, "how often every Application is compared even without a change")
	f.DurationVar(&o.PollInterval, "git-poll", o.PollInterval, "how often each git repository is checked for new commits")
	f.DurationVar(&o.GitTimeout, "git-timeout", source.DefaultOptions("").Timeout, "how long one ref listing or fetch may take before the repository counts as unreachable")
	d := render.DefaultSandboxOptions()
	o.RenderMemory = byteSize(d.MemoryBytes)
	f.DurationVar(&o.RenderTimeout, "render-timeout", d.Timeout, "how long one render (Helm, kustomize, directory) may take before its worker process is killed")
	f.Var(&o.RenderMemory, "render-memory", "memory budget of each render worker process, as a Kubernetes quantity (512Mi, 1Gi) or a byte count")
	f.IntVar(&o.RenderWorkers, "render-workers", d.Workers, "render worker processes: how many renders of different Applications run at once")
	f.StringVar(&o.PprofAddr, "pprof-addr", o.PprofAddr, "serve Go's profiles (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; off by default, and never on the API's address: they reveal internals")
	f.StringVar(&o.HealthScripts, "health-scripts", o.HealthScripts, "a directory of Lua health checks laid out like Argo CD's resource_customizations (<group>/<kind>/health.lua); the ConfigMaps gyre-cm and argocd-cm in gyre's namespace add to it and win over it")
}

// machineSized returns the defaults of the flags that scale with this
// machine: reconcile workers and the Kubernetes clients' rate limits. A
// worker spends most of its time waiting on the API server, so several per
// core keep the cores busy; the rate limit is there to stop a runaway loop,
// not to pace a healthy one, which the API server's own priority and
// fairness does.
func machineSized() (workers int, qps float64, burst int) {
	cores := runtime.GOMAXPROCS(0) // the CPU a container may use, not the node's
	workers = min(max(8*cores, 16), 64)
	qps = float64(max(200*cores, 400))
	return workers, qps, 2 * int(qps)
}

// setMachineDefaults fills in the machine-sized flags left unset.
func (o *agentOptions) setMachineDefaults() {
	workers, qps, burst := machineSized()
	if o.Workers <= 0 {
		o.Workers = workers
	}
	if o.KubeQPS <= 0 {
		o.KubeQPS = qps
	}
	if o.KubeBurst <= 0 {
		o.KubeBurst = max(burst, int(o.KubeQPS))
	}
}

// byteSize is a flag holding a byte count, written as a Kubernetes
// quantity ("1Gi", "512Mi", "1073741824").
type byteSize int64

var _ pflag.Value = (*byteSize)(nil)

// String prints the size as a binary quantity ("1Gi").
func (b *byteSize) String() string {
	return resource.NewQuantity(int64(*b), resource.BinarySI).String()
}

// Set parses a quantity; it must be a positive whole number of bytes.
func (b *byteSize) Set(s string) error {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return fmt.Errorf("%q is not a quantity of bytes such as 512Mi or 1Gi", s)
	}
	n, ok := q.AsInt64()
	if !ok || n <= 0 {
		return fmt.Errorf("%q is not a positive whole number of bytes", s)
	}
	*b = byteSize(n)
	return nil
}

// Type names the flag's value in help.
func (b *byteSize) Type() string { return "quantity" }

package localcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options configure an embedded cluster.
type Options struct {
	// DataDir holds etcd's data, the cluster's certificates, the admin
	// kubeconfig and the component logs. It is kept across restarts.
	DataDir string
	// APIAddress is the host:port the kube-apiserver listens on; port 0
	// picks a free port. Default 127.0.0.1:0.
	APIAddress string
	// Nodes is the number of simulated nodes. Default 3.
	Nodes int
	// Controllers lists the kube-controller-manager controllers to run.
	// Default DefaultControllers().
	Controllers []string
	// Logger receives gyre's own messages about the cluster. Default discards.
	Logger *slog.Logger
}

// Errors a caller can act on. Each is wrapped with the data dir or address
// it is about.
var (
	// ErrDataDirInUse: another process runs a cluster on the data dir.
	ErrDataDirInUse = errDataDirInUse
	// ErrAddressInUse: the API address is taken by another process.
	ErrAddressInUse = errors.New("already in use")
	// ErrDataDirNotWritable: the data dir cannot be created or written.
	ErrDataDirNotWritable = errors.New("not writable")
	// ErrDataDirCorrupt: etcd could not open the data in the data dir.
	ErrDataDirCorrupt = errors.New("cannot be opened")
)

// Cluster is a running embedded control plane.
type Cluster struct {
	opts       Options
	lock       *dirLock
	etcd       *embed.Etcd
	cancelAPI  context.CancelFunc
	cancelRest context.CancelFunc
	apiDone    <-chan error
	kcmDone    <-chan error
	simDone    chan struct{}
	logFile    *os.File
	config     *rest.Config
	url        string
	kubeconfig string
	readyAfter time.Duration
}

// Start runs etcd, kube-apiserver, the controllers and the simulated nodes,
// and returns once the API server is ready and the nodes are registered.
// Errors are one line and say how to fix the cause.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	start := time.Now()
	if opts.DataDir == "" {
		return nil, errors.New("localcluster: no data dir given")
	}
	if opts.APIAddress == "" {
		opts.APIAddress = "127.0.0.1:0"
	}
	if opts.Nodes <= 0 {
		opts.Nodes = 3
	}
	if len(opts.Controllers) == 0 {
		opts.Controllers = DefaultControllers()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, err
	}
	opts.DataDir = dir
	if err := checkWritable(dir); err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, kubeconfig: filepath.Join(dir, "kubeconfig")}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()

	if c.lock, err = lockDataDir(dir); err != nil {
		if errors.Is(err, errDataDirInUse) {
			return nil, fmt.Errorf("data dir %s: %w; stop the other gyre or choose another --data-dir", dir, err)
		}
		return nil, fmt.Errorf("data dir %s: %w (%v)", dir, ErrDataDirNotWritable, unwrapPathError(err))
	}
	ln, err := net.Listen("tcp", opts.APIAddress)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("API address %s: %w; stop what listens there or choose another port", opts.APIAddress, ErrAddressInUse)
		}
		return nil, fmt.Errorf("API address %s: %w", opts.APIAddress, err)
	}
	c.url = "https://" + ln.Addr().String()

	if c.logFile, err = os.OpenFile(filepath.Join(dir, "apiserver.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("data dir %s: %w (%v)", dir, ErrDataDirNotWritable, unwrapPathError(err))
	}
	redirectComponentLogs(c.logFile)
	setServerVersion()

	p, err := loadOrCreatePKI(filepath.Join(dir, "pki"))
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("data dir %s: %w", dir, err)
	}
	etcdLog := filepath.Join(dir, "etcd.log")
	var etcdURL string
	if c.etcd, etcdURL, err = startEtcd(filepath.Join(dir, "etcd"), etcdLog); err != nil {
		ln.Close()
		return nil, fmt.Errorf("data dir %s: %w: etcd: %v; move the data dir aside or choose another --data-dir (details in %s)", dir, ErrDataDirCorrupt, err, etcdLog)
	}
	opts.Logger.Debug("etcd ready", "elapsed", time.Since(start))

	apiCtx, cancelAPI := context.WithCancel(context.WithoutCancel(ctx))
	c.cancelAPI = cancelAPI
	if c.apiDone, err = startAPIServer(apiCtx, ln, etcdURL, p); err != nil {
		ln.Close()
		return nil, err
	}
	c.config = &rest.Config{
		Host:            c.url,
		TLSClientConfig: rest.TLSClientConfig{CAData: p.caPEM, CertData: p.adminCert, KeyData: p.adminKey},
		QPS:             200,
		Burst:           400,
	}
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	c.readyAfter = time.Since(start)
	opts.Logger.Debug("kube-apiserver ready", "elapsed", time.Since(start))
	if err := writeKubeconfig(c.kubeconfig, c.url, p); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", c.kubeconfig, err)
	}

	restCtx, cancelRest := context.WithCancel(context.WithoutCancel(ctx))
	c.cancelRest = cancelRest
	if c.kcmDone, err = startControllerManager(restCtx, c.kubeconfig, p, opts.Controllers); err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(c.config)
	if err != nil {
		return nil, err
	}
	if err := registerNodes(ctx, client, opts.Nodes); err != nil {
		return nil, err
	}
	sim := newSimulator(client, opts.Nodes, opts.Logger)
	c.simDone = make(chan struct{})
	go func() {
		defer close(c.simDone)
		go renewLeases(restCtx, client, opts.Nodes)
		sim.run(restCtx)
	}()
	opts.Logger.Debug("cluster started", "elapsed", time.Since(start))
	return c, nil
}

// checkWritable creates dir if needed and proves a file can be written in it.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir %s: %w (%v); choose another with --data-dir", dir, ErrDataDirNotWritable, unwrapPathError(err))
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data dir %s: %w (%v); fix its permissions or choose another with --data-dir", dir, ErrDataDirNotWritable, unwrapPathError(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// waitReady polls /readyz until it answers ok, the server fails, or a minute
// has passed.
func (c *Cluster) waitReady(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(c.config)
	if err != nil {
		return err
	}
	rc := client.Discovery().RESTClient()
	deadline := time.Now().Add(time.Minute)
	for {
		var code int
		res := rc.Get().AbsPath("/readyz").Do(ctx)
		res.StatusCode(&code)
		if code == 200 {
			return nil
		}
		select {
		case err := <-c.apiDone:
			return fmt.Errorf("kube-apiserver stopped while starting: %v (details in %s)", err, c.LogPath())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver not ready after a minute (details in %s)", c.LogPath())
		}
	}
}

func writeKubeconfig(path, server string, p *pki) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["gyre"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: p.caPEM}
	cfg.AuthInfos["gyre-admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: p.adminCert, ClientKeyData: p.adminKey}
	cfg.Contexts["gyre"] = &clientcmdapi.Context{Cluster: "gyre", AuthInfo: "gyre-admin", Namespace: "default"}
	cfg.CurrentContext = "gyre"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data, 0o600)
}

// RESTConfig returns a client configuration with cluster-admin rights.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.config) }

// URL returns the API server's address, e.g. https://127.0.0.1:6443.
func (c *Cluster) URL() string { return c.url }

// KubeconfigPath returns the admin kubeconfig file written in the data dir.
func (c *Cluster) KubeconfigPath() string { return c.kubeconfig }

// ReadyAfter returns how long the start took until /readyz answered ok.
func (c *Cluster) ReadyAfter() time.Duration { return c.readyAfter }

// DataDir returns the absolute data dir.
func (c *Cluster) DataDir() string { return c.opts.DataDir }

// LogPath returns the file the Kubernetes components log to: the
// apiserver.log of the earliest started cluster of this process that still
// runs. Their loggers are process-wide, so with several clusters in one
// process, their lines share that file, and the others' apiserver.log says
// where it is.
func (c *Cluster) LogPath() string {
	if p := logSink.current(); p != "" {
		return p
	}
	return filepath.Join(c.opts.DataDir, "apiserver.log")
}

// Stop shuts the cluster down: controllers and nodes first, then the API
// server, then etcd, which closes its data cleanly. It is safe to call on a
// partly started cluster and more than once.
func (c *Cluster) Stop() {
	if c.cancelRest != nil {
		// The controller manager releases its process-wide names as it
		// stops; no other cluster's may be built meanwhile (see buildMu).
		buildMu.Lock()
		c.cancelRest()
		c.cancelRest = nil
		if c.kcmDone != nil {
			waitOrTimeout(c.kcmDone, 10*time.Second)
		}
		buildMu.Unlock()
		if c.simDone != nil {
			<-c.simDone
		}
	}
	if c.cancelAPI != nil {
		c.cancelAPI()
		c.cancelAPI = nil
		waitOrTimeout(c.apiDone, 20*time.Second)
	}
	if c.etcd != nil {
		c.etcd.Close()
		c.etcd = nil
	}
	if c.logFile != nil {
		stopComponentLogs(c.logFile)
		c.logFile.Close()
		c.logFile = nil
	}
	if c.lock != nil {
		c.lock.release()
		c.lock = nil
	}
}

func waitOrTimeout(ch <-chan error, d time.Duration) {
	select {
	case <-ch:
	case <-time.After(d):
	}
}

// String describes the cluster for logs.
func (c *Cluster) String() string {
	return "localcluster " + c.url + " (data " + c.opts.DataDir + ", " + strconv.Itoa(c.opts.Nodes) + " nodes)"
}

package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gyre-cd/gyre/app"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// ErrNotFound is wrapped by Resolve's error for a destination that names no
// known cluster.
var ErrNotFound = errors.New("cluster not found")

// Registry holds the known clusters: the one gyre runs in and those of the
// cluster Secrets in one namespace. It is safe for concurrent use.
type Registry struct {
	home *rest.Config
	log  *slog.Logger

	mu        sync.RWMutex
	byServer  map[string]*Cluster
	invalid   map[string]error // by Secret name: why it is not a cluster
	listeners []func(old, cur *Cluster)
	informers []cache.SharedIndexInformer
	reloaded  chan struct{} // closed and replaced on every reload
}

// NewRegistry returns a Registry that knows only the cluster gyre runs in,
// reached with home. Set adds others; Watch keeps them in step with
// Secrets.
func NewRegistry(home *rest.Config, log *slog.Logger) *Registry {
	if log == nil {
		log = slog.Default()
	}
	r := &Registry{home: home, log: log, reloaded: make(chan struct{})}
	r.set(nil, nil)
	return r
}

// inCluster is the built-in cluster gyre runs in.
func (r *Registry) inCluster() *Cluster {
	return &Cluster{Name: InClusterName, Server: InClusterServer, Config: r.home}
}

// OnChange registers f to hear every cluster that was added (old nil),
// changed, or removed (cur nil). It is called without the registry's lock
// held, after the change is visible to Resolve.
func (r *Registry) OnChange(f func(old, cur *Cluster)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listeners = append(r.listeners, f)
}

// Set replaces the registered clusters (besides the in-cluster one) with
// those read from secrets, as Watch does on every change. Secrets that are
// not valid clusters are kept, with their error, for Invalid.
func (r *Registry) Set(secrets []*corev1.Secret) {
	var clusters []*Cluster
	invalid := map[string]error{}
	for _, s := range secrets {
		c, err := FromSecret(s)
		if err != nil {
			invalid[s.Name] = err
			continue
		}
		clusters = append(clusters, c)
	}
	r.set(clusters, invalid)
}

// set installs clusters, after the in-cluster one, and tells the listeners
// what changed. Two Secrets for one server: the first by name wins and
// the other is invalid.
func (r *Registry) set(clusters []*Cluster, invalid map[string]error) {
	slices.SortFunc(clusters, func(a, b *Cluster) int { return cmp.Compare(a.Secret.Name, b.Secret.Name) })
	next := map[string]*Cluster{InClusterServer: r.inCluster()}
	for _, c := range clusters {
		if c.InCluster() {
			merged := r.inCluster()
			merged.Name, merged.Namespaces, merged.ClusterResources, merged.Project = c.Name, c.Namespaces, c.ClusterResources, c.Project
			merged.Labels, merged.Annotations, merged.Secret, merged.Version = c.Labels, c.Annotations, c.Secret, c.Version
			if prev := next[InClusterServer]; prev.Secret.Name != "" {
				invalid[c.Secret.Name] = fmt.Errorf("cluster Secret %s: server %s is already registered by Secret %s", c.Secret, c.Server, prev.Secret.Name)
				continue
			}
			next[InClusterServer] = merged
			continue
		}
		if prev, ok := next[c.Server]; ok {
			invalid[c.Secret.Name] = fmt.Errorf("cluster Secret %s: server %s is already registered by Secret %s", c.Secret, c.Server, prev.Secret.Name)
			continue
		}
		next[c.Server] = c
	}
	r.mu.Lock()
	prev := r.byServer
	r.byServer, r.invalid = next, invalid
	listeners := slices.Clone(r.listeners)
	close(r.reloaded)
	r.reloaded = make(chan struct{})
	r.mu.Unlock()

	for server, cur := range next {
		if old, ok := prev[server]; !ok || old.Version != cur.Version {
			for _, f := range listeners {
				f(old, cur)
			}
		}
	}
	for server, old := range prev {
		if _, ok := next[server]; !ok {
			for _, f := range listeners {
				f(old, nil)
			}
		}
	}
}

// List returns the known clusters, the in-cluster one first, then by name.
func (r *Registry) List() []*Cluster {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Cluster, 0, len(r.byServer))
	for _, c := range r.byServer {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Cluster) int {
		if a.InCluster() != b.InCluster() {
			if a.InCluster() {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Server, b.Server))
	})
	return out
}

// Invalid returns, by Secret name, why each cluster Secret that is not used
// was refused.
func (r *Registry) Invalid() map[string]error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]error, len(r.invalid))
	for k, v := range r.invalid {
		out[k] = v
	}
	return out
}

// Get returns the cluster whose server is server.
func (r *Registry) Get(server string) (*Cluster, bool) {
	if s, err := NormalizeServer(server); err == nil {
		server = s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.byServer[server]
	return c, ok
}

// Resolve returns the cluster an Application's destination picks: by
// server, by name, or the in-cluster one when it sets neither.
func (r *Registry) Resolve(d app.Destination) (*Cluster, error) {
	switch {
	case d.Server != "" && d.Name != "":
		return nil, errors.New("destination sets both server and name; set one")
	case d.Name != "":
		return r.byName(d.Name)
	case d.Server == "":
		c, _ := r.Get(InClusterServer)
		return c, nil
	}
	c, ok := r.Get(d.Server)
	if !ok {
		return nil, fmt.Errorf("%w: no cluster has server %s (register it with `gyre cluster add` or a Secret labelled %s=%s)", ErrNotFound, d.Server, LabelSecretType, SecretTypeCluster)
	}
	return c, nil
}

// byName finds the one cluster called name.
func (r *Registry) byName(name string) (*Cluster, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var found *Cluster
	for _, c := range r.byServer {
		if c.Name != name {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("cluster name %q is ambiguous: servers %s and %s both have it", name, found.Server, c.Server)
		}
		found = c
	}
	if found == nil {
		return nil, fmt.Errorf("%w: no cluster is named %q (register it with `gyre cluster add` or a Secret labelled %s=%s)", ErrNotFound, name, LabelSecretType, SecretTypeCluster)
	}
	return found, nil
}

// secretWatchTimeout bounds Watch's wait for the first list.
const secretWatchTimeout = 30 * time.Second

// Watch keeps the registry in step with the cluster Secrets in namespace
// until ctx ends, one informer per secret-type label, and returns once it
// holds them. When gyre may not list Secrets there, it logs why and
// returns at once with only the in-cluster cluster; the watch keeps trying.
func (r *Registry) Watch(ctx context.Context, client kubernetes.Interface, namespace string) error {
	secrets := client.CoreV1().Secrets(namespace)
	reload := func(any) { r.reload() }
	for _, label := range SecretLabels() {
		sel := label + "=" + SecretTypeCluster
		inf := cache.NewSharedIndexInformerWithOptions(&cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.LabelSelector = sel
				return secrets.List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.LabelSelector = sel
				return secrets.Watch(ctx, o)
			},
		}, &corev1.Secret{}, cache.SharedIndexInformerOptions{})
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    reload,
			UpdateFunc: func(_, obj any) { reload(obj) },
			DeleteFunc: reload,
		}); err != nil {
			return err
		}
		r.mu.Lock()
		r.informers = append(r.informers, inf)
		r.mu.Unlock()
		go inf.RunWithContext(ctx)
	}
	probe, cancel := context.WithTimeout(ctx, secretWatchTimeout)
	defer cancel()
	if _, err := secrets.List(probe, metav1.ListOptions{LabelSelector: LabelSecretType + "=" + SecretTypeCluster, Limit: 1}); err != nil {
		r.log.Warn("cannot read cluster Secrets: only the in-cluster cluster is known until gyre may get, list and watch Secrets in its namespace", "namespace", namespace, "err", err)
		return nil
	}
	r.mu.RLock()
	synced := make([]cache.InformerSynced, len(r.informers))
	for i, inf := range r.informers {
		synced[i] = inf.HasSynced
	}
	r.mu.RUnlock()
	if !cache.WaitForCacheSync(probe.Done(), synced...) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("cluster Secrets in namespace %s: cannot watch them within %s", namespace, secretWatchTimeout)
	}
	r.reload()
	return nil
}

// reload reads the cluster Secrets from the informers' stores.
func (r *Registry) reload() {
	r.mu.RLock()
	informers := slices.Clone(r.informers)
	r.mu.RUnlock()
	seen := map[string]bool{}
	var secrets []*corev1.Secret
	for _, inf := range informers {
		for _, obj := range inf.GetStore().List() {
			s, ok := obj.(*corev1.Secret)
			if !ok || seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			secrets = append(secrets, s)
		}
	}
	r.Set(secrets)
}

// Reloaded returns a channel closed at the next change of the registry, so
// that a writer of a cluster Secret can wait for the watch to see it.
func (r *Registry) Reloaded() <-chan struct{} {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.reloaded
}

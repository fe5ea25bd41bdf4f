package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	gosync "sync"
	"time"

	"github.com/gyre-cd/gyre/app"
	clusters "github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/live"
	"github.com/gyre-cd/gyre/render"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// How gyre deploys to many clusters:
//
//   - Each destination cluster is a target: its own dynamic and discovery
//     clients (with their own rate limits), its own live cache, its own Helm
//     capabilities and its own connection state. The cluster gyre runs in
//     is the home target, built by New; the others are built the first
//     time an Application names them, from Options.Clusters, and dropped
//     when their cluster Secret changes or goes, or when no Application
//     uses them any more.
//   - A remote target is probed every ClusterProbeInterval. While it does
//     not answer, its Applications are not compared or synced: they get a
//     ClusterError condition at once, without waiting on the cluster, so a
//     cluster that is down holds up no worker and no other cluster's
//     Applications. When it answers again, its Applications are queued.
//   - Applications, Projects and their status always live in the home
//     cluster; only the objects they declare go to the destination.

// target is one destination cluster's clients, caches and state.
type target struct {
	server  string
	name    string
	version string // the cluster's Version when the target was built
	home    bool
	dyn     dynamic.Interface
	disco   discovery.DiscoveryInterface
	live    *live.Cache
	// namespaces, when set, are the only namespaces objects may go to
	// there; clusterScoped says whether cluster-scoped objects may too.
	namespaces    []string
	clusterScoped bool
	stop          context.CancelFunc // ends its live cache and probe

	mu            gosync.Mutex
	caps          *render.Capabilities
	down          error // why the last probe failed; nil while it answers
	serverVersion string
}

// ClusterError is why an Application's destination cannot be used: no
// cluster has that server or name, the cluster belongs to another Project,
// or it does not answer. It is reported as a ClusterError condition.
type ClusterError struct {
	// Destination is the server or name the Application asked for.
	Destination string
	// Unreachable is set when the cluster is known but does not answer.
	Unreachable bool
	Err         error
}

func (e *ClusterError) Error() string {
	if e.Unreachable {
		return fmt.Sprintf("cluster %s is unreachable: %v", e.Destination, e.Err)
	}
	return fmt.Sprintf("destination cluster %s: %v", e.Destination, e.Err)
}

func (e *ClusterError) Unwrap() error { return e.Err }

// remoteRequestTimeout bounds each request to a remote cluster other than
// a watch, so that a cluster that stops answering mid-sync fails the sync
// instead of holding its worker.
const remoteRequestTimeout = time.Minute

// probeTimeout bounds one connection probe of a remote cluster.
const probeTimeout = 5 * time.Second

// watchTimeout bounds the wait for a remote cluster's watches to sync.
const watchTimeout = 30 * time.Second

// newTarget builds the clients and the live cache of cluster c; the live
// cache starts when start is called.
func (r *Reconciler) newTarget(c *clusters.Cluster, home bool) (*target, error) {
	cfg := rest.CopyConfig(c.Config)
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		cfg.QPS, cfg.Burst = r.opts.QPS, r.opts.Burst
	}
	t := &target{server: c.Server, name: c.Name, version: c.Version, home: home, namespaces: c.Namespaces, clusterScoped: len(c.Namespaces) == 0 || c.ClusterResources}
	if home {
		t.namespaces, t.clusterScoped = r.opts.Namespaces, true
	}
	requests := rest.CopyConfig(cfg)
	if !home {
		requests.Timeout = remoteRequestTimeout
	}
	var err error
	if t.dyn, err = dynamic.NewForConfig(requests); err != nil {
		return nil, err
	}
	if t.disco, err = discovery.NewDiscoveryClientForConfig(requests); err != nil {
		return nil, err
	}
	t.live, err = live.New(cfg, live.Options{OnChange: r.addUrgent, Logger: r.log.With("cluster", c.Name), Namespaces: t.namespaces,
		IdleTimeout: r.opts.NamespaceIdleTimeout, Now: r.opts.Now, Health: r.opts.Health})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// start runs t's live cache until ctx ends or t is dropped; a remote
// target is probed once before start returns and then in the background.
func (r *Reconciler) start(ctx context.Context, t *target) {
	ctx, t.stop = context.WithCancel(ctx)
	t.live.Start(ctx)
	if t.home {
		r.refreshCapabilities(t)
		return
	}
	r.probe(ctx, t)
	go func() {
		tick := time.NewTicker(r.opts.ClusterProbeInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				r.probe(ctx, t)
			}
		}
	}()
}

// probe asks t's API server whether it accepts gyre's credentials, and
// for its version, and records whether it answered. A change either way
// queues t's Applications; a cluster that comes back has its capabilities
// read again.
func (r *Reconciler) probe(ctx context.Context, t *target) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	// /api answers only a caller the cluster authenticates (/version
	// answers anyone), so credentials it refuses count as not answering.
	err := t.disco.RESTClient().Get().AbsPath("/api").Do(ctx).Error()
	var info version.Info
	if err == nil {
		body, verr := t.disco.RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
		if verr == nil {
			err = json.Unmarshal(body, &info)
		} else {
			err = verr
		}
	}
	v := info.GitVersion
	t.mu.Lock()
	was := t.down
	t.down = err
	if v != "" {
		t.serverVersion = v
	}
	first := t.caps == nil
	t.mu.Unlock()
	switch {
	case err == nil && (was != nil || first):
		r.refreshCapabilities(t)
		if was != nil {
			r.log.Info("cluster answers again", "cluster", t.name, "server", t.server)
			r.queueCluster(t.server)
		}
	case err != nil && was == nil:
		r.log.Warn("cluster does not answer", "cluster", t.name, "server", t.server, "err", err)
		r.queueCluster(t.server)
	}
}

// reachable returns why t is not answering, or nil.
func (t *target) reachable() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.down
}

// markDown records that t failed to answer in time outside a probe.
func (t *target) markDown(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.down == nil {
		t.down = err
	}
}

// capabilities returns what t's API server offers, for Helm.
func (t *target) capabilities() *render.Capabilities {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.caps
}

// targetFor returns the target of a's destination, building it the first
// time, or a *ClusterError.
func (r *Reconciler) targetFor(a *app.Application) (*target, error) {
	d := a.Spec.Destination
	named := d.Server
	if d.Name != "" {
		named = d.Name
	}
	c, err := r.opts.Clusters.Resolve(d)
	if err != nil {
		return nil, &ClusterError{Destination: named, Err: err}
	}
	if named == "" {
		named = c.Name
	}
	if c.Project != "" && c.Project != a.ProjectName() {
		return nil, &ClusterError{Destination: named, Err: fmt.Errorf("the cluster belongs to project %q, not %q", c.Project, a.ProjectName())}
	}
	if c.InCluster() {
		return r.home, nil
	}
	r.mu.Lock()
	t, ok := r.targets[c.Server]
	if ok && t.version != c.Version {
		t.stop()
		delete(r.targets, c.Server)
		ok = false
	}
	ctx := r.runCtx
	r.mu.Unlock()
	if !ok {
		if ctx == nil {
			return nil, &ClusterError{Destination: named, Unreachable: true, Err: errors.New("gyre has not started")}
		}
		built, err := r.newTarget(c, false)
		if err != nil {
			return nil, &ClusterError{Destination: named, Err: err}
		}
		r.mu.Lock()
		if t, ok = r.targets[c.Server]; !ok { // another worker may have built it meanwhile
			t = built
			r.targets[c.Server] = t
		}
		r.mu.Unlock()
		if t == built {
			r.start(ctx, t)
		}
	}
	if err := t.reachable(); err != nil {
		return nil, &ClusterError{Destination: named, Unreachable: true, Err: err}
	}
	return t, nil
}

// existingTarget returns the target a's destination has been given, if
// any, without building one or probing: for reads such as the resource
// tree.
func (r *Reconciler) existingTarget(a *app.Application) (*target, bool) {
	c, err := r.opts.Clusters.Resolve(a.Spec.Destination)
	if err != nil {
		return nil, false
	}
	if c.InCluster() {
		return r.home, true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.targets[c.Server]
	return t, ok
}

// clusterChanged drops the target of a cluster whose Secret changed or
// went, and queues the Applications that named it.
func (r *Reconciler) clusterChanged(old, cur *clusters.Cluster) {
	var servers, names []string
	for _, c := range []*clusters.Cluster{old, cur} {
		if c != nil {
			servers, names = append(servers, c.Server), append(names, c.Name)
		}
	}
	if old != nil && !old.InCluster() {
		r.mu.Lock()
		if t, ok := r.targets[old.Server]; ok {
			t.stop()
			delete(r.targets, old.Server)
		}
		r.mu.Unlock()
	}
	for _, a := range r.Applications() {
		d := a.Spec.Destination
		if (d.Server != "" && slices.Contains(servers, d.Server)) || (d.Name != "" && slices.Contains(names, d.Name)) {
			r.queue.Add(a.Key())
		}
	}
}

// queueCluster queues every Application whose destination is server.
func (r *Reconciler) queueCluster(server string) {
	for _, a := range r.Applications() {
		if c, err := r.opts.Clusters.Resolve(a.Spec.Destination); err == nil && c.Server == server {
			r.queue.Add(a.Key())
		}
	}
}

// releaseTargets lets each target's live cache stop watching the
// namespaces no Application deploys to there, and drops the remote
// targets no Application uses.
func (r *Reconciler) releaseTargets(apps []*app.Application) {
	namespaces := map[string][]string{}
	for _, a := range apps {
		c, err := r.opts.Clusters.Resolve(a.Spec.Destination)
		if err != nil {
			continue
		}
		ns := namespaces[c.Server]
		if d := a.Spec.Destination.Namespace; d != "" {
			ns = append(ns, d)
		}
		namespaces[c.Server] = ns
	}
	r.mu.Lock()
	targets := []*target{r.home}
	for server, t := range r.targets {
		if _, used := namespaces[server]; !used {
			t.stop()
			delete(r.targets, server)
			r.log.Info("stopped watching a cluster no application deploys to", "cluster", t.name, "server", server)
			continue
		}
		targets = append(targets, t)
	}
	r.mu.Unlock()
	for _, t := range targets {
		if stopped := t.live.RetainNamespaces(namespaces[t.server]); len(stopped) > 0 {
			r.log.Info("stopped watching namespaces no application deploys to", "cluster", t.name, "namespaces", stopped)
		}
	}
}

// Clusters reports every known cluster with its connection state and how
// many Applications use it.
func (r *Reconciler) Clusters() []app.ClusterState {
	counts := map[string]int{}
	for _, a := range r.Applications() {
		if c, err := r.opts.Clusters.Resolve(a.Spec.Destination); err == nil {
			counts[c.Server]++
		}
	}
	var out []app.ClusterState
	for _, c := range r.opts.Clusters.List() {
		s := app.ClusterState{Name: c.Name, Server: c.Server, Applications: counts[c.Server], State: app.ClusterUnknown, Namespaces: c.Namespaces, Labels: c.Labels}
		r.mu.Lock()
		t, ok := r.targets[c.Server]
		if c.InCluster() {
			t, ok = r.home, true
		}
		r.mu.Unlock()
		if ok {
			t.mu.Lock()
			s.Version = t.serverVersion
			if t.caps != nil && t.caps.KubeVersion != "" && s.Version == "" {
				s.Version = t.caps.KubeVersion
			}
			if t.down != nil {
				s.State, s.Message = app.ClusterUnreachable, t.down.Error()
			} else {
				s.State = app.ClusterConnected
			}
			t.mu.Unlock()
		}
		out = append(out, s)
	}
	return out
}

// resourceFor returns the dynamic client for obj's resource on t, in its
// namespace when the kind is namespaced.
func (t *target) resourceFor(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	m, err := t.mapping(obj.GroupVersionKind())
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return t.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
	}
	return t.dyn.Resource(m.Resource), nil
}

// mapping maps gvk to its resource on t, asking discovery again once when
// the kind is not known (a CRD may just have been applied).
func (t *target) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := t.live.Mapping(gvk)
	if meta.IsNoMatchError(err) {
		t.live.ResetMapping()
		m, err = t.live.Mapping(gvk)
	}
	return m, err
}

// namespaced reports whether gvk is a namespaced kind on t.
func (t *target) namespaced(gvk schema.GroupVersionKind) (bool, error) {
	m, err := t.mapping(gvk)
	if err != nil {
		return false, err
	}
	return m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

// refreshCapabilities reads what t's API server offers, for Helm's
// .Capabilities.
func (r *Reconciler) refreshCapabilities(t *target) {
	caps := &render.Capabilities{}
	if v, err := t.disco.ServerVersion(); err == nil {
		caps.KubeVersion = v.GitVersion
	}
	if _, lists, err := t.disco.ServerGroupsAndResources(); err == nil || len(lists) > 0 {
		seen := map[string]bool{}
		for _, l := range lists {
			if !seen[l.GroupVersion] {
				seen[l.GroupVersion] = true
				caps.APIVersions = append(caps.APIVersions, l.GroupVersion)
			}
			for _, res := range l.APIResources {
				caps.APIVersions = append(caps.APIVersions, l.GroupVersion+"/"+res.Kind)
			}
		}
	}
	t.mu.Lock()
	t.caps = caps
	t.mu.Unlock()
}

// capabilitiesFor returns what a's destination cluster offers, for Helm;
// nil (Helm's defaults) before gyre has talked to it.
func (r *Reconciler) capabilitiesFor(a *app.Application) *render.Capabilities {
	if t, ok := r.existingTarget(a); ok {
		return t.capabilities()
	}
	return nil
}

// watch makes dst's live cache watch gvks and the destination namespace ns
// (if any). On a remote cluster the wait is bounded: one whose watches do
// not sync in time is taken to be down, so that its other Applications
// fail fast until a probe sees it answer.
func (r *Reconciler) watch(ctx context.Context, dst *target, ns string, gvks ...schema.GroupVersionKind) error {
	wctx := ctx
	if !dst.home {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, watchTimeout)
		defer cancel()
	}
	err := dst.live.Watch(wctx, gvks...)
	if err == nil && ns != "" {
		err = dst.live.WatchNamespace(wctx, ns)
	}
	if err != nil && !dst.home && ctx.Err() == nil && wctx.Err() != nil {
		dst.markDown(fmt.Errorf("its watches did not sync within %s", watchTimeout))
		return &ClusterError{Destination: dst.name, Unreachable: true, Err: err}
	}
	return err
}

// DestinationClient returns the dynamic client of a's destination cluster
// and the mapping of kinds to its resources, for reading live objects
// (the API's resource and events views). It does not build a target: an
// Application whose cluster gyre has not reached yet gets a *ClusterError.
func (r *Reconciler) DestinationClient(a *app.Application) (dynamic.Interface, func(schema.GroupVersionKind) (*meta.RESTMapping, error), error) {
	t, ok := r.existingTarget(a)
	if !ok {
		return nil, nil, &ClusterError{Destination: a.Spec.Destination.Server + a.Spec.Destination.Name, Unreachable: true, Err: errors.New("not connected yet")}
	}
	return t.dyn, t.mapping, nil
}

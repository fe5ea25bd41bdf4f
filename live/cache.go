package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/gyre-cd/gyre/health"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Options for New.
type Options struct {
	// OnChange is called with the Application that owns a changed object: a
	// managed object (its tracking annotation names the Application) or a
	// descendant of one (found through ownerReferences). It is called from
	// informer goroutines and must not block. Nil means nobody listens.
	OnChange func(appKey types.NamespacedName)
	// Logger receives watch errors and lifecycle messages. Default:
	// slog.Default().
	Logger *slog.Logger
	// ResyncPeriod, when positive, replays every cached object to OnChange
	// at that interval. Default 0: no resync; changes are event-driven.
	ResyncPeriod time.Duration
	// Namespaces, when set, limits the watches of managed objects of
	// namespaced kinds to these namespaces, one watch each, for a gyre whose
	// RBAC grants only them, and makes WatchNamespace watch descendants per
	// namespace; empty watches cluster-wide.
	Namespaces []string
	// NamespacedDescendants makes WatchNamespace watch descendants per
	// namespace, five watches each, even when Namespaces is empty. By
	// default a cache that may watch the whole cluster watches each kind of
	// descendant once, cluster-wide, whatever the number of namespaces in
	// use, and so caches the descendants of every namespace; per namespace
	// can hold less on a big cluster where gyre deploys to a few namespaces
	// among many busy ones.
	NamespacedDescendants bool
	// IdleTimeout is how long a namespace that RetainNamespaces leaves out,
	// and that no WatchNamespace asked for, stays in use before
	// RetainNamespaces releases it: stops its descendant watches, or in the
	// cluster-wide mode the cluster-wide ones once no namespace is left in
	// use. Default 10m.
	IdleTimeout time.Duration
	// Now is the clock IdleTimeout is measured with. Default time.Now.
	Now func() time.Time
	// Health checks the health of the tree's nodes: custom checks first,
	// the built-in rules after. Nil uses the built-in rules alone.
	Health *health.Checker
}

// DefaultOptions returns the defaults New applies to unset fields.
func DefaultOptions() Options {
	return Options{OnChange: func(types.NamespacedName) {}, Logger: slog.Default(), IdleTimeout: 10 * time.Minute, Now: time.Now}
}

// withDefaults fills the unset fields of o from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.OnChange == nil {
		o.OnChange = d.OnChange
	}
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	if o.ResyncPeriod < 0 {
		o.ResyncPeriod = 0
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = d.IdleTimeout
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	return o
}

// Cache is the in-memory view of the cluster: managed objects and their
// descendants, kept current by informers. It is safe for concurrent use.
// Create it with New, then call Start once.
type Cache struct {
	opts     Options
	log      *slog.Logger
	dynamic  dynamic.Interface
	metadata metadata.Interface
	mapper   *restmapper.DeferredDiscoveryRESTMapper

	mu sync.RWMutex
	// ctx is Start's context; nil until Start. Informers run until it ends.
	ctx context.Context
	// managed holds the label-selected cluster-wide watches, one per
	// resource, and kinds maps each watched kind to its watch.
	managed map[managedKey]*watch
	kinds   map[schema.GroupKind][]*watch
	// namespaces holds the descendant watches of each destination
	// namespace; in the cluster-wide mode (clusterWide) the one set of
	// cluster-wide descendant watches, under metav1.NamespaceAll.
	namespaces map[string]*namespaceWatch
	// clusterWide is set when descendants are watched cluster-wide: neither
	// Options.Namespaces nor Options.NamespacedDescendants is set. It does
	// not change after New.
	clusterWide bool
	// inUse records, in the cluster-wide mode, when WatchNamespace or
	// RetainNamespaces last asked for each namespace.
	inUse map[string]time.Time
}

// New returns a Cache that talks to the cluster at cfg. It builds dynamic,
// metadata and discovery clients; nothing is watched until Start and Watch or
// WatchNamespace. When cfg sets no rate limit, the clients allow 50 requests
// per second (bursts of 100) instead of client-go's 5, since starting a
// dozen watches at once is normal.
func New(cfg *rest.Config, opts Options) (*Cache, error) {
	if cfg == nil {
		return nil, errors.New("live cache: no REST config")
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		cfg.QPS, cfg.Burst = 50, 100
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("live cache: dynamic client: %w", err)
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("live cache: metadata client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("live cache: discovery client: %w", err)
	}
	opts = opts.withDefaults()
	return &Cache{
		opts:        opts,
		log:         opts.Logger,
		dynamic:     dyn,
		metadata:    md,
		mapper:      restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
		managed:     map[managedKey]*watch{},
		kinds:       map[schema.GroupKind][]*watch{},
		namespaces:  map[string]*namespaceWatch{},
		clusterWide: len(opts.Namespaces) == 0 && !opts.NamespacedDescendants,
		inUse:       map[string]time.Time{},
	}, nil
}

// Start lets the cache run watches until ctx is done. It does not block and
// starts nothing by itself: Watch and WatchNamespace start informers, which
// stop when ctx ends. Calls after the first are ignored.
func (c *Cache) Start(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		c.ctx = ctx
	}
}

// runContext returns Start's context, or an error if Start was not called or
// its context has ended.
func (c *Cache) runContext() (context.Context, error) {
	c.mu.RLock()
	ctx := c.ctx
	c.mu.RUnlock()
	if ctx == nil {
		return nil, errors.New("live cache: not started (call Start first)")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("live cache: stopped: %w", err)
	}
	return ctx, nil
}

// Mapping returns the REST mapping (resource and scope) of gvk, through the
// cache's discovery mapper. When the kind is unknown it forgets cached
// discovery and asks once more, since the kind may come from a CRD created
// since discovery was last read. The error names the kind.
func (c *Cache) Mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil && meta.IsNoMatchError(err) {
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("no resource %q in group %q: %w", gvk.Kind, gvk.Group, err)
	}
	return m, nil
}

// ResetMapping forgets cached discovery, so that the next Mapping or Watch
// sees resources added since (after CRDs were applied).
func (c *Cache) ResetMapping() {
	c.mapper.Reset()
}

// HasSynced reports whether every watch started so far has listed its
// objects and delivered their events, for readiness probes.
func (c *Cache) HasSynced() bool {
	for _, w := range c.watches() {
		if !w.registration.HasSynced() {
			return false
		}
	}
	return true
}

// ResourceStats is the number of objects one watch holds.
type ResourceStats struct {
	// Resource is the watched resource.
	Resource schema.GroupVersionResource
	// Namespace is empty for cluster-wide watches (managed ones, and
	// descendant ones in the cluster-wide mode); otherwise the namespace
	// watched (descendant watches per namespace, and managed ones limited by
	// Options.Namespaces).
	Namespace string
	// Managed is true for the label-selected watches of managed objects.
	Managed bool
	// Objects is the number of objects cached.
	Objects int
}

// Stats returns the object count of every watch, managed watches first, then
// by namespace and resource.
func (c *Cache) Stats() []ResourceStats {
	var out []ResourceStats
	for _, w := range c.watches() {
		out = append(out, ResourceStats{Resource: w.gvr, Namespace: w.namespace, Managed: w.managed, Objects: len(w.informer.GetStore().ListKeys())})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Managed != b.Managed {
			return a.Managed
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Resource.String() < b.Resource.String()
	})
	return out
}

// watches returns every watch started so far.
func (c *Cache) watches() []*watch {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*watch, 0, len(c.managed)+5*len(c.namespaces))
	for _, w := range c.managed {
		out = append(out, w)
	}
	for _, nw := range c.namespaces {
		out = append(out, nw.watches...)
	}
	return out
}

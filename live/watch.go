package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	"github.com/gyre-cd/gyre/app"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

// The informer indexes. Every watch has indexUID and indexOwner; managed
// watches add indexApp, the EndpointSlice watch indexService.
const (
	indexUID     = "uid"
	indexOwner   = "owner"
	indexApp     = "app"
	indexService = "service"
)

// serviceNameLabel is the label an EndpointSlice carries with the name of
// its Service.
const serviceNameLabel = "kubernetes.io/service-name"

// watch is one running informer.
type watch struct {
	gvr schema.GroupVersionResource
	gvk schema.GroupVersionKind
	// namespace is empty for cluster-wide watches.
	namespace string
	// managed is true for the label-selected watches of managed objects.
	managed bool
	// metadataOnly watches hold *metav1.PartialObjectMetadata instead of
	// *unstructured.Unstructured.
	metadataOnly bool

	informer     cache.SharedIndexInformer
	registration cache.ResourceEventHandlerRegistration
	// lastErr is the last list or watch error, reported when a wait for
	// sync gives up.
	lastErr atomic.Pointer[error]
}

// namespaceWatch is the set of descendant watches of one namespace.
type namespaceWatch struct {
	namespace string
	watches   []*watch
	stop      context.CancelFunc
	// lastUsed is when WatchNamespace or RetainNamespaces last asked for
	// the namespace; guarded by Cache.mu.
	lastUsed time.Time
}

// byKind returns the namespace's watch of kind gk, or nil.
func (nw *namespaceWatch) byKind(gk schema.GroupKind) *watch {
	for _, w := range nw.watches {
		if w.gvk.GroupKind() == gk {
			return w
		}
	}
	return nil
}

// descendant is one kind of object that controllers create from the
// objects gyre manages.
type descendant struct {
	gvr          schema.GroupVersionResource
	kind         string
	metadataOnly bool
}

// descendants lists what WatchNamespace watches: Pods, ReplicaSets, Jobs and
// EndpointSlices in full (the tree shows their health and details), and
// ControllerRevisions by metadata only (they are big and only their owner
// matters).
func descendants() []descendant {
	return []descendant{
		{gvr: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, kind: "Pod"},
		{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, kind: "ReplicaSet"},
		{gvr: schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, kind: "Job"},
		{gvr: schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}, kind: "EndpointSlice"},
		{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "controllerrevisions"}, kind: "ControllerRevision", metadataOnly: true},
	}
}

// Watch makes sure the cache watches the resources of these kinds, for
// objects carrying the gyre.dev/app label, in every namespace. The first
// request for a resource starts its informer; every call waits, bounded by
// ctx, until the informers it names have synced. Kinds are mapped to
// resources as Mapping does, so a kind whose CRD was just created is found.
// An unknown kind is an error that names it; the other kinds are still
// watched. Two versions of one kind share one watch (the first version
// asked for).
func (c *Cache) Watch(ctx context.Context, gvks ...schema.GroupVersionKind) error {
	runCtx, err := c.runContext()
	if err != nil {
		return err
	}
	var errs []error
	var started []*watch
	for _, gvk := range gvks {
		ws, err := c.watchesOf(runCtx, gvk)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		started = append(started, ws...)
	}
	if err := waitSynced(ctx, runCtx, started); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// managedKey identifies a watch of managed objects: a resource, in one
// namespace or (namespace "") cluster-wide.
type managedKey struct {
	resource  schema.GroupResource
	namespace string
}

// watchesOf returns the managed watches for gvk, starting them if
// needed: one cluster-wide, or one per namespace of Options.Namespaces for a
// namespaced kind.
func (c *Cache) watchesOf(runCtx context.Context, gvk schema.GroupVersionKind) ([]*watch, error) {
	c.mu.RLock()
	ws := c.kinds[gvk.GroupKind()]
	c.mu.RUnlock()
	if ws != nil {
		return ws, nil
	}
	m, err := c.Mapping(gvk)
	if err != nil {
		return nil, err
	}
	namespaces := []string{metav1.NamespaceAll}
	if len(c.opts.Namespaces) > 0 && m.Scope.Name() == meta.RESTScopeNameNamespace {
		namespaces = c.opts.Namespaces
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	gr := m.Resource.GroupResource()
	ws = nil
	for _, ns := range namespaces {
		key := managedKey{resource: gr, namespace: ns}
		w := c.managed[key]
		if w == nil {
			w = &watch{gvr: m.Resource, gvk: m.GroupVersionKind, namespace: ns, managed: true}
			inf := dynamicinformer.NewFilteredDynamicInformer(c.dynamic, m.Resource, ns, c.opts.ResyncPeriod,
				cache.Indexers{indexUID: indexByUID, indexOwner: indexByOwner, indexApp: indexByApp},
				func(o *metav1.ListOptions) { o.LabelSelector = app.AppLabel })
			if err := c.run(runCtx, w, inf.Informer(), nil, c.managedHandler()); err != nil {
				return nil, err
			}
			c.managed[key] = w
			c.log.Debug("watching managed objects", "resource", m.Resource.String(), "namespace", ns)
		}
		ws = append(ws, w)
	}
	c.kinds[gvk.GroupKind()] = ws
	return ws, nil
}

// WatchNamespace starts, once per namespace, the watches of the objects
// controllers create in ns (Pods, ReplicaSets, Jobs, EndpointSlices,
// ControllerRevisions; see the package documentation) and waits, bounded by
// ctx, until they have synced.
func (c *Cache) WatchNamespace(ctx context.Context, ns string) error {
	runCtx, err := c.runContext()
	if err != nil {
		return err
	}
	nw, err := c.namespaceWatch(runCtx, ns)
	if err != nil {
		return err
	}
	return waitSynced(ctx, runCtx, nw.watches)
}

// namespaceWatch returns the descendant watches of ns, starting them if
// needed.
func (c *Cache) namespaceWatch(runCtx context.Context, ns string) (*namespaceWatch, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if nw := c.namespaces[ns]; nw != nil {
		nw.lastUsed = c.opts.Now()
		return nw, nil
	}
	nsCtx, stop := context.WithCancel(runCtx)
	nw := &namespaceWatch{namespace: ns, stop: stop, lastUsed: c.opts.Now()}
	for _, d := range descendants() {
		w := &watch{gvr: d.gvr, gvk: d.gvr.GroupVersion().WithKind(d.kind), namespace: ns, metadataOnly: d.metadataOnly}
		idx := cache.Indexers{indexUID: indexByUID, indexOwner: indexByOwner}
		if d.kind == "EndpointSlice" {
			idx[indexService] = indexByService
		}
		var inf cache.SharedIndexInformer
		if d.metadataOnly {
			inf = metadatainformer.NewFilteredMetadataInformer(c.metadata, d.gvr, ns, c.opts.ResyncPeriod, idx, nil).Informer()
		} else {
			inf = dynamicinformer.NewFilteredDynamicInformer(c.dynamic, d.gvr, ns, c.opts.ResyncPeriod, idx, nil).Informer()
		}
		if err := c.run(nsCtx, w, inf, dropManagedFields, c.descendantHandler()); err != nil {
			nw.close()
			return nil, err
		}
		nw.watches = append(nw.watches, w)
	}
	c.namespaces[ns] = nw
	c.log.Debug("watching namespace", "namespace", ns)
	return nw, nil
}

// ForgetNamespace stops the descendant watches of ns, with their event
// handlers, and drops what they cached, e.g. after the namespace stopped
// being any Application's destination. A later WatchNamespace starts them
// again.
func (c *Cache) ForgetNamespace(ns string) {
	c.mu.Lock()
	nw := c.namespaces[ns]
	delete(c.namespaces, ns)
	c.mu.Unlock()
	if nw != nil {
		nw.close()
	}
}

// RetainNamespaces tells the cache which namespaces still need their
// descendant watches (the destinations of the Applications there are), and
// stops those of every other namespace that no WatchNamespace has asked for
// within Options.IdleTimeout, as ForgetNamespace does. The grace period
// keeps an app that moves away and back, or a namespace that is briefly
// nobody's, from restarting watches. It returns the namespaces whose
// watches it stopped, sorted. The reconciler calls it periodically.
func (c *Cache) RetainNamespaces(namespaces []string) []string {
	now := c.opts.Now()
	keep := make(map[string]bool, len(namespaces))
	for _, ns := range namespaces {
		keep[ns] = true
	}
	var idle []*namespaceWatch
	c.mu.Lock()
	for ns, nw := range c.namespaces {
		switch {
		case keep[ns]:
			nw.lastUsed = now
		case now.Sub(nw.lastUsed) >= c.opts.IdleTimeout:
			delete(c.namespaces, ns)
			idle = append(idle, nw)
		}
	}
	c.mu.Unlock()
	stopped := make([]string, 0, len(idle))
	for _, nw := range idle {
		nw.close()
		stopped = append(stopped, nw.namespace)
		c.log.Debug("stopped watching namespace", "namespace", nw.namespace)
	}
	sort.Strings(stopped)
	return stopped
}

// close stops nw's informers and removes their event handlers.
func (nw *namespaceWatch) close() {
	nw.stop()
	for _, w := range nw.watches {
		if w.informer != nil {
			_ = w.informer.RemoveEventHandler(w.registration)
		}
	}
}

// run wires inf into w and starts it until ctx ends.
func (c *Cache) run(ctx context.Context, w *watch, inf cache.SharedIndexInformer, transform cache.TransformFunc, h cache.ResourceEventHandler) error {
	if transform != nil {
		if err := inf.SetTransform(transform); err != nil {
			return fmt.Errorf("watch %s: %w", w.gvr, err)
		}
	}
	err := inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, _ *cache.Reflector, err error) {
		w.lastErr.Store(&err)
		level := slog.LevelWarn
		if routineWatchError(err) {
			level = slog.LevelDebug
		}
		c.log.Log(ctx, level, "watch failed, retrying", "resource", w.gvr.String(), "namespace", w.namespace, "err", err)
	})
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.gvr, err)
	}
	reg, err := inf.AddEventHandler(h)
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.gvr, err)
	}
	w.informer, w.registration = inf, reg
	go inf.RunWithContext(ctx)
	return nil
}

// SyncTimeout bounds the wait for a watch to list its objects: an API server
// that does not answer must not hold a worker for good.
const SyncTimeout = 30 * time.Second

// waitSynced waits until every watch has listed its objects and delivered
// their events, ctx ends, the cache stops (runCtx) or SyncTimeout passes. A
// watch the API server refuses (403, say) fails the wait at once, with the
// refusal.
func waitSynced(ctx, runCtx context.Context, ws []*watch) error {
	ctx, cancel := context.WithTimeout(ctx, SyncTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for _, w := range ws {
		for waiting := true; waiting; {
			select {
			case <-w.registration.HasSyncedChecker().Done():
				waiting = false
			case <-tick.C:
				if last := w.lastErr.Load(); last != nil && (apierrors.IsForbidden(*last) || apierrors.IsUnauthorized(*last)) {
					return w.notSynced(*last)
				}
			case <-ctx.Done():
				return w.notSynced(ctx.Err())
			case <-runCtx.Done():
				return w.notSynced(runCtx.Err())
			}
		}
	}
	return nil
}

// notSynced is the error of a wait for w that ended with err.
func (w *watch) notSynced(err error) error {
	where := "all namespaces"
	if w.namespace != "" {
		where = "namespace " + w.namespace
	}
	if last := w.lastErr.Load(); last != nil {
		return fmt.Errorf("watch %s in %s: not synced: %w (last error: %v)", w.gvr, where, err, *last)
	}
	return fmt.Errorf("watch %s in %s: not synced: %w", w.gvr, where, err)
}

// routineWatchError reports whether err is part of a watch's normal life
// (the connection closed, the resource version expired) rather than a
// problem worth a warning.
func routineWatchError(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.Canceled) ||
		apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
}

// dropManagedFields is the transform of descendant watches: nobody reads
// their managedFields, which are often the biggest part of the object.
func dropManagedFields(obj any) (any, error) {
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		o.SetManagedFields(nil)
	case *metav1.PartialObjectMetadata:
		o.ManagedFields = nil
	}
	return obj, nil
}

// indexByUID indexes an object by its uid.
func indexByUID(obj any) ([]string, error) {
	m, ok := objectMeta(obj)
	if !ok {
		return nil, nil
	}
	return []string{string(m.GetUID())}, nil
}

// indexByOwner indexes an object by the uids of its owners.
func indexByOwner(obj any) ([]string, error) {
	m, ok := objectMeta(obj)
	if !ok {
		return nil, nil
	}
	refs := m.GetOwnerReferences()
	if len(refs) == 0 {
		return nil, nil
	}
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = string(r.UID)
	}
	return out, nil
}

// indexByApp indexes a managed object by its Application, "namespace/name".
func indexByApp(obj any) ([]string, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, nil
	}
	a, ok := trackedApp(u)
	if !ok {
		return nil, nil
	}
	return []string{a.String()}, nil
}

// indexByService indexes an EndpointSlice by its Service, "namespace/name".
func indexByService(obj any) ([]string, error) {
	m, ok := objectMeta(obj)
	if !ok {
		return nil, nil
	}
	svc := m.GetLabels()[serviceNameLabel]
	if svc == "" {
		return nil, nil
	}
	return []string{m.GetNamespace() + "/" + svc}, nil
}

// objectMeta returns the metadata of a cached object.
func objectMeta(obj any) (metav1.Object, bool) {
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		return o, true
	case *metav1.PartialObjectMetadata:
		return o, true
	}
	return nil, false
}

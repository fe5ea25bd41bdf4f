package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
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
	// namespace is metav1.NamespaceAll for the cluster-wide watches.
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
	// podSpec is the path to the kind's pod spec (a Pod's own, a
	// workload's pod template's), which stripDescendant trims; nil for
	// kinds without one.
	podSpec []string
}

// descendants lists what WatchNamespace watches, per namespace or
// cluster-wide: Pods, ReplicaSets, Jobs and EndpointSlices in full (the tree
// shows their health and details), and ControllerRevisions by metadata only
// (they are big and only their owner matters).
func descendants() []descendant {
	return []descendant{
		{gvr: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, kind: "Pod", podSpec: []string{"spec"}},
		{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, kind: "ReplicaSet", podSpec: []string{"spec", "template", "spec"}},
		{gvr: schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, kind: "Job", podSpec: []string{"spec", "template", "spec"}},
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
			if err := c.run(runCtx, w, inf.Informer(), pack, c.managedHandler()); err != nil {
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

// WatchNamespace makes sure the cache watches the objects controllers
// create in ns (Pods, ReplicaSets, Jobs, EndpointSlices,
// ControllerRevisions; see the package documentation) and waits, bounded by
// ctx, until those watches have synced. Per namespace it starts the
// namespace's watches, once; in the cluster-wide mode it records that ns is
// in use and starts the cluster-wide watches on the first call.
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

// namespaceWatch marks ns used and returns the descendant watches that
// cover it, starting them if needed.
func (c *Cache) namespaceWatch(runCtx context.Context, ns string) (*namespaceWatch, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	key := ns
	if c.clusterWide {
		key = metav1.NamespaceAll
	}
	nw := c.namespaces[key]
	if nw == nil {
		var err error
		if nw, err = c.startDescendants(runCtx, key); err != nil {
			return nil, err
		}
		c.namespaces[key] = nw
		c.log.Debug("watching descendants", "namespace", key)
	}
	nw.lastUsed = now
	if c.clusterWide {
		c.inUse[ns] = now
	}
	return nw, nil
}

// startDescendants starts the descendant watches of ns, or of every
// namespace when ns is metav1.NamespaceAll.
func (c *Cache) startDescendants(runCtx context.Context, ns string) (*namespaceWatch, error) {
	nsCtx, stop := context.WithCancel(runCtx)
	nw := &namespaceWatch{namespace: ns, stop: stop}
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
		if err := c.run(nsCtx, w, inf, packDescendant(d.podSpec), c.descendantHandler()); err != nil {
			nw.close()
			return nil, err
		}
		nw.watches = append(nw.watches, w)
	}
	return nw, nil
}

// ForgetNamespace releases ns, e.g. after it stopped being any
// Application's destination. Per namespace it stops the descendant watches
// of ns, with their event handlers, and drops what they cached; a later
// WatchNamespace starts them again. In the cluster-wide mode it only
// records that ns is no longer in use, and stops the cluster-wide watches
// when no namespace is left in use.
func (c *Cache) ForgetNamespace(ns string) {
	c.mu.Lock()
	var nw *namespaceWatch
	if c.clusterWide {
		delete(c.inUse, ns)
		nw = c.dropIdleClusterWide()
	} else {
		nw = c.namespaces[ns]
		delete(c.namespaces, ns)
	}
	c.mu.Unlock()
	if nw != nil {
		nw.close()
	}
}

// RetainNamespaces tells the cache which namespaces are still in use (the
// destinations of the Applications there are), and releases every other
// namespace that no WatchNamespace has asked for within
// Options.IdleTimeout, as ForgetNamespace does: per namespace its watches
// stop; in the cluster-wide mode the cluster-wide watches stop once no
// namespace is left in use, and until then the objects of released
// namespaces stay cached. The grace period keeps an app that moves away and
// back, or a namespace that is briefly nobody's, from restarting watches.
// It returns the namespaces it released, sorted. The reconciler calls it
// periodically.
func (c *Cache) RetainNamespaces(namespaces []string) []string {
	now := c.opts.Now()
	keep := make(map[string]bool, len(namespaces))
	for _, ns := range namespaces {
		keep[ns] = true
	}
	var released []string
	var idle []*namespaceWatch
	c.mu.Lock()
	if c.clusterWide {
		for ns, lastUsed := range c.inUse {
			switch {
			case keep[ns]:
				c.inUse[ns] = now
			case now.Sub(lastUsed) >= c.opts.IdleTimeout:
				delete(c.inUse, ns)
				released = append(released, ns)
			}
		}
		if nw := c.dropIdleClusterWide(); nw != nil {
			idle = append(idle, nw)
		}
	} else {
		for ns, nw := range c.namespaces {
			switch {
			case keep[ns]:
				nw.lastUsed = now
			case now.Sub(nw.lastUsed) >= c.opts.IdleTimeout:
				delete(c.namespaces, ns)
				idle = append(idle, nw)
				released = append(released, ns)
			}
		}
	}
	c.mu.Unlock()
	for _, nw := range idle {
		nw.close()
		c.log.Debug("stopped watching descendants", "namespace", nw.namespace)
	}
	sort.Strings(released)
	return released
}

// Namespaces returns the namespaces in use, sorted: those WatchNamespace
// asked for and that were not released since (see RetainNamespaces). In the
// per-namespace mode they are the namespaces with descendant watches.
func (c *Cache) Namespaces() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []string
	if c.clusterWide {
		out = slices.Collect(maps.Keys(c.inUse))
	} else {
		out = slices.Collect(maps.Keys(c.namespaces))
	}
	slices.Sort(out)
	return out
}

// dropIdleClusterWide removes and returns the cluster-wide descendant
// watches when no namespace is in use any more, for the caller to close
// once it has released c.mu; otherwise it returns nil. c.mu must be held.
func (c *Cache) dropIdleClusterWide() *namespaceWatch {
	nw := c.namespaces[metav1.NamespaceAll]
	if len(c.inUse) > 0 || nw == nil {
		return nil
	}
	delete(c.namespaces, metav1.NamespaceAll)
	return nw
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

// lastAppliedAnnotation is where kubectl apply keeps a copy of the whole
// object it applied.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// strippedContainerFields are the fields of a descendant's containers (init
// and ephemeral ones included) that stripDescendant drops.
var strippedContainerFields = []string{"env", "envFrom", "volumeMounts", "volumeDevices"}

// stripDescendant returns the first step of the transform of the
// descendant watches of a kind (packDescendant) whose pod spec is at
// podSpec (nil for none). It drops, to save memory,
// what neither the built-in health rules, the tree's info and images, the
// indexes nor the events read: metadata.managedFields (often the biggest
// part of an object), the kubectl.kubernetes.io/last-applied-configuration
// annotation, and from the pod spec the volumes and each container's env,
// envFrom, volumeMounts and volumeDevices. Everything else stays: the rest
// of the metadata, the containers' names, images, ports, probes and
// resources, restartPolicy, nodeName, the whole status, EndpointSlices
// whole. Custom health checks of descendant kinds see the stripped object.
func stripDescendant(podSpec []string) cache.TransformFunc {
	return func(obj any) (any, error) {
		switch o := obj.(type) {
		case *unstructured.Unstructured:
			o.SetManagedFields(nil)
			if md, ok := o.Object["metadata"].(map[string]any); ok {
				dropLastApplied(md)
			}
			if podSpec != nil {
				stripPodSpec(field(o.Object, podSpec...))
			}
		case *metav1.PartialObjectMetadata:
			o.ManagedFields = nil
			delete(o.Annotations, lastAppliedAnnotation)
		}
		return obj, nil
	}
}

// packDescendant is the transform of the descendant watches of a kind:
// stripDescendant, then pack. ReplicaSets, EndpointSlices and Pods are
// kept as their JSON as managed objects are (a ReplicaSet and an
// EndpointSlice per app were most of what a 1,000-app agent kept decoded),
// and decoded when the tree reads them whole.
func packDescendant(podSpec []string) cache.TransformFunc {
	strip := stripDescendant(podSpec)
	return func(obj any) (any, error) {
		obj, err := strip(obj)
		if err != nil {
			return nil, err
		}
		return pack(obj)
	}
}

// stripPodSpec drops the volumes of the unstructured pod spec spec and the
// strippedContainerFields of its containers.
func stripPodSpec(spec any) {
	m, ok := spec.(map[string]any)
	if !ok {
		return
	}
	delete(m, "volumes")
	for _, list := range []string{"initContainers", "containers", "ephemeralContainers"} {
		for _, ctr := range sliceField(m, list) {
			if c, ok := ctr.(map[string]any); ok {
				for _, f := range strippedContainerFields {
					delete(c, f)
				}
			}
		}
	}
}

// dropLastApplied removes the last-applied-configuration annotation from
// the unstructured metadata md, and the annotations when none is left.
func dropLastApplied(md map[string]any) {
	ann, ok := md["annotations"].(map[string]any)
	if !ok {
		return
	}
	if _, ok := ann[lastAppliedAnnotation]; !ok {
		return
	}
	delete(ann, lastAppliedAnnotation)
	if len(ann) == 0 {
		delete(md, "annotations")
	}
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
	p, ok := obj.(*packed)
	if !ok {
		return nil, nil
	}
	a, ok := trackedApp(&p.meta)
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
	case *packed:
		return &o.meta, true
	}
	return nil, false
}

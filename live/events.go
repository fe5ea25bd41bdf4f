package live

import (
	"slices"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// maxOwnerDepth bounds the walk up ownerReferences from a descendant to its
// managed ancestor (Deployment → ReplicaSet → Pod is two steps), so that a
// malformed owner cycle cannot loop.
const maxOwnerDepth = 8

// managedHandler calls OnChange with the Application of a managed object
// that was added, updated or deleted; on an update that moved the object to
// another Application, with both.
func (c *Cache) managedHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initialList bool) {
			if !initialList {
				c.notify(appendManagedApp(nil, obj))
			}
		},
		UpdateFunc: func(old, obj any) {
			c.notify(appendManagedApp(appendManagedApp(nil, old), obj))
		},
		DeleteFunc: func(obj any) {
			c.notify(appendManagedApp(nil, unwrapDeleted(obj)))
		},
	}
}

// descendantHandler calls OnChange with the Application of the managed
// ancestor of a descendant that was added, updated or deleted.
func (c *Cache) descendantHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initialList bool) {
			if !initialList {
				c.notify(c.appendAncestorApps(nil, obj))
			}
		},
		UpdateFunc: func(old, obj any) {
			c.notify(c.appendAncestorApps(c.appendAncestorApps(nil, old), obj))
		},
		DeleteFunc: func(obj any) {
			c.notify(c.appendAncestorApps(nil, unwrapDeleted(obj)))
		},
	}
}

// notify calls OnChange once for each Application in apps.
func (c *Cache) notify(apps []types.NamespacedName) {
	for _, a := range apps {
		c.opts.OnChange(a)
	}
}

// unwrapDeleted returns the last known state of a deleted object, which the
// informer wraps when it missed the deletion itself.
func unwrapDeleted(obj any) any {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return d.Obj
	}
	return obj
}

// appendManagedApp appends the Application of the managed object obj to
// apps, unless it is there already or obj is not tracked.
func appendManagedApp(apps []types.NamespacedName, obj any) []types.NamespacedName {
	p, ok := obj.(*packed)
	if !ok {
		return apps
	}
	a, ok := trackedApp(&p.meta)
	if !ok || slices.Contains(apps, a) {
		return apps
	}
	return append(apps, a)
}

// trackedApp returns the Application that u's tracking annotation names. An
// object whose tracking id is malformed or names another object (a copy of a
// managed object) belongs to no Application. The namespace in the id is
// ignored for cluster-scoped objects, which some manifests give one anyway.
func trackedApp(m *metav1.PartialObjectMetadata) (types.NamespacedName, bool) {
	appNs, appName, k, ok := app.ParseTrackingID(m.Annotations[app.TrackingAnnotation])
	if !ok {
		return types.NamespacedName{}, false
	}
	gvk := m.GroupVersionKind()
	live := app.ResourceKey{Group: gvk.Group, Kind: gvk.Kind, Namespace: m.Namespace, Name: m.Name}
	if k.Group != live.Group || k.Kind != live.Kind || k.Name != live.Name || (live.Namespace != "" && k.Namespace != live.Namespace) {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: appNs, Name: appName}, true
}

// appendAncestorApps appends to apps the Applications of the managed
// ancestors of the descendant obj, found by walking up its owner references
// through the descendant and managed caches.
func (c *Cache) appendAncestorApps(apps []types.NamespacedName, obj any) []types.NamespacedName {
	m, ok := objectMeta(obj)
	if !ok {
		return apps
	}
	return c.appendOwnerApps(apps, m.GetNamespace(), m.GetOwnerReferences(), 0)
}

// appendOwnerApps appends the Applications reached from the owner
// references refs of an object in namespace ns.
func (c *Cache) appendOwnerApps(apps []types.NamespacedName, ns string, refs []metav1.OwnerReference, depth int) []types.NamespacedName {
	for _, ref := range refs {
		if owner := c.managedByUID(ref.UID); owner != nil {
			apps = appendManagedApp(apps, owner)
			continue
		}
		if depth >= maxOwnerDepth {
			continue
		}
		if owner := c.descendantByUID(ns, ref.UID); owner != nil {
			apps = c.appendOwnerApps(apps, ns, owner.GetOwnerReferences(), depth+1)
		}
	}
	return apps
}

// managedByUID returns the managed object with uid, or nil.
func (c *Cache) managedByUID(uid types.UID) *packed {
	for _, w := range c.managedWatches() {
		objs, _ := w.informer.GetIndexer().ByIndex(indexUID, string(uid))
		for _, o := range objs {
			if p, ok := o.(*packed); ok {
				return p
			}
		}
	}
	return nil
}

// descendantByUID returns the descendant in namespace ns with uid, or nil.
func (c *Cache) descendantByUID(ns string, uid types.UID) metav1.Object {
	nw := c.namespaceWatches(ns)
	if nw == nil {
		return nil
	}
	for _, w := range nw.watches {
		objs, _ := w.informer.GetIndexer().ByIndex(indexUID, string(uid))
		for _, o := range objs {
			if m, ok := objectMeta(o); ok {
				return m
			}
		}
	}
	return nil
}

// managedWatches returns the managed watches started so far.
func (c *Cache) managedWatches() []*watch {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*watch, 0, len(c.managed))
	for _, w := range c.managed {
		out = append(out, w)
	}
	return out
}

// namespaceWatches returns the descendant watches that cover ns (in the
// cluster-wide mode, the cluster-wide ones), or nil.
func (c *Cache) namespaceWatches(ns string) *namespaceWatch {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.clusterWide {
		return c.namespaces[metav1.NamespaceAll]
	}
	return c.namespaces[ns]
}

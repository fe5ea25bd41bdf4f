package live

import (
	"cmp"
	"slices"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// Managed returns the cached objects whose tracking annotation names the
// Application appNs/appName, sorted by key, from the kinds watched so far
// (see Watch). Each call decodes them afresh: they are the caller's.
func (c *Cache) Managed(appNs, appName string) []*unstructured.Unstructured {
	id := types.NamespacedName{Namespace: appNs, Name: appName}.String()
	var out []*unstructured.Unstructured
	for _, w := range c.managedWatches() {
		objs, _ := w.informer.GetIndexer().ByIndex(indexApp, id)
		for _, o := range objs {
			if u, ok := unpack(o); ok {
				out = append(out, u)
			}
		}
	}
	slices.SortFunc(out, func(a, b *unstructured.Unstructured) int { return compareKeys(app.KeyOf(a), app.KeyOf(b)) })
	return out
}

// Get returns the cached object with key k from the watches of managed
// objects (any Application's, and labelled objects whose tracking id is
// missing or names another object), if its kind is watched and the object
// exists. Each call decodes it afresh: it is the caller's.
func (c *Cache) Get(k app.ResourceKey) (*unstructured.Unstructured, bool) {
	if p := c.find(k); p != nil {
		return unpack(p)
	}
	return nil, false
}

// Version returns the resourceVersion of the object Get would return,
// without decoding it.
func (c *Cache) Version(k app.ResourceKey) (string, bool) {
	if p := c.find(k); p != nil {
		return p.meta.ResourceVersion, true
	}
	return "", false
}

// find returns the packed object with key k from the managed watches, or
// nil.
func (c *Cache) find(k app.ResourceKey) *packed {
	c.mu.RLock()
	ws := c.kinds[k.GroupKind()]
	c.mu.RUnlock()
	storeKey := k.Name
	if k.Namespace != "" {
		storeKey = k.Namespace + "/" + k.Name
	}
	for _, w := range ws {
		if w.namespace != "" && w.namespace != k.Namespace {
			continue
		}
		if o, ok, _ := w.informer.GetIndexer().GetByKey(storeKey); ok {
			p, _ := o.(*packed)
			return p
		}
	}
	return nil
}

// unpack decodes a packed object of the managed or descendant watches;
// false for anything else, or JSON that does not decode (which pack wrote
// itself).
func unpack(obj any) (*unstructured.Unstructured, bool) {
	p, ok := obj.(*packed)
	if !ok {
		return nil, false
	}
	u, err := p.object()
	return u, err == nil
}

// compareKeys orders keys by group, kind, namespace and name.
func compareKeys(a, b app.ResourceKey) int {
	return cmp.Or(
		cmp.Compare(a.Group, b.Group),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
	)
}

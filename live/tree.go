package live

import (
	"cmp"
	"slices"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// TreeInput is one object an Application declares, as Tree takes it.
type TreeInput struct {
	// Key identifies the object.
	Key app.ResourceKey
	// Version is the API version git declares it at.
	Version string
	// Live is the object in the cluster, nil if it is missing.
	Live *unstructured.Unstructured
	// Sync is the object's sync status, as the caller compared it.
	Sync app.SyncStatus
}

// Tree builds the resource tree of the Application appNs/appName. The
// top-level nodes are the declared objects, with their live state when they
// exist (Missing health when they do not), followed by the Application's
// other managed objects the caller did not pass (extraneous objects, hooks),
// without a sync status. Below them come their descendants, found through
// ownerReferences in the watched namespaces (any namespace, when
// descendants are watched cluster-wide), and Service → EndpointSlice →
// Pod. Every node with a live object gets Options.Health's health, info items
// and images. Nodes are ordered parents first, then by key.
func (c *Cache) Tree(appNs, appName string, declared []TreeInput) []app.TreeNode {
	b := &treeBuilder{c: c, byUID: map[types.UID]*treeNode{}, byKey: map[app.ResourceKey]bool{}}
	roots := slices.Clone(declared)
	slices.SortStableFunc(roots, func(a, b TreeInput) int { return compareKeys(a.Key, b.Key) })
	for _, in := range roots {
		b.addRoot(in)
	}
	for _, u := range c.Managed(appNs, appName) {
		b.addRoot(TreeInput{Key: app.KeyOf(u), Version: u.GroupVersionKind().Version, Live: u})
	}
	for i := 0; i < len(b.nodes); i++ { // b.nodes grows as children are found
		b.addChildren(b.nodes[i])
	}
	return b.result()
}

// treeNode is a node under construction.
type treeNode struct {
	node app.TreeNode
	// obj is the live object's metadata; nil for a declared object that is
	// missing.
	obj metav1.Object
	// full is the live object whole, when the cache holds it whole.
	full *unstructured.Unstructured
	// parents are the node's parents in the tree, nil for roots.
	parents []*treeNode
	root    bool
	// depth is the length of the longest parent chain up to a root; -1
	// until computed, -2 while being computed.
	depth int
}

// treeBuilder collects the nodes of one tree.
type treeBuilder struct {
	c     *Cache
	nodes []*treeNode
	byUID map[types.UID]*treeNode
	byKey map[app.ResourceKey]bool
}

// addRoot adds a top-level node, unless one with the same key or uid is
// there already.
func (b *treeBuilder) addRoot(in TreeInput) {
	if b.byKey[in.Key] {
		return
	}
	var n *treeNode
	if in.Live == nil {
		n = &treeNode{node: app.TreeNode{Key: in.Key, Version: in.Version, Health: &app.HealthState{Status: app.Missing}}}
	} else {
		if b.byUID[in.Live.GetUID()] != nil {
			return
		}
		n = b.newTreeNode(in.Live.GroupVersionKind(), in.Live)
		n.node.Key = in.Key
		if in.Version != "" {
			n.node.Version = in.Version
		}
		b.byUID[n.node.UID] = n
	}
	n.root = true
	n.node.Sync = in.Sync
	b.byKey[in.Key] = true
	b.nodes = append(b.nodes, n)
}

// addChildren adds the children of parent that the cache knows about and
// links them to parent.
func (b *treeBuilder) addChildren(parent *treeNode) {
	if parent.obj == nil {
		return
	}
	for _, ch := range b.c.children(parent) {
		m, _ := objectMeta(ch.obj)
		if n := b.byUID[m.GetUID()]; n != nil {
			if !n.root && !slices.Contains(n.parents, parent) && n != parent {
				n.parents = append(n.parents, parent)
			}
			continue
		}
		n := b.newTreeNode(ch.gvk, ch.obj)
		n.parents = []*treeNode{parent}
		b.byUID[n.node.UID] = n
		b.nodes = append(b.nodes, n)
	}
}

// newTreeNode returns the node of the live object obj of kind gvk, with its
// health, info and images when obj is a full object.
func (b *treeBuilder) newTreeNode(gvk schema.GroupVersionKind, obj any) *treeNode {
	m, _ := objectMeta(obj)
	key := app.ResourceKey{Group: gvk.Group, Kind: gvk.Kind, Namespace: m.GetNamespace(), Name: m.GetName()}
	n := &treeNode{obj: m, node: app.TreeNode{Key: key, Version: gvk.Version, UID: m.GetUID()}, depth: -1}
	if ts := m.GetCreationTimestamp(); !ts.IsZero() {
		n.node.CreatedAt = &ts
	}
	if u, ok := wholeObject(obj); ok {
		n.full = u
		if h, ok := b.c.opts.Health.Check(u); ok {
			n.node.Health = &h
		}
		n.node.Info = info(key.GroupKind(), u.Object)
		n.node.Images = images(key.GroupKind(), u.Object)
	}
	return n
}

// wholeObject returns a cached object whole: as given, or decoded when
// packed; false for one watched by its metadata only.
func wholeObject(obj any) (*unstructured.Unstructured, bool) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u, true
	}
	return unpack(obj)
}

// result orders the nodes (parents first, then by key) and fills in their
// ParentUIDs in that order.
func (b *treeBuilder) result() []app.TreeNode {
	for _, n := range b.nodes {
		b.depth(n)
	}
	slices.SortStableFunc(b.nodes, func(x, y *treeNode) int {
		return cmp.Or(cmp.Compare(x.depth, y.depth), compareKeys(x.node.Key, y.node.Key), cmp.Compare(x.node.UID, y.node.UID))
	})
	pos := make(map[*treeNode]int, len(b.nodes))
	for i, n := range b.nodes {
		pos[n] = i
	}
	out := make([]app.TreeNode, len(b.nodes))
	for i, n := range b.nodes {
		slices.SortFunc(n.parents, func(x, y *treeNode) int { return cmp.Compare(pos[x], pos[y]) })
		for _, p := range n.parents {
			n.node.ParentUIDs = append(n.node.ParentUIDs, p.node.UID)
		}
		out[i] = n.node
	}
	return out
}

// depth computes n.depth: 0 for roots, otherwise one more than its deepest
// parent. A parent on an owner cycle counts as a root.
func (b *treeBuilder) depth(n *treeNode) int {
	switch {
	case n.root:
		n.depth = 0
	case n.depth == -2:
		return 0
	case n.depth >= 0:
	default:
		n.depth = -2
		d := 0
		for _, p := range n.parents {
			d = max(d, b.depth(p)+1)
		}
		n.depth = d
	}
	return n.depth
}

// child is a descendant object found in the cache with the kind of the
// watch that holds it.
type child struct {
	gvk schema.GroupVersionKind
	obj any
}

// children returns the cached children of the tree node n: the
// descendants its uid owns, and for a Service its EndpointSlices, for an
// EndpointSlice the Pods its endpoints point at.
func (c *Cache) children(n *treeNode) []child {
	ns := n.obj.GetNamespace()
	var nws []*namespaceWatch
	if ns != "" {
		if nw := c.namespaceWatches(ns); nw != nil {
			nws = append(nws, nw)
		}
	} else {
		nws = c.allNamespaceWatches()
	}
	var out []child
	for _, nw := range nws {
		for _, w := range nw.watches {
			objs, _ := w.informer.GetIndexer().ByIndex(indexOwner, string(n.obj.GetUID()))
			for _, o := range objs {
				out = append(out, child{gvk: w.gvk, obj: o})
			}
		}
	}
	if len(nws) == 0 || ns == "" {
		return out
	}
	switch n.node.Key.GroupKind() {
	case schema.GroupKind{Kind: "Service"}:
		if w := nws[0].byKind(schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}); w != nil {
			objs, _ := w.informer.GetIndexer().ByIndex(indexService, ns+"/"+n.obj.GetName())
			for _, o := range objs {
				out = append(out, child{gvk: w.gvk, obj: o})
			}
		}
	case schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}:
		if w := nws[0].byKind(schema.GroupKind{Kind: "Pod"}); w != nil {
			out = append(out, endpointPods(w, n.full)...)
		}
	}
	return out
}

// endpointPods returns the Pods in w that the endpoints of the EndpointSlice
// slice point at; none when slice is nil.
func endpointPods(w *watch, slice *unstructured.Unstructured) []child {
	if slice == nil {
		return nil
	}
	var out []child
	for _, e := range sliceField(slice.Object, "endpoints") {
		ref, _ := e.(map[string]any)["targetRef"].(map[string]any)
		if ref == nil || str(ref, "kind") != "Pod" {
			continue
		}
		ns := str(ref, "namespace")
		if ns == "" {
			ns = slice.GetNamespace()
		}
		if w.namespace != metav1.NamespaceAll && ns != w.namespace {
			continue
		}
		o, ok, _ := w.informer.GetIndexer().GetByKey(ns + "/" + str(ref, "name"))
		if !ok {
			continue
		}
		if uid := str(ref, "uid"); uid != "" {
			if m, _ := objectMeta(o); m == nil || string(m.GetUID()) != uid {
				continue
			}
		}
		out = append(out, child{gvk: w.gvk, obj: o})
	}
	return out
}

// allNamespaceWatches returns every set of descendant watches: one per
// namespace, or the cluster-wide one.
func (c *Cache) allNamespaceWatches() []*namespaceWatch {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*namespaceWatch, 0, len(c.namespaces))
	for _, nw := range c.namespaces {
		out = append(out, nw)
	}
	return out
}

package localcluster

import (
	"sync"
	_ "unsafe" // for go:linkname

	"k8s.io/client-go/tools/cache"
)

// buildMu serialises the building of the components of the clusters in one
// process. Building a kube-apiserver or kube-controller-manager reads and
// writes process-wide registries (the component-globals registry with the
// feature gates, the legacy metrics registry, configz, client-go's informer
// names); once built, the components of several clusters run side by side.
var buildMu sync.Mutex

// kcmInformerName is the name kube-controller-manager's Run registers its
// shared informers under (in CreateControllerContext). client-go keeps one
// registry of such names per process and refuses a name that is held, so a
// second controller manager in the process fails unless the first one's
// name is released. The name only decides which informers publish metrics.
const kcmInformerName = "kube-controller-manager"

// informerNameRegistry is client-go's process-wide registry of informer
// names. gyre reads it to learn when a controller manager has registered
// its name; TestInformerNameRegistryLayout fails if its shape changes.
//
//go:linkname informerNameRegistry k8s.io/client-go/tools/cache.informerNameRegistry
var informerNameRegistry struct {
	sync.Mutex
	names map[string]*cache.InformerName
}

// heldInformerName returns the registered informer name called name, or
// nil.
func heldInformerName(name string) *cache.InformerName {
	informerNameRegistry.Lock()
	defer informerNameRegistry.Unlock()
	return informerNameRegistry.names[name]
}

// releaseInformerName releases the informer name called name if one is
// held, so that the next controller manager can register it. The running
// controller manager that held it keeps working; its informers stop
// publishing metrics.
func releaseInformerName(name string) {
	if n := heldInformerName(name); n != nil {
		n.Release()
	}
}

// Package live keeps what is in the cluster now in memory: the objects gyre
// manages and the objects the cluster made from them, watched through
// informers, so that diff, health and the resource tree read memory instead
// of the API server, and a change in the cluster re-queues the owning
// Application within milliseconds instead of waiting for a poll.
//
// # Two kinds of watches
//
// Managed objects are watched cluster-wide, one informer per resource,
// selecting only objects that carry the gyre.dev/app label. Cache.Watch
// starts them on first request for the kinds an Application declares; kinds
// are mapped to resources through a discovery REST mapper, which is reset
// once and asked again when a kind is not found, because a CRD applied in an
// earlier wave of the same sync shows up in discovery only then. The
// tracking annotation (gyre.dev/tracking-id), not the label, says which
// Application owns an object: an object whose tracking id names another
// object (a copy made with kubectl get -o yaml) belongs to nobody.
//
// Descendants are what controllers create from managed objects:
// ReplicaSets, Pods, Jobs, EndpointSlices (full objects, for health and the
// tree) and ControllerRevisions (metadata only). They carry no gyre label,
// so Cache.WatchNamespace watches them per destination namespace, all of
// them. Their managedFields are dropped to save memory; managed objects keep
// theirs, because diff reads them.
//
// Descendant watches are released when no Application deploys to their
// namespace any more: the reconciler calls Cache.RetainNamespaces
// periodically with the namespaces in use, and the watches of any other
// namespace that WatchNamespace has not asked for within
// Options.IdleTimeout are stopped, with their event handlers, and their
// objects dropped. The managed watches, one per kind, stay.
//
// Every object is indexed by uid and by its owners' uids, managed objects
// also by Application, and EndpointSlices by Service, so that finding an
// app's objects, an object's children or an object's owner costs the size of
// the answer, not the size of the cluster.
//
// # Events
//
// A change to a managed object calls Options.OnChange with its Application
// (both Applications if the tracking id changed hands). A change to a
// descendant walks up its ownerReferences through the descendant caches to
// the first managed ancestor and calls OnChange with that object's
// Application; descendants nobody gyre manages owns are ignored. The initial
// list of a new watch does not call OnChange: whoever asked for the watch is
// about to read the cache anyway. OnChange runs on informer goroutines and
// must not block.
//
// # The resource tree
//
// Cache.Tree builds an Application's tree for the UI and the CLI: the
// declared objects at the top, below them their descendants found through
// ownerReferences (Deployment → ReplicaSet → Pod, CronJob → Job → Pod,
// StatefulSet → Pod and ControllerRevision, …), and Service → EndpointSlice →
// Pod through the kubernetes.io/service-name label and the endpoints'
// targetRefs. A Pod behind a Service therefore has two parents, its
// ReplicaSet and the EndpointSlice. Nodes come out parents first (by depth,
// the longest owner chain from a declared object), then by key, so the same
// cluster gives the same tree. Descendants appear only for namespaces that
// are watched with WatchNamespace.
//
// Objects returned by Managed and Get are the cache's own: callers must not
// modify them (DeepCopy first).
package live

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
// so they are watched whole, for the namespaces that Cache.WatchNamespace
// asks for, in one of two modes:
//
//   - Cluster-wide, when the cache may watch the whole cluster
//     (Options.Namespaces empty, the default): each kind once, for every
//     namespace, five watches whatever the number of Applications and
//     namespaces. WatchNamespace starts them on its first call and
//     afterwards only records that the namespace is in use. The cache then
//     holds the descendants of every namespace, also of namespaces no
//     Application uses, and the tree shows an object's descendants in any
//     namespace.
//   - Per namespace, when the cache is limited to Options.Namespaces (RBAC
//     that grants only them) or Options.NamespacedDescendants is set: five
//     watches for each namespace WatchNamespace asked for, holding only
//     those namespaces' descendants.
//
// Their managedFields and kubectl's last-applied-configuration annotation
// are dropped to save memory, and so are the pod spec's volumes and the
// containers' env, envFrom, volumeMounts and volumeDevices (a Pod's, or the
// pod template's of a ReplicaSet or Job): neither health, the tree nor the
// events read them, though a custom health check of such a kind would see
// them missing. Managed objects are cached whole: diff reads their
// managedFields, and sync's RespectIgnoreDifferences copies whatever fields
// ignoreDifferences names (the last-applied annotation, say) from them. They
// are kept as their JSON, deflated, with the metadata the indexes and
// events read beside it, and inflated and decoded afresh for each Managed
// or Get: as the nested maps a watch decodes, they took five to ten times
// the size of their JSON, most of what the cache held, and deflating takes
// a further two to three times off a Deployment's.
//
// Namespaces are released when no Application deploys to them any more: the
// reconciler calls Cache.RetainNamespaces periodically with the namespaces
// in use, and any other namespace that WatchNamespace has not asked for
// within Options.IdleTimeout is released. Per namespace, its watches are
// stopped, with their event handlers, and their objects dropped. In the
// cluster-wide mode releasing a namespace is bookkeeping: its objects stay
// cached (that costs memory, not watches) until no namespace is in use at
// all, when the cluster-wide descendant watches stop. The managed watches,
// one per kind, stay.
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
// cluster gives the same tree. Descendants appear only while their
// namespace is watched: per namespace, the namespaces WatchNamespace asked
// for and that were not released since; cluster-wide, every namespace.
//
// Objects returned by Managed and Get are the cache's own: callers must not
// modify them (DeepCopy first).
package live

// Package localcluster runs a real Kubernetes control plane inside the gyre
// process: embedded etcd, the real kube-apiserver and kube-controller-manager's
// controllers from k8s.io/kubernetes, and simulated nodes written for gyre.
//
// It exists so that gyre works on a bare machine (`gyre up`) and so that
// every test of behaviour the API server decides (apply, conflicts,
// defaulting, garbage collection) runs against the real thing.
//
// The simulated nodes stand in for kubelets, the scheduler, cloud load
// balancers and volume provisioners: pods are bound to nodes round robin
// (DaemonSet pods to the node they name) and reported Running and Ready with
// container statuses and pod IPs; pods of Jobs finish Succeeded (or Failed,
// when their command is `false` or ends in `exit 1`); deleted pods
// are removed at once; LoadBalancer Services and Ingresses get an address;
// PersistentVolumeClaims are bound to a new volume. Containers never run.
//
// Everything lives in one data directory: etcd's data, a certificate
// authority and the admin client certificate (so the written kubeconfig
// stays valid across restarts), and the components' logs. A lock on the
// directory keeps two processes from sharing it; the kernel drops the lock
// when a process dies, and etcd recovers from its write-ahead log, so a
// killed process leaves a usable directory.
//
// Several clusters may run in one process at once, each with its own data
// dir, etcd, API server, controllers and simulated nodes (`gyre up
// --clusters`, and tests of many clusters); any of them may be stopped and
// started again on the same data dir and address while the others run.
// The Kubernetes libraries keep process-wide state, and this is how the
// package lives with it:
//
//   - Building an API server or a controller manager reads and writes
//     process-wide registries (feature gates and the component-globals
//     registry, the legacy metrics registry). Clusters are built one at a
//     time under one lock, then run side by side; the flags they are built
//     with are the same, so the shared values agree.
//   - kube-controller-manager registers its configuration page (configz)
//     and its informers' name under fixed process-wide names, and refuses
//     to start when they are taken. A start drops the running holder's
//     (nothing serves the page; the name only decides which informers
//     publish metrics) and waits until its own are registered before the
//     next start may do the same.
//   - klog, gRPC's logger and the etcd client's logger are process-wide, so
//     a line cannot be attributed to a cluster. All of them go to the
//     apiserver.log of the earliest started cluster still running (LogPath);
//     a later cluster's own apiserver.log says where that is. Each etcd
//     keeps its own etcd.log.
//   - Metrics of the components share the legacy registries; gyre exposes
//     none of them.
package localcluster

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
// The Kubernetes libraries keep process-wide state (feature gates, the
// component-globals registry, klog), so one process runs one cluster at a
// time; stopping and starting again in the same process is supported.
package localcluster

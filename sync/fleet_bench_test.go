package sync

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/appset"
	clusters "github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// fleetLabel marks the cluster Secrets BenchmarkFleet's clusters
// generator selects.
const fleetLabel = "gyre.dev/fleet-bench"

// BenchmarkFleet is the fleet benchmark. One ApplicationSet whose
// generator is the matrix of a clusters generator (the embedded cluster
// and the workload clusters wl-1 and wl-2, selected by a label on their
// Secrets; the embedded one gets a Secret for it) and a list of 100
// elements makes 300 Applications of three objects each (a ConfigMap, a
// Deployment scaled to zero, a Service) from one folder of one repository,
// each into its own namespace (CreateNamespace=true), synced
// automatically. The appset controller runs in this process beside the
// shared loop, on its git cache and cluster registry, as cmd/gyre runs it.
//
// It reports:
//
//   - s/300apps: from creating the ApplicationSet until the shared loop
//     sees all 300 Applications Synced at the commit and Healthy (its
//     Applications() polled every 100ms); ms/app is that time over 300.
//   - MiB/cluster: the heap one workload cluster's target holds with its
//     100 Applications synced: its clients, discovery and live cache
//     (watches of 100 namespaces, and the objects in them). It is measured
//     by dropping the two workload targets, as the loop does when no
//     Application deploys to a cluster any more, and halving the heap in
//     use (after two collections) that this frees once their goroutines
//     have ended. The three API servers run in this process too, but they
//     keep their data, so the difference is gyre's alone. What the loop
//     holds per Application whatever its cluster (decoded Applications,
//     statuses, the render cache) is not in it.
//   - objects/cluster and watches/cluster: what each workload target's
//     live cache held then, on average.
//
// Run with -benchtime 1x: each iteration makes 300 Applications and 300
// namespaces, and deletes them before the next.
func BenchmarkFleet(b *testing.B) {
	const elements = 100
	wl := workloadClusters(b)
	if err := appset.InstallCRD(ctx, cluster.Dynamic, "gyre-test"); err != nil {
		b.Fatal(err)
	}
	servers := fleetClusters(b, wl)
	ns := cluster.Namespace(b)
	startAppsets(b, ns)
	r := newRepo(b)
	sha := r.commit(map[string]*string{
		"app/cm.yaml":     s(configMap("settings", "fleet")),
		"app/deploy.yaml": s(deployment("web", "nginx:1.27", 0)),
		"app/svc.yaml":    s(service("web")),
	})
	want := elements * (len(wl) + 1)

	var took time.Duration
	var mib, objects, watches float64
	run := 0
	for b.Loop() {
		prefix := fmt.Sprintf("%d-", run)
		set := fleetSet(b, fmt.Sprintf("fleet-%d", run), r.dir, prefix, elements)
		start := time.Now()
		if _, err := cluster.Dynamic.Resource(appset.GroupVersionResource()).Namespace(ns).Create(ctx, set, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		byCluster := waitFleet(b, ns, sha, want, start)
		took = time.Since(start)
		b.StopTimer()
		b.Logf("run %d: %d Applications Synced and Healthy after %s; each cluster's last: %v", run, want, took.Round(time.Millisecond), byCluster)
		waitQuiet(b, ns)
		mib, objects, watches = dropTargets(b, ns, servers[1:])
		deleteFleet(b, ns, set.GetName(), prefix, elements, wl)
		run++
		b.StartTimer()
	}
	b.ReportMetric(took.Seconds(), fmt.Sprintf("s/%dapps", want))
	b.ReportMetric(float64(took.Milliseconds())/float64(want), "ms/app")
	b.ReportMetric(mib, "MiB/cluster")
	b.ReportMetric(objects, "objects/cluster")
	b.ReportMetric(watches, "watches/cluster")
}

// fleetClusters labels the cluster Secrets of wl with fleetLabel, gives
// the embedded cluster a Secret with it, and returns the servers of the
// three, the embedded one first. The Secrets are as before when b ends.
func fleetClusters(b *testing.B, wl []*clustertest.Cluster) []string {
	b.Helper()
	home := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet-in-cluster", Namespace: reconciler.opts.SystemNamespace, Labels: map[string]string{clusters.LabelSecretType: clusters.SecretTypeCluster}},
		Data:       map[string][]byte{clusters.KeyName: []byte(clusters.InClusterName), clusters.KeyServer: []byte(clusters.InClusterServer)},
	}
	secrets := []*corev1.Secret{home}
	for i, c := range wl {
		secrets = append(secrets, clusterSecret(b, workloadName(i), c, nil))
	}
	servers := make([]string, 0, len(secrets))
	for _, sec := range secrets {
		sec.Labels[fleetLabel] = "true"
		putClusterSecret(b, sec)
		if err := clusterRegistry.Invalid()[sec.Name]; err != nil {
			b.Fatalf("cluster Secret %s: %v", sec.Name, err)
		}
		c, err := clusterRegistry.Resolve(app.Destination{Name: string(sec.Data[clusters.KeyName])})
		if err != nil {
			b.Fatal(err)
		}
		servers = append(servers, c.Server)
	}
	b.Cleanup(func() {
		cluster.Client.CoreV1().Secrets(home.Namespace).Delete(ctx, home.Name, metav1.DeleteOptions{})
		for i, c := range wl {
			putClusterSecret(b, clusterSecret(b, workloadName(i), c, nil))
		}
	})
	return servers
}

// startAppsets runs an appset controller over namespace ns until b ends.
func startAppsets(b *testing.B, ns string) {
	b.Helper()
	c, err := appset.New(cluster.Config, appset.Options{Namespace: ns, Clusters: clusterRegistry, Git: reconciler.source, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	if err := c.Start(cctx); err != nil {
		cancel()
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { c.Work(cctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
}

// fleetSet is the ApplicationSet of the benchmark: every fleetLabel
// cluster × elements list elements named prefix000 on, from path "app"
// of the repository at dir.
func fleetSet(b *testing.B, name, dir, prefix string, elements int) *unstructured.Unstructured {
	b.Helper()
	var list strings.Builder
	for i := range elements {
		fmt.Fprintf(&list, "          - {element: '%s%03d'}\n", prefix, i)
	}
	manifest := fmt.Sprintf(`apiVersion: gyre.dev/v1alpha1
kind: ApplicationSet
metadata: {name: %s}
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  syncPolicy: {preserveResourcesOnDeletion: true}
  generators:
  - matrix:
      generators:
      - clusters: {selector: {matchLabels: {%s: "true"}}}
      - list:
          elements:
%s  template:
    metadata: {name: '{{ .name }}-{{ .element }}'}
    spec:
      project: default
      source: {repoURL: '%s', targetRevision: main, path: app}
      destination: {server: '{{ .server }}', namespace: 'fleet-{{ .element }}'}
      syncPolicy:
        automated: {prune: true, selfHeal: true}
        syncOptions: [CreateNamespace=true]
`, name, fleetLabel, list.String(), dir)
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &obj.Object); err != nil {
		b.Fatalf("ApplicationSet %s: %v", name, err)
	}
	return obj
}

// waitFleet polls the shared loop every 100ms until want Applications in
// ns are Synced at sha and Healthy, and returns when each destination's
// last one was, counted from start.
func waitFleet(b *testing.B, ns, sha string, want int, start time.Time) map[string]time.Duration {
	b.Helper()
	last := map[string]time.Duration{}
	deadline := time.Now().Add(10 * time.Minute)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		total, done := 0, 0
		seen, pending := map[string]bool{}, map[string]int{}
		var waiting []string
		for _, a := range reconciler.Applications() {
			if a.Namespace != ns {
				continue
			}
			total++
			server := a.Spec.Destination.Server
			seen[server] = true
			if a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == sha && a.Status.Health.Status == app.Healthy {
				done++
				continue
			}
			pending[server]++
			if len(waiting) < 3 {
				waiting = append(waiting, fmt.Sprintf("%s: sync %s, health %s %q, op %s, conditions %v", a.Name, a.Status.Sync.Status, a.Status.Health.Status, a.Status.Health.Message, opSummary(a), a.Status.Conditions))
			}
		}
		for server := range seen {
			if _, ok := last[server]; !ok && total == want && pending[server] == 0 {
				last[server] = time.Since(start).Round(time.Millisecond)
			}
		}
		if total == want && done == want {
			return last
		}
		if time.Now().After(deadline) {
			b.Fatalf("after 10m, %d of %d Applications generated, %d Synced and Healthy; waiting by cluster %v: %s", total, want, done, pending, strings.Join(waiting, "; "))
		}
		<-tick.C
	}
}

// waitQuiet waits until the loop has nothing queued and has neither
// reconciled nor changed an Application in ns for a second: the status
// writes that follow a sync queue their Application again, and a
// reconcile of one on a dropped target would build it again.
func waitQuiet(b *testing.B, ns string) {
	b.Helper()
	var last string
	changed := time.Now()
	clustertest.Eventually(b, time.Minute, func() (bool, string) {
		now := fleetState(ns)
		if now != last || reconciler.queue.Len() > 0 {
			last, changed = now, time.Now()
		}
		return time.Since(changed) >= time.Second, fmt.Sprintf("%d queued", reconciler.queue.Len())
	})
}

// fleetState is the resourceVersion and reconcile count of every
// Application in ns, as one string that changes when any of them does.
func fleetState(ns string) string {
	var out []string
	for _, a := range reconciler.Applications() {
		if a.Namespace == ns {
			n, _ := observed.counts(a.Key())
			out = append(out, fmt.Sprintf("%s@%s#%d", a.Name, a.ResourceVersion, n))
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// changedSince lists the entries of fleetState now that were not in
// before.
func changedSince(before, now string) []string {
	old := strings.Fields(before)
	var out []string
	for _, e := range strings.Fields(now) {
		if !slices.Contains(old, e) {
			out = append(out, e)
		}
	}
	return out
}

// dropTargets drops the targets of servers as releaseTargets does and
// returns the heap in use, in MiB, that each held on average, and the
// objects and watches of each live cache.
func dropTargets(b *testing.B, ns string, servers []string) (mib, objects, watches float64) {
	b.Helper()
	state := fleetState(ns)
	reconciler.mu.Lock()
	var dropped []*target
	for _, server := range servers {
		if t, ok := reconciler.targets[server]; ok {
			dropped = append(dropped, t)
		}
	}
	reconciler.mu.Unlock()
	if len(dropped) != len(servers) {
		b.Fatalf("%d targets of %d servers %v", len(dropped), len(servers), servers)
	}
	for _, t := range dropped {
		for _, st := range t.live.Stats() {
			objects += float64(st.Objects)
			watches++
		}
	}
	before := measure(b)
	reconciler.mu.Lock()
	for _, t := range dropped {
		t.stop()
		delete(reconciler.targets, t.server)
	}
	reconciler.mu.Unlock()
	// Their watches end once their goroutines do: wait until the count
	// has fallen and holds for a poll.
	prev := runtime.NumGoroutine()
	clustertest.Eventually(b, 30*time.Second, func() (bool, string) {
		n := runtime.NumGoroutine()
		settled := n == prev && float64(n) < before.goroutines
		prev = n
		return settled, fmt.Sprintf("%d goroutines, %v before dropping the targets", n, before.goroutines)
	})
	after := measure(b)
	reconciler.mu.Lock()
	for _, server := range servers {
		if _, ok := reconciler.targets[server]; ok {
			b.Errorf("the target of %s was built again while the heap was measured: MiB/cluster means nothing; reconciled or changed since: %v", server, changedSince(state, fleetState(ns)))
		}
	}
	reconciler.mu.Unlock()
	n := float64(len(dropped))
	b.Logf("heap in use %.1f MiB with the workload targets, %.1f MiB without; goroutines %v → %v", before.heapMiB, after.heapMiB, before.goroutines, after.goroutines)
	return (before.heapMiB - after.heapMiB) / n, objects / n, watches / n
}

// deleteFleet deletes the ApplicationSet name in ns, waits until its
// Applications are gone, and deletes the namespaces they deployed to in
// every cluster (the set preserves their resources).
func deleteFleet(b *testing.B, ns, name, prefix string, elements int, wl []*clustertest.Cluster) {
	b.Helper()
	if err := cluster.Dynamic.Resource(appset.GroupVersionResource()).Namespace(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		b.Fatal(err)
	}
	clustertest.Eventually(b, 5*time.Minute, func() (bool, string) {
		l, err := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(l.Items) == 0, fmt.Sprintf("%d Applications left", len(l.Items))
	})
	clients := []kubernetes.Interface{cluster.Client}
	for _, c := range wl {
		clients = append(clients, c.Client)
	}
	for _, c := range clients {
		for i := range elements {
			c.CoreV1().Namespaces().Delete(ctx, fmt.Sprintf("fleet-%s%03d", prefix, i), metav1.DeleteOptions{})
		}
	}
}

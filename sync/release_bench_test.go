package sync

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// usage is what the process holds at one point of the benchmark.
type usage struct {
	heapMiB    float64 // heap in use after a full collection
	goroutines float64
	cached     float64 // objects the live cache holds
	watches    float64 // informers the live cache runs
	gitDirs    float64 // repositories in the git cache
}

// measure returns the shared loop's usage now. The process holds the
// embedded control plane too, whose heap grows with what the cluster
// stores: only the differences of the heap mean something, and a heap
// profile (-memprofile) tells gyre's share.
func measure(b *testing.B) usage {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	u := usage{heapMiB: float64(m.HeapInuse) / (1 << 20), goroutines: float64(runtime.NumGoroutine()), gitDirs: float64(len(repoDirs(b)))}
	for _, st := range reconciler.home.live.Stats() {
		u.cached += float64(st.Objects)
		u.watches++
	}
	return u
}

// report reports u under names ending in suffix.
func (u usage) report(b *testing.B, suffix string) {
	b.ReportMetric(u.heapMiB, "heap-MiB-"+suffix)
	b.ReportMetric(u.goroutines, "goroutines-"+suffix)
	b.ReportMetric(u.cached, "cached-objects-"+suffix)
	b.ReportMetric(u.watches, "watches-"+suffix)
	b.ReportMetric(u.gitDirs, "git-repos-"+suffix)
}

// BenchmarkReleaseAfterDelete creates 200 Applications of three objects
// each (a Deployment, a Service, a ConfigMap) from four repositories into
// eight namespaces, waits until every one is Synced and Healthy, deletes
// them all (their objects with them), and waits until the loop has
// forgotten them and released their repositories and namespaces. It
// reports the heap in use, the goroutines, the objects and watches of the
// live cache and the repositories of the git cache before, with and after
// the apps. Run with -benchtime=1x.
func BenchmarkReleaseAfterDelete(b *testing.B) {
	const apps, repos, namespaces, objects = 200, 4, 8, 3
	var before, with, after usage
	for b.Loop() {
		b.StopTimer()
		nss := make([]string, namespaces)
		for i := range nss {
			nss[i] = cluster.Namespace(b)
		}
		rs := make([]*repo, repos)
		shas := make([]string, repos)
		for i := range rs {
			rs[i] = newRepo(b)
			files := map[string]*string{}
			for j := i; j < apps; j += repos {
				for k, v := range appFiles(fmt.Sprintf("apps/%d", j), fmt.Sprintf("a%d", j), objects) {
					files[k] = v
				}
			}
			shas[i] = rs[i].commit(files)
		}
		dirs := repoDirs(b)
		before = measure(b)

		b.StartTimer()
		keys := make([]types.NamespacedName, apps)
		for i := range apps {
			keys[i] = newApp(b, nss[i%namespaces], fmt.Sprintf("a%d", i), rs[i%repos], fmt.Sprintf("apps/%d", i), func(a *app.Application) {
				a.Finalizers = []string{ResourcesFinalizer}
			})
		}
		for i, key := range keys {
			sha := shas[i%repos]
			waitApp(b, key, 5*time.Minute, func(a *app.Application) (bool, string) {
				return a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == sha && a.Status.Health.Status == app.Healthy, "not synced and healthy"
			})
		}
		b.StopTimer()
		with = measure(b)
		b.StartTimer()

		for _, key := range keys {
			if err := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(key.Namespace).Delete(ctx, key.Name, metav1.DeleteOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		clustertest.Eventually(b, 5*time.Minute, func() (bool, string) {
			left := 0
			for _, ns := range nss {
				l, err := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					return false, err.Error()
				}
				left += len(l.Items)
			}
			return left == 0, fmt.Sprintf("%d applications left", left)
		})
		clustertest.Eventually(b, time.Minute, func() (bool, string) {
			var watched []string
			for _, ns := range nss {
				if watchesNamespace(ns) {
					watched = append(watched, ns)
				}
			}
			var added []string
			for _, d := range repoDirs(b) {
				if !slices.Contains(dirs, d) {
					added = append(added, d)
				}
			}
			return len(watched) == 0 && len(added) == 0, fmt.Sprintf("namespaces still watched: %v; git caches left: %v", watched, added)
		})
		b.StopTimer()
		after = measure(b)
		b.StartTimer()
	}
	before.report(b, "before")
	with.report(b, "with-apps")
	after.report(b, "after-delete")
}

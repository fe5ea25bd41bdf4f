package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// configMaps returns one file of n ConfigMaps named prefix-0000… .
func configMaps(prefix string, n int) map[string]*string {
	docs := make([]string, n)
	for i := range docs {
		docs[i] = configMap(fmt.Sprintf("%s-%04d", prefix, i), "v1")
	}
	return map[string]*string{"cms.yaml": s(strings.Join(docs, "---\n"))}
}

// editConfigMaps changes the data of the named ConfigMaps in ns, as a
// person with kubectl would: drift.
func editConfigMaps(t *testing.T, ns string, names ...string) {
	t.Helper()
	for _, name := range names {
		cm, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["value"] = "edited"
		if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func resourceNames(rs []app.ResourceStatus) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

// boundedReconciler starts a second Reconciler whose statuses list at most
// limit objects (Options.StatusResourceLimit). It does not work the queue:
// the test drives it by hand, while the shared one goes on reconciling the
// same Applications with the default limit.
func boundedReconciler(t *testing.T, limit int) *Reconciler {
	t.Helper()
	r, err := New(rest.CopyConfig(cluster.Config), reconciler.source, Options{Logger: slog.New(slog.DiscardHandler), StatusResourceLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestStatusListsTheMostUsefulObjects: with more objects than
// StatusResourceLimit, the status lists the out-of-sync ones first, counts
// them all in its summary, and the reconciler serves the complete list, from
// memory or, once it forgot it, from a new comparison.
func TestStatusListsTheMostUsefulObjects(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	repo := newRepo(t)
	sha := repo.commit(configMaps("cm", 12))
	key := newApp(t, ns, "many", repo, "", func(a *app.Application) { a.Spec.SyncPolicy.Automated.SelfHeal = false })
	waitApp(t, key, time.Minute, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == sha, "not synced"
	})
	drifted := []string{"cm-0008", "cm-0010", "cm-0011"} // late in key order
	editConfigMaps(t, ns, drifted...)
	waitApp(t, key, 10*time.Second, func(a *app.Application) (bool, string) {
		sum := a.Status.Summary.Resources
		return sum != nil && sum.Sync[app.OutOfSync] == 3, fmt.Sprintf("summary %+v", sum)
	})

	r2 := boundedReconciler(t, 5)
	var got *app.Application
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		a := getApp(t, key)
		cmp := r2.compare(ctx, a, a.Spec.SourceList(), "")
		if cmp.err != nil {
			return false, cmp.err.Error()
		}
		out, err := r2.writeComparison(ctx, a, cmp)
		if err != nil {
			return false, err.Error() // the shared reconciler wrote meanwhile: again
		}
		got = out
		return true, ""
	})
	want := []string{"cm-0000", "cm-0001", "cm-0008", "cm-0010", "cm-0011"}
	if names := resourceNames(got.Status.Resources); !slices.Equal(names, want) {
		t.Errorf("status lists %v, want %v: the out-of-sync ones, then the first in key order", names, want)
	}
	sum := got.Status.Summary.Resources
	if sum == nil || sum.Total != 12 || !sum.Truncated || sum.Sync[app.Synced] != 9 || sum.Sync[app.OutOfSync] != 3 {
		t.Errorf("summary %+v, want 12 objects, 9 Synced, 3 OutOfSync, truncated", sum)
	}

	check := func(from string) {
		t.Helper()
		all, err := r2.Resources(ctx, got)
		if err != nil {
			t.Fatalf("%s: %v", from, err)
		}
		out := 0
		for _, r := range all {
			if r.Status == app.OutOfSync {
				out++
			}
		}
		if len(all) != 12 || out != 3 {
			t.Errorf("%s: %d objects, %d out of sync; want 12 and 3", from, len(all), out)
		}
	}
	check("memory")
	roots := 0
	for _, n := range r2.Tree(got) {
		if n.Key.Kind == "ConfigMap" && len(n.ParentUIDs) == 0 {
			roots++
		}
	}
	if roots != 12 {
		t.Errorf("the tree has %d ConfigMaps, want all 12", roots)
	}
	r2.full.forget(key)
	if _, ok := r2.full.resources(key); ok {
		t.Fatal("forget kept the list")
	}
	check("a new comparison") // as a replica that does not work answers
}

// TestLongMessagesAreBounded: a render of objects gyre cannot place makes
// one error per object; the condition and the health message
// count what does not fit instead of growing with the repository.
func TestLongMessagesAreBounded(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	repo := newRepo(t)
	docs := make([]string, 60) // ~9 KiB of errors; each unknown kind costs a discovery round trip
	for i := range docs {
		docs[i] = fmt.Sprintf("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: widget-with-a-long-name-%04d\n", i)
	}
	repo.commit(map[string]*string{"widgets.yaml": s(strings.Join(docs, "---\n"))})
	key := newApp(t, ns, "widgets", repo, "", nil)
	a := waitApp(t, key, time.Minute, func(a *app.Application) (bool, string) {
		return a.Status.FindCondition(app.ConditionComparisonError) != nil, "no ComparisonError"
	})
	msg := a.Status.FindCondition(app.ConditionComparisonError).Message
	if len(msg) > app.MaxMessageLength || !strings.Contains(msg, "Widget") || !strings.Contains(msg, "… and ") {
		t.Errorf("condition message of %d bytes, want at most %d naming a Widget and counting the rest: …%s", len(msg), app.MaxMessageLength, msg[max(len(msg)-80, 0):])
	}
	if h := a.Status.Health.Message; len(h) > app.MaxMessageLength || !strings.HasPrefix(h, "render failed: ") {
		t.Errorf("health message of %d bytes: %.80s…", len(h), h)
	}
}

// TestThousandsOfObjectsKeepTheStatusSmall: an Application of 2,000
// ConfigMaps syncs, its status (listing at most 500 of them and of the
// change set) stays a small part of what etcd takes, the complete lists are
// served from memory, and drift among the objects the list left out shows
// in it.
func TestThousandsOfObjectsKeepTheStatusSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("syncs 2,000 objects")
	}
	const n, budget = 2000, 256 << 10
	ns := cluster.Namespace(t)
	repo := newRepo(t)
	sha := repo.commit(configMaps("cm", n))
	start := time.Now()
	key := newApp(t, ns, "thousands", repo, "", func(a *app.Application) { a.Spec.SyncPolicy.Automated.SelfHeal = false })
	defer func() {
		// The 2,000 deletions are this test's cost, not the next one's.
		deleteApp(t, key)
		appGone(t, key)
		cms := cluster.Client.CoreV1().ConfigMaps(ns)
		if err := cms.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: app.AppLabel}); err != nil {
			t.Error(err)
		}
		clustertest.Eventually(t, 2*time.Minute, func() (bool, string) {
			l, err := cms.List(ctx, metav1.ListOptions{LabelSelector: app.AppLabel, Limit: 1})
			return err == nil && len(l.Items) == 0, fmt.Sprintf("ConfigMaps left (%v)", err)
		})
	}()
	a := waitApp(t, key, 5*time.Minute, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == sha && a.Status.OperationState != nil &&
			a.Status.OperationState.Phase == app.OperationSucceeded, "not synced"
	})
	limit := app.DefaultStatusLimits().Objects
	statusBytes := func(a *app.Application) int {
		b, err := json.Marshal(a.Status)
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	t.Logf("synced %d objects in %s", n, time.Since(start))
	full, err := reconciler.Resources(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	unbounded := a.Status.DeepCopy()
	unbounded.Resources, unbounded.OperationState.SyncResult = full, reconciler.OperationResult(a)
	unboundedBytes, _ := json.Marshal(unbounded)
	t.Logf("status of %d objects: %d bytes with the complete lists, %d bytes as written (%d objects and %d changes listed)",
		n, len(unboundedBytes), statusBytes(a), len(a.Status.Resources), len(a.Status.OperationState.SyncResult.Resources))
	if b := statusBytes(a); b > budget {
		t.Errorf("status is %d bytes, want at most %d", b, budget)
	}
	if sum := a.Status.Summary.Resources; len(a.Status.Resources) != limit || sum.Total != n || !sum.Truncated || sum.Sync[app.Synced] != n {
		t.Errorf("status lists %d objects, summary %+v; want %d listed of %d, all Synced", len(a.Status.Resources), sum, limit, n)
	}
	if cs := a.Status.OperationState.SyncResult; len(cs.Resources) > limit || cs.Summary.Total != n || cs.Summary.Actions[app.ActionCreated] != n {
		t.Errorf("change set lists %d entries, summary %+v; want at most %d, %d created", len(cs.Resources), cs.Summary, limit, n)
	}
	if len(full) != n || len(reconciler.OperationResult(a).Resources) != n {
		t.Errorf("complete lists: %d objects, %d changes; want %d of each", len(full), len(reconciler.OperationResult(a).Resources), n)
	}

	// Drift among objects the list left out shows in it; status writes go
	// on succeeding.
	drifted := []string{"cm-1990", "cm-1995", "cm-1999"}
	editConfigMaps(t, ns, drifted...)
	start = time.Now()
	a = waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		sum := a.Status.Summary.Resources
		return sum != nil && sum.Sync[app.OutOfSync] == 3, fmt.Sprintf("summary %+v", sum)
	})
	t.Logf("drift seen in %s", time.Since(start))
	var listed []string
	for _, r := range a.Status.Resources {
		if r.Status == app.OutOfSync {
			listed = append(listed, r.Name)
		}
	}
	if !slices.Equal(listed, drifted) {
		t.Errorf("status lists %v out of sync, want %v", listed, drifted)
	}
	if b := statusBytes(a); b > budget {
		t.Errorf("status after the drift is %d bytes, want at most %d", b, budget)
	}
}

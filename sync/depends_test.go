package sync

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/types"
)

// conditionMessage returns the message of a's condition t, or "".
func conditionMessage(a *app.Application, t app.ConditionType) string {
	if c := a.Status.FindCondition(t); c != nil {
		return c.Message
	}
	return ""
}

// noConfigMap fails the test if the ConfigMap ns/name exists.
func noConfigMap(t testing.TB, ns, name, why string) {
	t.Helper()
	if data := configMapData(t, ns, name); data != nil {
		t.Fatalf("ConfigMap %s/%s exists (%v): %s", ns, name, data, why)
	}
}

// TestDependsOnWaitsForReadyDependencies: an automated Application (in
// another namespace, naming its dependency's namespace) and a manual sync
// request of another (naming its dependency without a namespace) wait
// while their dependency is Synced but not Healthy, with a condition that
// says whom they wait for; their comparisons still run. Once the
// dependency becomes Healthy both sync at once (well within the resync
// period), and the requested sync is carried out rather than dropped.
func TestDependsOnWaitsForReadyDependencies(t *testing.T) {
	t.Parallel()
	ns, other := cluster.Namespace(t), cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"db/gate.yaml": s(gatePod),
		"web/cm.yaml":  s(configMap("web", "1")),
		"api/cm.yaml":  s(configMap("api", "1")),
	})
	db := newApp(t, ns, "db", r, "db", nil)
	web := newApp(t, other, "web", r, "web", func(a *app.Application) {
		a.Spec.DependsOn = []app.AppDependency{{Name: "db", Namespace: ns}}
	})
	api := newApp(t, ns, "api", r, "api", func(a *app.Application) {
		a.Spec.SyncPolicy = nil
		a.Spec.DependsOn = []app.AppDependency{{Name: "db"}}
	})

	waitApp(t, db, 30*time.Second, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == sha && a.Status.Health.Status == app.Progressing, "db not Synced and Progressing"
	})
	want := fmt.Sprintf("waiting for %s/db (Progressing)", ns)
	w := waitApp(t, web, 30*time.Second, func(a *app.Application) (bool, string) {
		return conditionMessage(a, app.ConditionDependencyWaiting) == want && a.Status.Sync.Status == app.OutOfSync && a.Status.Sync.Revision == sha,
			"web not compared and waiting for db"
	})
	if got := w.Status.WaitingFor(); !slices.Equal(got, []string{ns + "/db (Progressing)"}) {
		t.Errorf("web: WaitingFor() = %q", got)
	}
	request(t, api, app.Operation{Sync: &app.SyncOperation{}, InitiatedBy: app.InitiatedBy{Username: "dependent"}})
	waitApp(t, api, 30*time.Second, func(a *app.Application) (bool, string) {
		return a.Operation != nil && conditionMessage(a, app.ConditionDependencyWaiting) == "sync requested, "+want, "api's sync request not held"
	})
	// The hold is recorded, so each has been looked at with db not ready.
	noConfigMap(t, other, "web", "web synced before db was Healthy")
	noConfigMap(t, ns, "api", "api's requested sync ran before db was Healthy")
	if a := getApp(t, web); a.Status.OperationState != nil || a.Status.Sync.Status != app.OutOfSync {
		t.Fatalf("web synced while db was not Healthy: sync %s, operation %s", a.Status.Sync.Status, opSummary(a))
	}

	openGate(t, ns)
	syncedAt(t, db, sha)
	// The resync period is minutes: only db's change can queue them now.
	w = syncedAt(t, web, sha)
	if w.Status.FindCondition(app.ConditionDependencyWaiting) != nil {
		t.Errorf("web still shows %q once synced", conditionMessage(w, app.ConditionDependencyWaiting))
	}
	waitApp(t, api, 30*time.Second, func(a *app.Application) (bool, string) {
		st := a.Status.OperationState
		return a.Operation == nil && st != nil && st.Phase == app.OperationSucceeded && st.Operation.InitiatedBy.Username == "dependent" &&
			a.Status.FindCondition(app.ConditionDependencyWaiting) == nil, "api's requested sync not carried out"
	})
	getConfigMap(t, other, "web")
	getConfigMap(t, ns, "api")
}

// TestDependsOnCycleAndMissingDependency: Applications that depend on each
// other, and one that depends on an Application that does not exist, say
// so in a DependencyError condition and do not sync, though they are
// compared; a sync requested meanwhile is rejected with the reason. When
// the cycle is broken and the missing Application created, each syncs in
// turn without waiting for the resync period.
func TestDependsOnCycleAndMissingDependency(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"x/cm.yaml": s(configMap("cm-x", "1")),
		"y/cm.yaml": s(configMap("cm-y", "1")),
		"m/cm.yaml": s(configMap("cm-m", "1")),
		"n/cm.yaml": s(configMap("cm-n", "1")),
	})
	dependsOn := func(name string) func(*app.Application) {
		return func(a *app.Application) { a.Spec.DependsOn = []app.AppDependency{{Name: name}} }
	}
	x := newApp(t, ns, "x", r, "x", dependsOn("y"))
	y := newApp(t, ns, "y", r, "y", dependsOn("x"))
	m := newApp(t, ns, "m", r, "m", dependsOn("nope"))

	for _, c := range []struct {
		key  types.NamespacedName
		want string
	}{
		{x, fmt.Sprintf("dependency cycle: %[1]s/x → %[1]s/y → %[1]s/x", ns)},
		{y, fmt.Sprintf("dependency cycle: %[1]s/y → %[1]s/x → %[1]s/y", ns)},
		{m, fmt.Sprintf("dependency %s/nope: no such Application", ns)},
	} {
		waitApp(t, c.key, 30*time.Second, func(a *app.Application) (bool, string) {
			got := conditionMessage(a, app.ConditionDependencyError)
			return strings.Contains(got, c.want) && a.Status.Sync.Status == app.OutOfSync && a.Status.Sync.Revision == sha,
				fmt.Sprintf("%s: DependencyError %q, want it to contain %q", c.key.Name, got, c.want)
		})
	}
	request(t, m, app.Operation{Sync: &app.SyncOperation{}, InitiatedBy: app.InitiatedBy{Username: "impatient"}})
	waitApp(t, m, 30*time.Second, func(a *app.Application) (bool, string) {
		return a.Operation == nil && conditionMessage(a, app.ConditionInvalidSpecError) == fmt.Sprintf("operation rejected: dependency %s/nope: no such Application", ns),
			"m's sync request not rejected"
	})
	for _, name := range []string{"x", "y", "m"} {
		noConfigMap(t, ns, "cm-"+name, "synced despite a dependency cycle or a missing dependency")
		if a := getApp(t, types.NamespacedName{Namespace: ns, Name: name}); a.Status.OperationState != nil {
			t.Fatalf("%s ran an operation: %+v", name, a.Status.OperationState)
		}
	}

	updateApp(t, y, func(a *app.Application) { a.Spec.DependsOn = nil })
	syncedAt(t, y, sha)
	xa := syncedAt(t, x, sha)
	if xa.Status.FindCondition(app.ConditionDependencyError) != nil {
		t.Errorf("x still reports %q", conditionMessage(xa, app.ConditionDependencyError))
	}
	newApp(t, ns, "nope", r, "n", nil)
	ma := syncedAt(t, m, sha)
	if ma.Status.FindCondition(app.ConditionDependencyError) != nil {
		t.Errorf("m still reports %q", conditionMessage(ma, app.ConditionDependencyError))
	}
}

// TestDependsOnIndex: the index finds cycles through any number of
// Applications, and queues an Application's dependents when its readiness
// or its dependencies change, not on other status writes.
func TestDependsOnIndex(t *testing.T) {
	k := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "gyre", Name: name} }
	mk := func(name string, ready bool, deps ...string) *app.Application {
		a := &app.Application{}
		a.Namespace, a.Name, a.Generation = "gyre", name, 1
		for _, d := range deps {
			a.Spec.DependsOn = append(a.Spec.DependsOn, app.AppDependency{Name: d})
		}
		a.Status.ObservedGeneration = 1
		a.Status.Sync.Status, a.Status.Health.Status = app.Synced, app.Healthy
		if !ready {
			a.Status.Health.Status = app.Degraded
		}
		return a
	}
	var x dependencyIndex
	for _, a := range []*app.Application{mk("a", true, "b"), mk("b", true, "c"), mk("c", true), mk("d", true, "b", "d")} {
		x.update(a.Key(), a)
	}
	if c := findCycle(k("a"), x.dependencies); c != nil {
		t.Errorf("no cycle yet: findCycle(a) = %v", c)
	}
	if c := findCycle(k("d"), x.dependencies); c != nil {
		t.Errorf("a dependency on itself is Validate's: findCycle(d) = %v", c)
	}
	if got := x.update(k("b"), mk("b", true, "c")); len(got) != 0 {
		t.Errorf("b unchanged: queued %v", got)
	}
	got := x.update(k("b"), mk("b", false, "c"))
	slices.SortFunc(got, func(p, q types.NamespacedName) int { return strings.Compare(p.Name, q.Name) })
	if !slices.Equal(got, []types.NamespacedName{k("a"), k("d")}) {
		t.Errorf("b became Degraded: queued %v, want a and d", got)
	}
	if got := x.update(k("c"), mk("c", true, "a")); !slices.Equal(got, []types.NamespacedName{k("b")}) {
		t.Errorf("c's dependencies changed: queued %v, want b", got)
	}
	want := []types.NamespacedName{k("a"), k("b"), k("c"), k("a")}
	if c := findCycle(k("a"), x.dependencies); !slices.Equal(c, want) {
		t.Errorf("findCycle(a) = %v, want %v", c, want)
	}
	if c := findCycle(k("d"), x.dependencies); len(c) != 4 || c[0] != c[3] || c[0] == k("d") {
		t.Errorf("findCycle(d) = %v, want the cycle d reaches", c)
	}
	if got := x.update(k("c"), nil); !slices.Equal(got, []types.NamespacedName{k("b")}) {
		t.Errorf("c deleted: queued %v, want b", got)
	}
	if c := findCycle(k("a"), x.dependencies); c != nil {
		t.Errorf("c deleted: findCycle(a) = %v", c)
	}
}

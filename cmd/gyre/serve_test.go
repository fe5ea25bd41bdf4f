//go:build !nolocalcluster

package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/localcluster"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// TestServeLeaderElection runs two `gyre serve` processes against one
// embedded cluster: one leads and reconciles, the other follows; when the
// leader is killed, the follower takes over within the lease duration, and
// every commit is synced exactly once.
func TestServeLeaderElection(t *testing.T) {
	needBinary(t)
	const dest = "settings"
	c := startCluster(t, localcluster.Options{DataDir: t.TempDir()}, dest)
	ctx := context.Background()
	repo := testsupport.NewRepo(t)
	v1 := repo.Commit("value one", map[string]string{"cm.yaml": configMapDoc("settings", "one")})

	serve := func() *serveProcess {
		return startServe(t, c.KubeconfigPath(), t.TempDir(), "--leader-elect", "--leader-election-namespace", systemNamespace)
	}
	procs := []*serveProcess{serve(), serve()}
	apps := c.Dynamic.Resource(app.GroupVersionResource()).Namespace(systemNamespace)
	waitCRD(t, apps)
	get := createAutomatedApp(t, apps, "settings", repo.Dir, "", dest)
	syncedAt := func(sha string, timeout time.Duration) {
		t.Helper()
		testsupport.Eventually(t, timeout, func() (bool, string) {
			a := get()
			return a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == sha, "app not synced at " + sha[:7]
		})
	}
	syncedAt(v1, time.Minute)

	// Each process also runs elections for ApplicationSets and
	// notifications, logged with a component; the Applications leader's line
	// has none.
	leading := func(p *serveProcess) bool {
		return strings.Contains(p.stderr.String(), `msg="leading: reconciling" identity=`)
	}
	var leader, follower *serveProcess
	testsupport.Eventually(t, 30*time.Second, func() (bool, string) {
		switch {
		case leading(procs[0]) && !leading(procs[1]):
			leader, follower = procs[0], procs[1]
		case leading(procs[1]) && !leading(procs[0]):
			leader, follower = procs[1], procs[0]
		}
		return leader != nil, "no single leader"
	})

	// Kill the leader without a chance to release its lease.
	killed := time.Now()
	leader.kill()
	v2 := repo.Commit("value two", map[string]string{"cm.yaml": configMapDoc("settings", "two")})
	// The follower's refresh goes through the annotation to whoever works.
	patch := []byte(`{"metadata":{"annotations":{"gyre.dev/refresh":"now"}}}`)
	if _, err := apps.Patch(ctx, "settings", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	syncedAt(v2, time.Minute)
	t.Logf("the follower took over and synced %v after the leader was killed", time.Since(killed))
	if !leading(follower) {
		t.Fatalf("follower never led:\n%s", follower.stderr)
	}
	cm, err := c.Client.CoreV1().ConfigMaps(dest).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil || cm.Data["value"] != "two" {
		t.Fatalf("config map after takeover: %v %v", cm.Data, err)
	}
	// Each commit synced once: no sync lost, none repeated.
	if got := strings.Join(historyRevisions(get()), ","); got != v1[:7]+","+v2[:7] {
		t.Fatalf("history %v, want one entry each for %s and %s", got, v1[:7], v2[:7])
	}
}

// waveFiles returns a PreSync hook Job and a Deployment in each of waves
// sync waves, so that a sync takes a while and has a middle to stop in.
func waveFiles(waves int) map[string]string {
	files := map[string]string{"hook.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox}]
`}
	for w := range waves {
		files[fmt.Sprintf("w%02d.yaml", w)] = fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: w%02d
  annotations: {argocd.argoproj.io/sync-wave: "%d"}
spec:
  replicas: 2
  selector: {matchLabels: {app: w%02d}}
  template:
    metadata: {labels: {app: w%02d}}
    spec: {containers: [{name: main, image: nginx}]}
`, w, w, w, w)
	}
	return files
}

// waitMidSync waits until the operation of get's Application is past its
// PreSync hook and applying waves.
func waitMidSync(t testing.TB, get func() *app.Application) {
	t.Helper()
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		a := get()
		st := a.Status.OperationState
		return st != nil && st.Phase == app.OperationRunning && strings.HasPrefix(st.Message, "Sync wave"), fmt.Sprintf("sync not under way: %+v %v", st, a.Status.Conditions)
	})
}

// waitConverged waits until get's Application has finished its operation
// and is Synced and Healthy, and returns it.
func waitConverged(t testing.TB, get func() *app.Application, timeout time.Duration) *app.Application {
	t.Helper()
	var a *app.Application
	testsupport.Eventually(t, timeout, func() (bool, string) {
		a = get()
		st := a.Status.OperationState
		return st != nil && st.Phase == app.OperationSucceeded && a.Status.Sync.Status == app.Synced && a.Status.Health.Status == app.Healthy,
			fmt.Sprintf("not converged: %s %s %+v %v", a.Status.Sync.Status, a.Status.Health.Status, st, a.Status.Conditions)
	})
	return a
}

// TestServeKilledMidSync kills `gyre serve` with SIGKILL in the middle of a
// multi-wave sync with a PreSync hook, starts it again, and checks that the
// app converges to git with exactly one recorded result for the commit, and
// that the hook, which had finished before the kill, did not run again.
func TestServeKilledMidSync(t *testing.T) {
	needBinary(t)
	// gyre's own namespace holds the Application; its objects go to
	// another (an Application never writes into gyre's own namespace).
	const dest, waves = "waves", 12
	c := startCluster(t, localcluster.Options{DataDir: t.TempDir()}, dest)
	ctx := context.Background()
	repo := testsupport.NewRepo(t)
	sha := repo.Commit("waves", waveFiles(waves))

	state := t.TempDir()
	first := startServe(t, c.KubeconfigPath(), state)
	apps := c.Dynamic.Resource(app.GroupVersionResource()).Namespace(systemNamespace)
	waitCRD(t, apps)
	get := createAutomatedApp(t, apps, "waves", repo.Dir, "", dest)
	// Kill once the hook has finished and the Sync phase is under way.
	waitMidSync(t, get)
	first.kill()
	killed := get()
	if st := killed.Status.OperationState; st.Phase != app.OperationRunning {
		t.Fatalf("the sync finished before the kill (%s); the test needs more waves", st.Message)
	}
	job, err := c.Client.BatchV1().Jobs(dest).Get(ctx, "migrate", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the hook had not run before the kill: %v", err)
	}
	t.Logf("killed at %q", killed.Status.OperationState.Message)

	startServe(t, c.KubeconfigPath(), state)
	final := waitConverged(t, get, 2*time.Minute)
	if n := len(final.Status.History); n != 1 || final.Status.History[0].Revision != sha {
		t.Errorf("history %+v, want exactly one entry, for %s", final.Status.History, sha[:7])
	}
	for w := range waves {
		if _, err := c.Client.AppsV1().Deployments(dest).Get(ctx, fmt.Sprintf("w%02d", w), metav1.GetOptions{}); err != nil {
			t.Errorf("wave %d not applied after the restart: %v", w, err)
		}
	}
	after, err := c.Client.BatchV1().Jobs(dest).Get(ctx, "migrate", metav1.GetOptions{})
	if err != nil || after.UID != job.UID {
		t.Errorf("the PreSync hook ran again after the restart (uid %s → %v, %v)", job.UID, after.GetUID(), err)
	}
}

// createAutomatedApp creates an automated Application (prune, self-heal)
// in systemNamespace of path on the main branch of repoURL, deploying to
// dest, and returns a function that reads it back from the API server.
func createAutomatedApp(t testing.TB, apps dynamic.ResourceInterface, name, repoURL, path, dest string) func() *app.Application {
	t.Helper()
	return createAutomatedAppFrom(t, apps, name, app.Source{RepoURL: repoURL, TargetRevision: testsupport.Branch, Path: path}, dest)
}

// createAutomatedAppFrom is createAutomatedApp for any source: a chart,
// say.
func createAutomatedAppFrom(t testing.TB, apps dynamic.ResourceInterface, name string, src app.Source, dest string) func() *app.Application {
	t.Helper()
	return createAutomatedAppTo(t, apps, name, src, app.Destination{Namespace: dest})
}

// createAutomatedAppTo is createAutomatedAppFrom for any destination:
// another cluster, say.
func createAutomatedAppTo(t testing.TB, apps dynamic.ResourceInterface, name string, src app.Source, dest app.Destination) func() *app.Application {
	t.Helper()
	ctx := context.Background()
	a := &app.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: app.SchemeGroupVersion().String(), Kind: app.ApplicationKind},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: app.Spec{
			Source:      src,
			Destination: dest,
			SyncPolicy:  &app.SyncPolicy{Automated: &app.AutomatedSync{Prune: true, SelfHeal: true}},
		},
	}
	u, err := a.ToUnstructured()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apps.Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return func() *app.Application {
		t.Helper()
		u, err := apps.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.FromUnstructured(u)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
}

// TestAgentGC: serve collects garbage at GOGC=50 unless GOGC is set.
func TestAgentGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	agentGC()
	if got := debug.SetGCPercent(100); got != agentGCPercent {
		t.Errorf("GOGC unset: the collector's target is %d, want %d", got, agentGCPercent)
	}
	t.Setenv("GOGC", "100")
	agentGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC=100: the collector's target is %d, want 100", got)
	}
}

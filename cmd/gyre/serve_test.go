//go:build !nolocalcluster

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	corev1 "k8s.io/api/core/v1"
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
	c, err := clustertest.Start(localcluster.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	ctx := context.Background()
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gyre-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	repoDir := t.TempDir()
	repo, err := git.PlainInitWithOptions(repoDir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: "refs/heads/main"}})
	if err != nil {
		t.Fatal(err)
	}
	commit := func(value string) string {
		t.Helper()
		doc := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  value: %q\n", value)
		if err := os.WriteFile(filepath.Join(repoDir, "cm.yaml"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		wt, _ := repo.Worktree()
		wt.Add("cm.yaml")
		sha, err := wt.Commit("value "+value, &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		return sha.String()
	}
	v1 := commit("one")

	serve := func() *upProcess {
		dir := t.TempDir()
		p := &upProcess{t: t, stdout: newOutput(), stderr: newOutput()}
		p.cmd = exec.Command(gyreBin.path, "serve", "--kubeconfig", c.KubeconfigPath(),
			"--leader-elect", "--leader-election-namespace", "gyre-system",
			"--admin-token-file", filepath.Join(dir, "token"), "--addr", "127.0.0.1:0",
			"--cache-dir", filepath.Join(dir, "cache"), "--git-poll", "1h", "--allow-file-repos")
		p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
		return p
	}
	procs := []*upProcess{serve(), serve()}

	apps := c.Dynamic.Resource(app.GroupVersionResource()).Namespace("gyre-system")
	waitFor := func(what string, timeout time.Duration, cond func() bool) {
		t.Helper()
		clustertest.Eventually(t, timeout, func() (bool, string) { return cond(), what })
	}
	waitFor("the CRD to be installed", time.Minute, func() bool {
		_, err := apps.List(ctx, metav1.ListOptions{})
		return err == nil
	})
	get := createAutomatedApp(t, apps, "settings", repoDir, "gyre-system")
	syncedAt := func(sha string, timeout time.Duration) {
		t.Helper()
		waitFor("app synced at "+sha[:7], timeout, func() bool {
			a := get()
			return a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == sha
		})
	}
	syncedAt(v1, time.Minute)

	leading := func(p *upProcess) bool { return strings.Contains(p.stderr.String(), "leading: reconciling") }
	var leader, follower *upProcess
	waitFor("one leader", 30*time.Second, func() bool {
		switch {
		case leading(procs[0]) && !leading(procs[1]):
			leader, follower = procs[0], procs[1]
		case leading(procs[1]) && !leading(procs[0]):
			leader, follower = procs[1], procs[0]
		}
		return leader != nil
	})

	// Kill the leader without a chance to release its lease.
	killed := time.Now()
	leader.cmd.Process.Signal(syscall.SIGKILL)
	leader.cmd.Wait()
	v2 := commit("two")
	// The follower's refresh goes through the annotation to whoever works.
	patch := []byte(`{"metadata":{"annotations":{"gyre.dev/refresh":"now"}}}`)
	if _, err := apps.Patch(ctx, "settings", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	syncedAt(v2, time.Minute)
	t.Logf("the follower took over and synced %v after the leader was killed", time.Since(killed))
	if !leading(follower) {
		t.Fatalf("follower never led:\n%s", follower.stderr.String())
	}
	cm, err := c.Client.CoreV1().ConfigMaps("gyre-system").Get(ctx, "settings", metav1.GetOptions{})
	if err != nil || cm.Data["value"] != "two" {
		t.Fatalf("config map after takeover: %v %v", cm.Data, err)
	}
	// Each commit synced once: no sync lost, none repeated.
	var revisions []string
	for _, h := range get().Status.History {
		revisions = append(revisions, h.Revision[:7])
	}
	if strings.Join(revisions, ",") != v1[:7]+","+v2[:7] {
		t.Fatalf("history %v, want one entry each for %s and %s", revisions, v1[:7], v2[:7])
	}
}

// TestServeKilledMidSync kills `gyre serve` with SIGKILL in the middle of a
// multi-wave sync with a PreSync hook, starts it again, and checks that the
// app converges to git with exactly one recorded result for the commit, and
// that the hook, which had finished before the kill, did not run again.
func TestServeKilledMidSync(t *testing.T) {
	needBinary(t)
	c, err := clustertest.Start(localcluster.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	ctx := context.Background()
	// gyre's own namespace holds the Application; its objects go to
	// another (an Application never writes into gyre's own namespace).
	const ns, dest = "gyre-system", "waves"
	for _, name := range []string{ns, dest} {
		if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	repoDir := t.TempDir()
	repo, err := git.PlainInitWithOptions(repoDir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: "refs/heads/main"}})
	if err != nil {
		t.Fatal(err)
	}
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
	const waves = 12
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
	wt, _ := repo.Worktree()
	for name, doc := range files {
		if err := os.WriteFile(filepath.Join(repoDir, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		wt.Add(name)
	}
	hash, err := wt.Commit("waves", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	sha := hash.String()

	cacheDir := t.TempDir()
	serve := func() *upProcess {
		p := &upProcess{t: t, stdout: newOutput(), stderr: newOutput()}
		p.cmd = exec.Command(gyreBin.path, "serve", "--kubeconfig", c.KubeconfigPath(), "--system-namespace", ns,
			"--admin-token-file", filepath.Join(cacheDir, "token"), "--addr", "127.0.0.1:0",
			"--cache-dir", filepath.Join(cacheDir, "git"), "--git-poll", "1h", "--allow-file-repos")
		p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
		return p
	}
	first := serve()
	apps := c.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns)
	clustertest.Eventually(t, time.Minute, func() (bool, string) {
		_, err := apps.List(ctx, metav1.ListOptions{})
		return err == nil, "CRD not installed"
	})
	get := createAutomatedApp(t, apps, "waves", repoDir, dest)
	// Kill once the hook has finished and the Sync phase is under way.
	clustertest.Eventually(t, time.Minute, func() (bool, string) {
		a := get()
		st := a.Status.OperationState
		return st != nil && st.Phase == app.OperationRunning && strings.HasPrefix(st.Message, "Sync wave"), fmt.Sprintf("sync not under way: %+v %v", st, a.Status.Conditions)
	})
	first.cmd.Process.Signal(syscall.SIGKILL)
	first.cmd.Wait()
	killed := get()
	if st := killed.Status.OperationState; st.Phase != app.OperationRunning {
		t.Fatalf("the sync finished before the kill (%s); the test needs more waves", st.Message)
	}
	job, err := c.Client.BatchV1().Jobs(dest).Get(ctx, "migrate", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the hook had not run before the kill: %v", err)
	}
	t.Logf("killed at %q", killed.Status.OperationState.Message)

	serve()
	var final *app.Application
	clustertest.Eventually(t, 2*time.Minute, func() (bool, string) {
		final = get()
		st := final.Status.OperationState
		return st != nil && st.Phase == app.OperationSucceeded && final.Status.Sync.Status == app.Synced && final.Status.Health.Status == app.Healthy,
			fmt.Sprintf("not converged: %s %s %+v", final.Status.Sync.Status, final.Status.Health.Status, st)
	})
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

// createAutomatedApp creates an automated Application (prune, self-heal) of
// the repository at repoDir's main branch, deploying to dest, and returns a
// function that reads it back from the API server.
func createAutomatedApp(t *testing.T, apps dynamic.ResourceInterface, name, repoDir, dest string) func() *app.Application {
	t.Helper()
	ctx := context.Background()
	a := &app.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: app.SchemeGroupVersion().String(), Kind: app.ApplicationKind},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: app.Spec{
			Source:      app.Source{RepoURL: repoDir, TargetRevision: "main"},
			Destination: app.Destination{Namespace: dest},
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

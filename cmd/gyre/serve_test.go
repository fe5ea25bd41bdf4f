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
			"--cache-dir", filepath.Join(dir, "cache"), "--git-poll", "1h")
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
	a := &app.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: app.SchemeGroupVersion().String(), Kind: app.ApplicationKind},
		ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "gyre-system"},
		Spec: app.Spec{
			Source:      app.Source{RepoURL: repoDir, TargetRevision: "main"},
			Destination: app.Destination{Namespace: "gyre-system"},
			SyncPolicy:  &app.SyncPolicy{Automated: &app.AutomatedSync{Prune: true, SelfHeal: true}},
		},
	}
	u, _ := a.ToUnstructured()
	if _, err := apps.Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	get := func() *app.Application {
		u, err := apps.Get(ctx, "settings", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.FromUnstructured(u)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
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

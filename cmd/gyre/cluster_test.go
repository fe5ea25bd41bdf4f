//go:build !nolocalcluster

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/localcluster"
	"github.com/gyre-cd/gyre/web"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// clusterList runs `gyre cluster list -o json` and returns the clusters by
// name.
func (c *cli) clusterList() map[string]app.ClusterState {
	c.t.Helper()
	var l web.ClusterList
	if err := json.Unmarshal([]byte(c.run("", "cluster", "list", "-o", "json")), &l); err != nil {
		c.t.Fatal(err)
	}
	out := map[string]app.ClusterState{}
	for _, s := range l.Items {
		out[s.Name] = s
	}
	return out
}

// TestClusterAddListRm registers the test's cluster a second time, under
// its own URL, as `gyre cluster add` does for another cluster: a
// ServiceAccount with a token there, a cluster Secret here. An Application
// deploys to it by name, `cluster list` shows it connected with the app,
// refusals are clear, and `cluster rm` forgets it.
func TestClusterAddListRm(t *testing.T) {
	needBinary(t)
	const dest = "cluster-add-dest"
	c := startCluster(t, localcluster.Options{DataDir: t.TempDir()}, dest)
	ctx := context.Background()
	_, gyre := serveWithCLI(t, c)
	apps := c.Dynamic.Resource(app.GroupVersionResource()).Namespace(systemNamespace)
	waitCRD(t, apps)

	if got := gyre.clusterList(); len(got) != 1 || got[cluster.InClusterName].Server != cluster.InClusterServer {
		t.Fatalf("clusters before any add: %+v, want in-cluster alone", got)
	}

	out := gyre.run("", "cluster", "add", "self", "--kubeconfig", c.KubeconfigPath(), "--label", "env=test")
	if !strings.Contains(out, "cluster self ("+c.URL()+") registered in Secret cluster-self") {
		t.Fatalf("cluster add printed %q", out)
	}
	if _, err := c.Client.CoreV1().ServiceAccounts("kube-system").Get(ctx, managerName, metav1.GetOptions{}); err != nil {
		t.Errorf("ServiceAccount kube-system/%s: %v", managerName, err)
	}
	if _, err := c.Client.RbacV1().ClusterRoleBindings().Get(ctx, managerBinding, metav1.GetOptions{}); err != nil {
		t.Errorf("ClusterRoleBinding %s: %v", managerBinding, err)
	}
	sec, err := c.Client.CoreV1().Secrets(systemNamespace).Get(ctx, "cluster-self", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := cluster.FromSecret(sec)
	if err != nil || parsed.Name != "self" || parsed.Server != c.URL() || parsed.Config.BearerToken == "" || parsed.Labels["env"] != "test" {
		t.Fatalf("the stored Secret reads as %+v, %v; want cluster self at %s with a token and label env=test", parsed, err, c.URL())
	}
	if strings.Contains(out, parsed.Config.BearerToken) {
		t.Errorf("cluster add printed the token")
	}

	// An Application deploys to it by name.
	gitRoot := t.TempDir()
	repo := testsupport.NewRepoAt(t, filepath.Join(gitRoot, "fleet"))
	repo.Commit("one", map[string]string{"cm.yaml": configMapDoc("fleet", "one")})
	get := createAutomatedAppTo(t, apps, "to-self", app.Source{RepoURL: filepath.Join(gitRoot, "fleet"), TargetRevision: testsupport.Branch}, app.Destination{Name: "self", Namespace: dest})
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		a := get()
		return a.Status.Sync.Status == app.Synced && configMapValues(t, c, dest)["fleet"] == "one", fmt.Sprintf("not synced to cluster self: %s %v", a.Status.Sync.Status, a.Status.Conditions)
	})
	testsupport.Eventually(t, 30*time.Second, func() (bool, string) {
		s := gyre.clusterList()["self"]
		return s.State == app.ClusterConnected && s.Applications == 1 && s.Version != "" && s.Labels["env"] == "test", fmt.Sprintf("cluster list: %+v", s)
	})

	// Adding it again is a conflict unless asked to replace; the stored
	// credentials of the kubeconfig (a client certificate) work too.
	if out, err := gyre.try("", "cluster", "add", "self", "--kubeconfig", c.KubeconfigPath()); err == nil || !strings.Contains(out, "--upsert") {
		t.Errorf("adding self again: %v %q, want a conflict that mentions --upsert", err, out)
	}
	gyre.run("", "cluster", "add", "self", "--kubeconfig", c.KubeconfigPath(), "--stored-credentials", "--upsert")
	sec, err = c.Client.CoreV1().Secrets(systemNamespace).Get(ctx, "cluster-self", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if parsed, err = cluster.FromSecret(sec); err != nil || len(parsed.Config.CertData) == 0 || parsed.Config.BearerToken != "" {
		t.Fatalf("after --stored-credentials the Secret reads as %v, %v; want the kubeconfig's client certificate", parsed, err)
	}

	// Refusals: a kubeconfig whose credentials come from a program, the
	// in-cluster cluster's name, removing the in-cluster cluster.
	execKubeconfig := filepath.Join(t.TempDir(), "exec.yaml")
	if err := os.WriteFile(execKubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+c.URL()+`", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/true, interactiveMode: Never}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := gyre.try("", "cluster", "add", "ex", "--kubeconfig", execKubeconfig, "--stored-credentials"); err == nil || !strings.Contains(out, "come from a program") {
		t.Errorf("stored exec credentials: %v %q, want a refusal", err, out)
	}
	if out, err := gyre.try("", "cluster", "add", cluster.InClusterName, "--kubeconfig", c.KubeconfigPath(), "--server", "https://10.9.9.9:6443", "--stored-credentials"); err == nil || !strings.Contains(out, "the cluster gyre runs in") {
		t.Errorf("adding a cluster named in-cluster: %v %q, want a refusal", err, out)
	}
	if out, err := gyre.try("", "cluster", "rm", cluster.InClusterName); err == nil || !strings.Contains(out, "cannot be removed") {
		t.Errorf("removing in-cluster: %v %q, want a refusal", err, out)
	}

	// rm forgets it: the Secret goes, and the Application says its
	// destination is unknown.
	out = gyre.run("", "cluster", "rm", "self")
	if !strings.Contains(out, "Secret cluster-self deleted") {
		t.Errorf("cluster rm printed %q", out)
	}
	if _, err := c.Client.CoreV1().Secrets(systemNamespace).Get(ctx, "cluster-self", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Secret cluster-self after rm: %v", err)
	}
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		return conditionSays(get(), `no cluster is named "self"`)
	})
	if out, err := gyre.try("", "cluster", "rm", "self"); err == nil || !strings.Contains(out, `no cluster is named "self"`) {
		t.Errorf("removing it twice: %v %q", err, out)
	}
}

//go:build !nolocalcluster

package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/appset"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/localcluster"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestServeAppSetFollowsWebhook: `gyre serve` installs the ApplicationSet
// CRD and runs the controller; a git directories generator makes one
// Application per folder, and a folder pushed to the repository becomes an
// Application once a signed GitHub push webhook arrives. gyre polls git
// hourly here, so only the webhook can show the new folder.
func TestServeAppSetFollowsWebhook(t *testing.T) {
	needBinary(t)
	const secret = "appset-webhook-secret"
	c := startCluster(t, localcluster.Options{DataDir: t.TempDir()})
	ctx := context.Background()
	hooks := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "gyre-webhooks"}, StringData: map[string]string{"github": secret}}
	if _, err := c.Client.CoreV1().Secrets(systemNamespace).Create(ctx, hooks, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	repo := testsupport.NewRepo(t)
	repo.Commit("one", map[string]string{"apps/api/cm.yaml": configMapDoc("api", "1")})

	p := startServe(t, c.KubeconfigPath(), t.TempDir(), "--webhook-secret", "gyre-webhooks", "--secret-namespace", systemNamespace)
	p.waitServing()
	sets := c.Dynamic.Resource(appset.GroupVersionResource()).Namespace(systemNamespace)
	apps := c.Dynamic.Resource(app.GroupVersionResource()).Namespace(systemNamespace)
	waitCRD(t, sets)
	set := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(fmt.Appendf(nil, `apiVersion: gyre.dev/v1alpha1
kind: ApplicationSet
metadata: {name: folders}
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
  - git: {repoURL: %q, revision: main, directories: [{path: 'apps/*'}]}
  template:
    metadata: {name: 'folder-{{ .path.basename }}'}
    spec:
      source: {repoURL: %q, targetRevision: main, path: '{{ .path.path }}'}
      destination: {namespace: '{{ .path.basename }}'}
`, repo.Dir, repo.Dir), &set.Object); err != nil {
		t.Fatal(err)
	}
	if _, err := sets.Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	appNames := func() []string {
		var out []string
		for n := range listApps(t, apps) {
			out = append(out, n)
		}
		slices.Sort(out)
		return out
	}
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		got := appNames()
		return slices.Equal(got, []string{"folder-api"}), fmt.Sprintf("Applications %v", got)
	})

	sha := repo.Commit("two", map[string]string{"apps/web/cm.yaml": configMapDoc("web", "1")})
	req, err := githubPush(p.url, secret, "appset-1", repo.Dir, sha, []string{"apps/web/cm.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook answered %s", resp.Status)
	}
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		got := appNames()
		return slices.Equal(got, []string{"folder-api", "folder-web"}), fmt.Sprintf("Applications %v", got)
	})
	t.Logf("the pushed folder became an Application %s after the webhook", time.Since(start).Round(time.Millisecond))
}

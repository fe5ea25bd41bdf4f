package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
)

// rows returns the rows of a table the CLI printed, each split into its
// columns, without the header.
func rows(table string) [][]string {
	var out [][]string
	lines := strings.Split(strings.TrimSpace(table), "\n")
	for _, l := range lines[1:] {
		out = append(out, strings.Fields(l))
	}
	return out
}

func TestUpWritesCLIConfig(t *testing.T) {
	needGyre(t)
	var cfg struct{ Server, Token string }
	path := filepath.Join(configHome, "gyre", "config.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("gyre up did not write the CLI config: %v", err)
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if strings.TrimRight(cfg.Server, "/") != serverURL || cfg.Token != adminToken {
		t.Errorf("%s = %+v; want server %s and the admin token", path, cfg, serverURL)
	}
}

func TestCLIExamples(t *testing.T) {
	needGyre(t)
	stdout, stderr, code := runGyre(t, "app", "list")
	if code != 0 {
		t.Fatalf("gyre app list: exit %d: %s", code, stderr)
	}
	if h := strings.Join(strings.Fields(strings.SplitN(stdout, "\n", 2)[0]), " "); h != "NAMESPACE NAME SYNC HEALTH REVISION LAST-SYNC" {
		t.Errorf("header %q", h)
	}
	found := map[string]bool{}
	for _, r := range rows(stdout) {
		if len(r) >= 5 && r[0] == "gyre" {
			found[r[1]] = r[2] == "Synced" && r[3] == "Healthy" && len(r[4]) == 7
		}
	}
	for _, name := range []string{"guestbook", "podinfo", "hello-helm"} {
		if !found[name] {
			t.Errorf("gyre app list does not show %s Synced Healthy with a short revision:\n%s", name, stdout)
		}
	}

	stdout, stderr, code = runGyre(t, "app", "get", "guestbook", "-o", "json")
	var a app.Application
	if err := json.Unmarshal([]byte(stdout), &a); code != 0 || err != nil {
		t.Fatalf("gyre app get guestbook -o json: exit %d, %v\n%s%s", code, err, stdout, stderr)
	}
	if a.Name != "guestbook" || a.Status.Sync.Status != app.Synced || len(a.Status.Resources) < 3 {
		t.Errorf("get -o json: %s/%s %s with %d resources", a.Namespace, a.Name, a.Status.Sync.Status, len(a.Status.Resources))
	}

	stdout, stderr, code = runGyre(t, "app", "get", "guestbook")
	if code != 0 || !strings.Contains(stdout, "Deployment") || !strings.Contains(stdout, "KIND") {
		t.Errorf("gyre app get guestbook: exit %d\n%s%s", code, stdout, stderr)
	}

	stdout, stderr, code = runGyre(t, "app", "diff", "guestbook")
	if code != 0 || stdout != "" {
		t.Errorf("gyre app diff guestbook (in sync): exit %d, want 0\n%s%s", code, stdout, stderr)
	}
}

func TestCLIErrors(t *testing.T) {
	needGyre(t)
	_, stderr, code := runGyre(t, "app", "wait", "no-such-app", "--timeout", "10s")
	if code == 0 || !strings.HasPrefix(stderr, "gyre: ") || !strings.Contains(stderr, "no-such-app") || !strings.Contains(stderr, "not found") {
		t.Errorf("wait on a missing app: exit %d, stderr %q; want non-zero and a message naming it", code, stderr)
	}
	if strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr %q: want one line", stderr)
	}

	_, stderr, code = runGyre(t, "app", "list", "--token", "not-a-token")
	if code == 0 || !strings.HasPrefix(stderr, "gyre: ") || !strings.Contains(stderr, "401") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("unknown token: exit %d, stderr %q; want non-zero and one line saying 401", code, stderr)
	}

	_, stderr, code = runGyre(t, "app", "diff", "no-such-app")
	if code != 2 {
		t.Errorf("diff of a missing app: exit %d, want 2; stderr %q", code, stderr)
	}
}

// TestCLIManualApp drives an Application without automated sync through
// the CLI: sync, drift, diff, sync again, history, rollback, wait.
func TestCLIManualApp(t *testing.T) {
	needGyre(t)
	name := uniqueName("cli")
	dest := name + "-dest"
	createApp(t, &app.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gyre", Name: name},
		Spec: app.Spec{
			Source:      app.Source{RepoURL: filepath.Join(dataDir, "examples"), TargetRevision: "main", Path: "guestbook"},
			Destination: app.Destination{Namespace: dest},
			SyncPolicy:  &app.SyncPolicy{SyncOptions: app.SyncOptions{"CreateNamespace=true"}},
		},
	})
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		a, ok := getApp(t, "gyre", name)
		if !ok {
			return false, "not in the API yet"
		}
		return a.Status.Sync.Status == app.OutOfSync, "sync status " + string(a.Status.Sync.Status)
	})

	start := time.Now()
	stdout, stderr, code := runGyre(t, "app", "sync", name)
	t.Logf("first sync took %s:\n%s", time.Since(start).Round(time.Millisecond), stdout)
	if code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", code, stdout, stderr)
	}
	created := map[string]bool{}
	for _, r := range rows(stdout[strings.Index(stdout, "KIND"):]) {
		if len(r) >= 4 && r[1] == dest && r[3] == "created" {
			created[r[0]] = true
		}
	}
	for _, kind := range []string{"ConfigMap", "Service", "Deployment"} {
		if !created[kind] {
			t.Errorf("the result table does not list the %s as created:\n%s", kind, stdout)
		}
	}
	if _, stderr, code := runGyre(t, "app", "wait", name, "--sync", "--health", "--timeout", "60s"); code != 0 {
		t.Fatalf("wait after the first sync: exit %d: %s", code, stderr)
	}

	// Drift: another field manager scales the Deployment.
	deployments := dynamicClient(t).Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace(dest)
	if _, err := deployments.Patch(context.Background(), "guestbook", types.MergePatchType, []byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{FieldManager: "e2e"}); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runGyre(t, "app", "diff", name)
	if code != 1 || !strings.Contains(stdout, "replicas: 5") || !strings.Contains(stdout, "replicas: 2") || !strings.Contains(stdout, "Deployment") {
		t.Fatalf("diff after scaling to 5: exit %d, want 1 and the replicas line\n%s%s", code, stdout, stderr)
	}

	stdout, stderr, code = runGyre(t, "app", "sync", name, "--dry-run")
	if code != 0 || !strings.Contains(stdout, "Dry run") || !strings.Contains(strings.Join(strings.Fields(stdout), " "), "Deployment "+dest+" guestbook configured") {
		t.Fatalf("sync --dry-run: exit %d, want the Deployment configured\n%s%s", code, stdout, stderr)
	}
	if _, _, code := runGyre(t, "app", "diff", name); code != 1 {
		t.Fatalf("diff after a dry run: exit %d, want 1: the dry run must change nothing", code)
	}

	stdout, stderr, code = runGyre(t, "app", "sync", name, "--resource", "Deployment/guestbook")
	if code != 0 || !strings.Contains(stdout, "configured") {
		t.Fatalf("second sync: exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, "ConfigMap") {
		t.Errorf("sync --resource Deployment/guestbook touched the ConfigMap:\n%s", stdout)
	}
	stdout, stderr, code = runGyre(t, "app", "diff", name)
	if code != 0 {
		t.Fatalf("diff after the second sync: exit %d, want 0\n%s%s", code, stdout, stderr)
	}

	stdout, stderr, code = runGyre(t, "app", "history", name)
	if h := rows(stdout); code != 0 || len(h) != 2 || h[0][0] != "1" || h[1][0] != "2" || h[1][3] != "admin" {
		t.Fatalf("history: exit %d, want 2 entries, the last by admin\n%s%s", code, stdout, stderr)
	}

	stdout, stderr, code = runGyre(t, "app", "rollback", name, "1")
	if code != 0 || !strings.Contains(stdout, "Succeeded") {
		t.Fatalf("rollback to 1: exit %d\n%s%s", code, stdout, stderr)
	}
	stdout, stderr, code = runGyre(t, "app", "wait", name, "--sync", "--health", "--timeout", "30s")
	if code != 0 || !strings.Contains(stdout, "Synced") {
		t.Fatalf("wait after the rollback: exit %d\n%s%s", code, stdout, stderr)
	}
	a, _ := getApp(t, "gyre", name)
	if len(a.Status.History) != 3 || a.Status.AutomationSuspended == nil {
		t.Errorf("after the rollback: %d history entries, suspension %+v; want 3 and a suspension", len(a.Status.History), a.Status.AutomationSuspended)
	}
	if _, stderr, code := runGyre(t, "app", "resume", name); code != 0 {
		t.Errorf("resume: exit %d: %s", code, stderr)
	}
}

// TestCLIProjects: `gyre proj list` shows the implicit default Project and
// a Project created with kubectl-style tools, picked up without a restart;
// `gyre proj get` shows its rules.
func TestCLIProjects(t *testing.T) {
	needGyre(t)
	stdout, stderr, code := runGyre(t, "proj", "list")
	if code != 0 {
		t.Fatalf("gyre proj list: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "default") || !strings.Contains(stdout, "implicit") {
		t.Errorf("gyre proj list lacks the implicit default project:\n%s", stdout)
	}
	name := uniqueName("team")
	p := &app.Project{TypeMeta: metav1.TypeMeta{APIVersion: app.SchemeGroupVersion().String(), Kind: app.ProjectKind},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "gyre"},
		Spec: app.ProjectSpec{Description: "e2e team", SourceRepos: []string{"https://git.example.com/team/*"},
			Destinations: []app.ProjectDestination{{Server: "*", Namespace: "team-*"}}}}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(p)
	if err != nil {
		t.Fatal(err)
	}
	projects := dynamicClient(t).Resource(app.ProjectGroupVersionResource()).Namespace("gyre")
	if _, err := projects.Create(context.Background(), &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { projects.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	testsupport.Eventually(t, 30*time.Second, func() (bool, string) {
		stdout, _, _ = runGyre(t, "proj", "list")
		return strings.Contains(stdout, name), stdout
	})
	stdout, stderr, code = runGyre(t, "proj", "get", name)
	if code != 0 {
		t.Fatalf("gyre proj get: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"e2e team", "https://git.example.com/team/*", "* namespace team-*", "Namespaced kinds:  all"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("gyre proj get lacks %q:\n%s", want, stdout)
		}
	}
	if _, _, code := runGyre(t, "proj", "get", "no-such-project"); code == 0 {
		t.Error("gyre proj get of a missing project exited 0")
	}
}

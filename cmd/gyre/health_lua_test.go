package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/health"
	"github.com/gyre-cd/gyre/internal/testsupport"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"
)

// writeFiles writes files (path → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		p = filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// healthTestDir is a directory of health scripts in Argo CD's layout with
// two passing cases and one failing case.
func healthTestDir(t *testing.T) string {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"cert-manager.io/Certificate/health.lua": `
hs = {}
for _, c in ipairs((obj.status or {}).conditions or {}) do
  if c.type == "Ready" and c.status == "True" then
    hs.status = "Healthy"
    hs.message = c.message
    return hs
  end
end
hs.status = "Progressing"
hs.message = "Waiting for certificate"
return hs`,
		"cert-manager.io/Certificate/health_test.yaml": `tests:
- healthStatus: {status: Healthy, message: Certificate is up to date}
  inputPath: testdata/ready.yaml
- healthStatus: {status: Progressing, message: Waiting for certificate}
  inputPath: testdata/new.yaml
- healthStatus: {status: Healthy, message: Certificate is up to date}
  inputPath: testdata/not-ready.yaml
`,
		"cert-manager.io/Certificate/testdata/ready.yaml":     "apiVersion: cert-manager.io/v1\nkind: Certificate\nstatus:\n  conditions: [{type: Ready, status: \"True\", message: Certificate is up to date}]\n",
		"cert-manager.io/Certificate/testdata/new.yaml":       "apiVersion: cert-manager.io/v1\nkind: Certificate\n",
		"cert-manager.io/Certificate/testdata/not-ready.yaml": "apiVersion: cert-manager.io/v1\nkind: Certificate\nstatus:\n  conditions: [{type: Ready, status: \"False\", message: Issuing}]\n",
	})
	return dir
}

func TestHealthTestCommand(t *testing.T) {
	dir := healthTestDir(t)
	var out bytes.Buffer
	root := newRootCommand()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"health", "test", dir})
	err := root.Execute()
	want := `FAIL cert-manager.io/Certificate testdata/not-ready.yaml: got Progressing "Waiting for certificate", want Healthy "Certificate is up to date"
2 passed, 1 failed
`
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if code := exitStatus(err, io.Discard); code != 1 {
		t.Fatalf("exit status %d (%v), want 1", code, err)
	}

	// Fixed, the same tests pass and the command succeeds.
	writeFiles(t, dir, map[string]string{"cert-manager.io/Certificate/testdata/not-ready.yaml": "apiVersion: cert-manager.io/v1\nkind: Certificate\nstatus:\n  conditions: [{type: Ready, status: \"True\", message: Certificate is up to date}]\n"})
	out.Reset()
	if err := runHealthTests(&out, dir); err != nil || out.String() != "3 passed, 0 failed\n" {
		t.Fatalf("after the fix: %v, output %q", err, out.String())
	}
}

func TestHealthTestReportsScriptsThatDoNotLoad(t *testing.T) {
	dir := healthTestDir(t)
	writeFiles(t, dir, map[string]string{
		"cert-manager.io/Certificate/testdata/not-ready.yaml": "apiVersion: cert-manager.io/v1\nkind: Certificate\nstatus:\n  conditions: [{type: Ready, status: \"True\", message: Certificate is up to date}]\n",
		"example.com/Widget/health.lua":                       "return {",
	})
	var out bytes.Buffer
	err := runHealthTests(&out, dir)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ERROR "+filepath.Join(dir, "example.com", "Widget", "health.lua")+": ") || lines[1] != "3 passed, 0 failed" {
		t.Fatalf("output:\n%s", out.String())
	}
	if err == nil || exitStatus(err, io.Discard) != 1 {
		t.Fatalf("err = %v, want exit status 1", err)
	}
}

// configMapObject is a ConfigMap as the health checker sees it.
func configMapObject() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "settings", "namespace": "shop"}}}
}

// TestHealthScriptsFollowConfigMaps: the checks come from the directory,
// argocd-cm and gyre-cm, later ones winning, and follow the ConfigMaps as
// they change, each reload announced; scripts that do not load are logged
// with their key.
func TestHealthScriptsFollowConfigMaps(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"ConfigMap/health.lua":          `return {status = "Healthy", message = "from the directory"}`,
		"example.com/Widget/health.lua": `return {status = "Suspended", message = "directory widget"}`,
	})
	client := fake.NewClientset(&corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: argoConfigMap, Namespace: "gyre"},
		Data: map[string]string{
			"resource.customizations.health.ConfigMap":          `return {status = "Degraded", message = "from argocd-cm"}`,
			"resource.customizations.health.example.com_Broken": `return {`,
		},
	}, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "unrelated", Namespace: "gyre"}, Data: map[string]string{
		"resource.customizations.health.ConfigMap": `return {status = "Missing", message = "from a ConfigMap gyre does not read"}`,
	}})
	logs := &testsupport.LockedBuffer{}
	checker := &health.Checker{}
	reloads := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := watchHealthScripts(ctx, client, "gyre", dir, checker, slog.New(slog.NewTextHandler(logs, nil)), func() { reloads <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	says := func(want app.HealthState) {
		t.Helper()
		if got, ok := checker.Check(configMapObject()); !ok || got != want {
			t.Fatalf("ConfigMap health = %+v, %v; want %+v", got, ok, want)
		}
	}
	awaitReload := func() {
		t.Helper()
		select {
		case <-reloads:
		case <-time.After(30 * time.Second):
			t.Fatal("no reload after a ConfigMap changed")
		}
	}
	drain := func() {
		for {
			select {
			case <-reloads:
			default:
				return
			}
		}
	}
	says(app.HealthState{Status: app.Degraded, Message: "from argocd-cm"})
	widget := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}}}
	if got, _ := checker.Check(widget); got.Message != "directory widget" {
		t.Fatalf("Widget health = %+v, want the directory's script", got)
	}
	if !strings.Contains(logs.String(), "argocd-cm resource.customizations.health.example.com_Broken") {
		t.Fatalf("the script that does not compile was not logged with its key:\n%s", logs.String())
	}
	drain()

	cms := client.CoreV1().ConfigMaps("gyre")
	gyreCM := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: gyreConfigMap, Namespace: "gyre"}, Data: map[string]string{
		"resource.customizations.health.ConfigMap": `return {status = "Progressing", message = "from gyre-cm"}`,
	}}
	if _, err := cms.Create(ctx, gyreCM, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitReload()
	says(app.HealthState{Status: app.Progressing, Message: "from gyre-cm"})

	gyreCM.Data["resource.customizations.health.ConfigMap"] = `return {status = "Healthy", message = "gyre-cm, changed"}`
	if _, err := cms.Update(ctx, gyreCM, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitReload()
	says(app.HealthState{Status: app.Healthy, Message: "gyre-cm, changed"})

	if err := cms.Delete(ctx, gyreConfigMap, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitReload()
	says(app.HealthState{Status: app.Degraded, Message: "from argocd-cm"})

	if err := cms.Delete(ctx, argoConfigMap, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitReload()
	says(app.HealthState{Status: app.Healthy, Message: "from the directory"})
}

func TestHealthScriptsDirectoryMustBeReadable(t *testing.T) {
	err := watchHealthScripts(t.Context(), nil, "", filepath.Join(t.TempDir(), "absent"), &health.Checker{}, slog.New(slog.DiscardHandler), nil)
	if err == nil || !strings.Contains(err.Error(), "--health-scripts") {
		t.Fatalf("err = %v, want the unreadable directory named", err)
	}
}

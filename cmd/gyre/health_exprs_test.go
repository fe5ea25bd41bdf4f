package main

import (
	"context"
	"log/slog"
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

// widgetExprs are gyre-cm's healthCheckExprs for example.com Widgets, with
// an entry that does not compile.
const widgetExprs = `
- apiVersion: example.com/v1
  kind: Widget
  failed: status.phase == 'Failed'
  current: status.phase == 'Running'
- apiVersion: example.com/v1
  kind: Broken
  current: status.phase ==
`

// TestHealthExprsFollowGyreCM: gyre-cm's healthCheckExprs are checked
// before the Lua scripts, so they win for a kind both cover; an entry that
// does not compile is logged with its kind and the others apply; the
// expressions follow gyre-cm as it changes.
func TestHealthExprsFollowGyreCM(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"example.com/Widget/health.lua": `return {status = "Suspended", message = "directory widget"}`,
	})
	gyreCM := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: gyreConfigMap, Namespace: "gyre"}, Data: map[string]string{
		"healthCheckExprs": widgetExprs,
		"resource.customizations.health.example.com_Gadget": `return {status = "Degraded", message = "gyre-cm gadget"}`,
	}}
	client := fake.NewClientset(gyreCM)
	logs := &testsupport.LockedBuffer{}
	checker := &health.Checker{}
	reloads := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := watchHealthScripts(ctx, client, "gyre", dir, checker, slog.New(slog.NewTextHandler(logs, nil)), func() { reloads <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	object := func(kind, phase string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": kind, "metadata": map[string]any{"name": "w"}, "status": map[string]any{"phase": phase}}}
	}
	says := func(kind, phase string, want app.HealthState) {
		t.Helper()
		if got, ok := checker.Check(object(kind, phase)); !ok || got != want {
			t.Fatalf("%s %s: health %+v, %v; want %+v", kind, phase, got, ok, want)
		}
	}
	awaitReload := func() {
		t.Helper()
		select {
		case <-reloads:
		case <-time.After(30 * time.Second):
			t.Fatal("no reload after gyre-cm changed")
		}
	}
	says("Widget", "Running", app.HealthState{Status: app.Healthy, Message: "healthCheckExprs current: status.phase == 'Running'"})
	says("Widget", "Failed", app.HealthState{Status: app.Degraded, Message: "healthCheckExprs failed: status.phase == 'Failed'"})
	says("Gadget", "Running", app.HealthState{Status: app.Degraded, Message: "gyre-cm gadget"}) // Lua still applies to the kinds CEL leaves
	if l := logs.String(); !strings.Contains(l, "health expression left out") || !strings.Contains(l, "kind=Broken") || !strings.Contains(l, "gyre-cm healthCheckExprs: entry 1") {
		t.Fatalf("the entry that does not compile was not logged with its kind:\n%s", l)
	}
	for len(reloads) > 0 {
		<-reloads
	}

	cms := client.CoreV1().ConfigMaps("gyre")
	gyreCM.Data["healthCheckExprs"] = "- {apiVersion: example.com/v1, kind: Gadget, current: \"status.phase == 'Running'\"}\n"
	if _, err := cms.Update(ctx, gyreCM, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitReload()
	says("Gadget", "Running", app.HealthState{Status: app.Healthy, Message: "healthCheckExprs current: status.phase == 'Running'"})
	says("Gadget", "Pending", app.HealthState{Status: app.Progressing, Message: "healthCheckExprs: none of inProgress, failed and current is true yet"})
	says("Widget", "Running", app.HealthState{Status: app.Suspended, Message: "directory widget"}) // no expression for Widget now: the Lua script

	if err := cms.Delete(ctx, gyreConfigMap, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitReload()
	says("Widget", "Running", app.HealthState{Status: app.Suspended, Message: "directory widget"})
	if got, ok := checker.Check(object("Gadget", "Running")); ok && got.Message == "healthCheckExprs current: status.phase == 'Running'" {
		t.Fatalf("Gadget still judged by a deleted ConfigMap's expression: %+v", got)
	}
}

// TestHealthExprsAlone: expressions without any Lua script are set on the
// checker, and removing them leaves it without custom checks.
func TestHealthExprsAlone(t *testing.T) {
	client := fake.NewClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: gyreConfigMap, Namespace: "gyre"}, Data: map[string]string{"healthCheckExprs": widgetExprs}})
	checker := &health.Checker{}
	if err := watchHealthScripts(t.Context(), client, "gyre", "", checker, slog.New(slog.DiscardHandler), nil); err != nil {
		t.Fatal(err)
	}
	widget := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}, "status": map[string]any{"phase": "Failed"}}}
	if got, _ := checker.Check(widget); got.Status != app.Degraded {
		t.Fatalf("Widget health %+v, want Degraded from the expression", got)
	}
}

// TestHealthCheckExprs checks `gyre health check --health-exprs`: an
// expression wins over a Lua script and the built-in rules for its kind,
// an entry that does not load is left out with a warning, and a file that
// cannot be read or is not a list is bad input.
func TestHealthCheckExprs(t *testing.T) {
	exprs := writeFile(t, "exprs.yaml", `
- apiVersion: apps/v1
  kind: Deployment
  current: status.readyReplicas >= 2
- apiVersion: example.com/v1
  kind: Broken
  current: "("
`)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"apps/Deployment/health.lua": `return {status = "Degraded", message = "from Lua"}`,
	})
	file := writeFile(t, "shop.yaml", healthObjects)
	r := runHealth(t, "", "health", "check", "-f", file, "--health-exprs", exprs, "--health-scripts", dir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("output:\n%s", r.stdout)
	}
	if got := strings.Join(strings.Fields(lines[1]), " "); got != "apps/Deployment shop api Healthy healthCheckExprs current: status.readyReplicas >= 2" {
		t.Errorf("Deployment row %q, want the expression's answer", got)
	}
	if got := strings.Join(strings.Fields(lines[2]), " "); !strings.HasPrefix(got, "Pod shop api-6f7d9c8b5d-x2k9p Degraded container api: CrashLoopBackOff") {
		t.Errorf("Pod row %q, want the built-in rule's answer", got)
	}
	if !strings.Contains(r.stderr, "health expression left out: "+exprs+": entry 1 (example.com/v1 Broken): current:") {
		t.Errorf("stderr %q, want a warning naming the broken entry", r.stderr)
	}

	for name, path := range map[string]string{
		"missing":    filepath.Join(t.TempDir(), "absent.yaml"),
		"not a list": writeFile(t, "map.yaml", "apiVersion: v1\nkind: ConfigMap\n"),
	} {
		r = runHealth(t, "", "health", "check", "-f", file, "--health-exprs", path)
		if r.code != 2 || !strings.Contains(r.stderr, "--health-exprs") {
			t.Errorf("%s file: exit %d, stderr %q", name, r.code, r.stderr)
		}
	}
}

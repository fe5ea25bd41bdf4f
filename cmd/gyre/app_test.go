package main

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/app"
)

func TestRootHasAppAndLogin(t *testing.T) {
	root := newRootCommand()
	for _, name := range []string{"app", "login"} {
		if c, _, err := root.Find([]string{name}); err != nil || c.Name() != name {
			t.Errorf("gyre %s: not found (%v)", name, err)
		}
	}
	for _, flag := range []string{"server", "token", "config", "output"} {
		if root.PersistentFlags().Lookup(flag) == nil {
			t.Errorf("global flag --%s missing", flag)
		}
	}
}

func TestAppList(t *testing.T) {
	f := newFakeAPI(t)
	f.add(testApp("gyre", "guestbook"))
	other := testApp("team", "api")
	other.Status.Sync.Status, other.Status.Health.Status = app.OutOfSync, app.Progressing
	f.add(other)

	r := runCLI(t, nil, f.against("app", "list")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want header and 2 rows:\n%s", len(lines), r.stdout)
	}
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "NAMESPACE NAME SYNC HEALTH REVISION LAST-SYNC" {
		t.Errorf("header %q", lines[0])
	}
	if got := strings.Join(strings.Fields(lines[1]), " "); got != "gyre guestbook Synced Healthy 0123456 5m" {
		t.Errorf("row %q", got)
	}
	if got := strings.Join(strings.Fields(lines[2]), " "); got != "team api OutOfSync Progressing 0123456 5m" {
		t.Errorf("row %q", got)
	}

	r = runCLI(t, nil, f.against("app", "list", "-n", "team", "-o", "json")...)
	var items []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &items); err != nil || r.code != 0 {
		t.Fatalf("-o json: exit %d, %v:\n%s", r.code, err, r.stdout)
	}
	if len(items) != 1 || items[0]["name"] != "api" || items[0]["futureField"] != "kept" {
		t.Errorf("-n team -o json = %v; want only team/api, with the fields the CLI does not know", items)
	}

	r = runCLI(t, nil, f.against("app", "list", "-o", "yaml")...)
	if err := yaml.Unmarshal([]byte(r.stdout), &items); err != nil || len(items) != 2 {
		t.Errorf("-o yaml: %v, %d items:\n%s", err, len(items), r.stdout)
	}
}

func TestAppGet(t *testing.T) {
	f := newFakeAPI(t)
	a := testApp("gyre", "guestbook")
	a.Status.Conditions = []app.Condition{{Type: app.ConditionSharedResourceWarning, Message: "ConfigMap/x is tracked by gyre/other"}}
	a.Spec.Project = "team-a"
	a.Status.Resources = append(a.Status.Resources, app.ResourceStatus{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "admin2", Status: app.OutOfSync,
		Message: `rbac.authorization.k8s.io/ClusterRole//admin2: cluster-scoped kind ClusterRole.rbac.authorization.k8s.io is not in project "team-a"'s clusterResourceWhitelist (clusterResourceWhitelist)`})
	f.add(a)

	r := runCLI(t, nil, f.against("app", "get", "guestbook")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"Name:             gyre/guestbook",
		"Project:          team-a",
		"Refused:\n  rbac.authorization.k8s.io/ClusterRole//admin2: cluster-scoped kind ClusterRole.rbac.authorization.k8s.io is not in project",
		`https://git.example/guestbook.git path "guestbook" at main`,
		"automated (prune, self-heal)",
		"Synced to 0123456",
		"Succeeded 5m ago: synced 0123456: 3 created",
		"SharedResourceWarning: ConfigMap/x",
		"KIND", "Deployment   demo-guestbook  guestbook  Synced     Healthy",
		"ConfigMap    demo-guestbook  guestbook  Synced     -",
		"ClusterRole  -               admin2     OutOfSync  -",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}

	r = runCLI(t, nil, f.against("app", "get", "guestbook", "-o", "json")...)
	var got app.Application
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Name != "guestbook" || got.Status.Sync.Revision == "" {
		t.Errorf("-o json: %v, %+v", err, got.ObjectMeta)
	}
}

func TestAppHistory(t *testing.T) {
	f := newFakeAPI(t)
	f.add(testApp("gyre", "guestbook"))
	r := runCLI(t, nil, f.against("app", "history", "guestbook")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "ID REVISION DEPLOYED-AT INITIATED-BY" {
		t.Fatalf("output:\n%s", r.stdout)
	}
	if f := strings.Fields(lines[1]); f[0] != "1" || f[1] != "aaaaaaa" || f[3] != "admin" {
		t.Errorf("row %q", lines[1])
	}
	if f := strings.Fields(lines[2]); f[0] != "2" || f[3] != "automated" {
		t.Errorf("row %q", lines[2])
	}
}

func TestAppNamespaceFromConfig(t *testing.T) {
	f := newFakeAPI(t)
	f.add(testApp("team", "api"))
	cfg := t.TempDir() + "/config.yaml"
	if err := saveCLIConfig(cfg, cliConfig{Server: f.srv.URL, Token: fakeToken, Namespace: "team"}); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, nil, "app", "get", "api", "--config", cfg); r.code != 0 {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "app", "get", "api", "--config", cfg, "-n", "gyre"); r.code != 1 || !strings.Contains(r.stderr, "gyre/api not found") {
		t.Errorf("-n gyre: exit %d: %s", r.code, r.stderr)
	}
}

func TestAppResume(t *testing.T) {
	f := newFakeAPI(t)
	suspended := testApp("gyre", "guestbook")
	suspended.Status.AutomationSuspended = &app.AutomationSuspension{Reason: "rolled back"}
	f.add(suspended)
	f.then("POST /api/v1/applications/gyre/guestbook/resume", suspended, testApp("gyre", "guestbook"))
	r := runCLI(t, nil, f.against("app", "resume", "guestbook")...)
	if r.code != 0 || !strings.Contains(r.stdout, "automated sync resumed") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestAppGetShowsDependencies: `gyre app get` lists what the app depends on
// and, while its syncs wait, whom they wait for.
func TestAppGetShowsDependencies(t *testing.T) {
	f := newFakeAPI(t)
	a := testApp("gyre", "web")
	a.Spec.DependsOn = []app.AppDependency{{Name: "db"}, {Name: "cache", Namespace: "platform"}}
	a.Status.Conditions = []app.Condition{{Type: app.ConditionDependencyWaiting,
		Message: app.DependencyWaitingMessage([]string{"gyre/db (OutOfSync)", "platform/cache (Progressing)"}, false)}}
	f.add(a)

	r := runCLI(t, nil, f.against("app", "get", "web")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"Depends on:       gyre/db, platform/cache\n",
		"Waiting for:      gyre/db (OutOfSync), platform/cache (Progressing)\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}

	a.Status.Conditions = nil
	f.add(a)
	r = runCLI(t, nil, f.against("app", "get", "web")...)
	if strings.Contains(r.stdout, "Waiting for:") || !strings.Contains(r.stdout, "Depends on:") {
		t.Errorf("with its dependencies ready:\n%s", r.stdout)
	}
}

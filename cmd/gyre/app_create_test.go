package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
)

// lastRequest returns the last request of method the fake received.
func lastRequest(t *testing.T, f *fakeAPI, method string) fakeRequest {
	t.Helper()
	reqs := f.received()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == method {
			return reqs[i]
		}
	}
	t.Fatalf("no %s request among %+v", method, reqs)
	return fakeRequest{}
}

func TestAppCreateFlags(t *testing.T) {
	f := newFakeAPI(t)
	r := runCLI(t, nil, f.against("app", "create", "redis", "-n", "apps", "--repo", "https://charts.example", "--chart", "redis",
		"--revision", "19.0.1", "--dest-namespace", "cache", "--project", "team-a", "--sync-policy", "automated", "--auto-prune", "--self-heal",
		"--helm-set", "auth.enabled=false", "--helm-set", "replicas=3", "--values", "prod.yaml", "--release-name", "cache",
		"--sync-option", "CreateNamespace=true")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	req := lastRequest(t, f, "POST")
	if req.Path != "/api/v1/applications" {
		t.Fatalf("posted to %s", req.Path)
	}
	var got app.Application
	if err := json.Unmarshal(req.Body, &got); err != nil {
		t.Fatal(err)
	}
	want := app.Spec{
		Project: "team-a",
		Source: app.Source{RepoURL: "https://charts.example", Chart: "redis", TargetRevision: "19.0.1", Helm: &app.HelmSource{
			ReleaseName: "cache", ValueFiles: []string{"prod.yaml"},
			Parameters: []app.HelmParameter{{Name: "auth.enabled", Value: "false"}, {Name: "replicas", Value: "3"}},
		}},
		Destination: app.Destination{Namespace: "cache"},
		SyncPolicy:  &app.SyncPolicy{Automated: &app.AutomatedSync{Prune: true, SelfHeal: true}, SyncOptions: app.SyncOptions{"CreateNamespace=true"}},
	}
	gotSpec, _ := json.Marshal(got.Spec)
	wantSpec, _ := json.Marshal(want)
	if got.Namespace != "apps" || got.Name != "redis" || got.Kind != app.ApplicationKind || !bytes.Equal(gotSpec, wantSpec) {
		t.Errorf("posted %s/%s kind %q spec\n%s\nwant apps/redis Application\n%s", got.Namespace, got.Name, got.Kind, gotSpec, wantSpec)
	}
	if !strings.Contains(r.stdout, "application apps/redis created") {
		t.Errorf("stdout %q", r.stdout)
	}
}

func TestAppCreateFile(t *testing.T) {
	f := newFakeAPI(t)
	file := filepath.Join(t.TempDir(), "app.yaml")
	manifest := `apiVersion: gyre.dev/v1alpha1
kind: Application
metadata:
  name: web
  namespace: team
spec:
  source:
    repoURL: https://git.example/web.git
    path: deploy
    targetRevision: main
  destination:
    namespace: web
`
	if err := os.WriteFile(file, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, f.against("app", "create", "-f", file, "--revision", "v2")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got app.Application
	if err := json.Unmarshal(lastRequest(t, f, "POST").Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Namespace != "team" || got.Name != "web" || got.Spec.Source.TargetRevision != "v2" || got.Spec.Source.Path != "deploy" || got.Spec.Destination.Namespace != "web" {
		t.Errorf("posted %s/%s %+v; want team/web from the file with revision v2", got.Namespace, got.Name, got.Spec)
	}

	t.Run("exists", func(t *testing.T) {
		r := runCLI(t, nil, f.against("app", "create", "-f", file)...)
		if r.code != 1 || !strings.Contains(r.stderr, "already exists: pass --upsert") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("exit %d, stderr %q; want one line suggesting --upsert", r.code, r.stderr)
		}
		if r := runCLI(t, nil, f.against("app", "create", "-f", file, "--upsert")...); r.code != 0 {
			t.Errorf("--upsert: exit %d: %s", r.code, r.stderr)
		}
		if q := lastRequest(t, f, "POST").Query; q != "upsert=true" {
			t.Errorf("--upsert sent query %q", q)
		}
	})
}

func TestAppCreateRefusals(t *testing.T) {
	f := newFakeAPI(t)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no repo", []string{"app", "create", "web", "--path", "x"}, "add --repo URL"},
		{"no name", []string{"app", "create", "--repo", "https://x"}, "name the Application"},
		{"bad helm-set", []string{"app", "create", "web", "--repo", "https://x", "--helm-set", "novalue"}, "want key=value"},
		{"prune without automated", []string{"app", "create", "web", "--repo", "https://x", "--auto-prune"}, "--sync-policy automated"},
		{"bad sync policy", []string{"app", "create", "web", "--repo", "https://x", "--sync-policy", "sometimes"}, "want automated or none"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, f.against(tt.args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want one line with %q", r.code, r.stderr, tt.want)
			}
		})
	}
	if n := len(f.received()); n != 0 {
		t.Errorf("refused creates sent %d requests", n)
	}
}

func TestAppDelete(t *testing.T) {
	f := newFakeAPI(t)
	f.add(testApp("gyre", "web"))

	r := runCLI(t, nil, f.against("app", "delete", "web")...)
	if r.code != 1 || !strings.Contains(r.stderr, "pass --yes") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("without --yes: exit %d, stderr %q; want one line saying to pass --yes", r.code, r.stderr)
	}
	if n := len(f.received()); n != 0 {
		t.Fatalf("a refused delete sent %d requests", n)
	}

	r = runCLI(t, nil, f.against("app", "delete", "web", "--yes", "--cascade=false")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	req := lastRequest(t, f, "DELETE")
	if req.Path != "/api/v1/applications/gyre/web" || req.Query != "cascade=false" {
		t.Errorf("sent DELETE %s?%s; want cascade=false", req.Path, req.Query)
	}
	if !strings.Contains(r.stdout, "objects stay") {
		t.Errorf("stdout %q", r.stdout)
	}

	r = runCLI(t, nil, f.against("app", "delete", "web", "-y")...)
	if r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("deleting a missing Application: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestAppDeleteConfirm(t *testing.T) {
	f := newFakeAPI(t)
	f.add(testApp("gyre", "web"))
	cl, err := newAPIClient(f.srv.URL, fakeToken)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	s := &appSession{client: cl, namespace: "gyre", format: formatTable, out: &out, errOut: &errOut, now: testNow}
	ctx := context.Background()

	err = runAppDelete(ctx, s, s.key("web"), deleteOptions{Cascade: true, In: strings.NewReader("n\n"), Interactive: true})
	if err == nil || !strings.Contains(err.Error(), "not confirmed") || len(f.received()) != 0 {
		t.Fatalf("answer n: %v, %d requests; want no delete", err, len(f.received()))
	}
	if !strings.Contains(errOut.String(), "Delete application gyre/web and the objects it manages? [y/N]") {
		t.Errorf("prompt %q", errOut.String())
	}
	if err := runAppDelete(ctx, s, s.key("web"), deleteOptions{Cascade: true, In: strings.NewReader("y\n"), Interactive: true}); err != nil {
		t.Fatal(err)
	}
	if q := lastRequest(t, f, "DELETE").Query; q != "cascade=true" {
		t.Errorf("sent query %q, want cascade=true", q)
	}
}

func TestAppSet(t *testing.T) {
	f := newFakeAPI(t)
	f.add(testApp("gyre", "web"))
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"revision", []string{"--revision", "v2"}, `{"spec":{"source":{"targetRevision":"v2"}}}`},
		{"path and namespace", []string{"--path", "deploy/prod", "--dest-namespace", "prod"}, `{"spec":{"destination":{"namespace":"prod"},"source":{"path":"deploy/prod"}}}`},
		{"helm", []string{"--helm-set", "a=1", "--values", "prod.yaml"}, `{"spec":{"source":{"helm":{"parameters":[{"name":"a","value":"1"}],"valueFiles":["prod.yaml"]}}}}`},
		{"manual", []string{"--sync-policy", "none"}, `{"spec":{"syncPolicy":{"automated":null}}}`},
		{"automated", []string{"--sync-policy", "automated", "--self-heal=false"}, `{"spec":{"syncPolicy":{"automated":{"selfHeal":false}}}}`},
		{"prune only", []string{"--auto-prune"}, `{"spec":{"syncPolicy":{"automated":{"prune":true}}}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, f.against(append([]string{"app", "set", "web"}, tt.args...)...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			req := lastRequest(t, f, "PATCH")
			if req.Path != "/api/v1/applications/gyre/web" || string(req.Body) != tt.want {
				t.Errorf("PATCH %s %s\nwant %s", req.Path, req.Body, tt.want)
			}
		})
	}
	r := runCLI(t, nil, f.against("app", "set", "web")...)
	if r.code != 1 || !strings.Contains(r.stderr, "nothing to change") {
		t.Errorf("no flags: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, nil, f.against("app", "set", "web", "--sync-policy", "none", "--self-heal")...)
	if r.code != 1 || !strings.Contains(r.stderr, "apply to automated syncs") {
		t.Errorf("none with --self-heal: exit %d, stderr %q", r.code, r.stderr)
	}
}

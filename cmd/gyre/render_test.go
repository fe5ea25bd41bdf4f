package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
)

// renderDir is the test checkout `gyre render` reads.
const renderDir = "testdata/render"

// headers returns the comment lines before each object of a render.
func headers(out string) []string {
	var hs []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "# ") && !strings.HasPrefix(l, "# Source:") {
			hs = append(hs, l)
		}
	}
	return hs
}

// TestRenderPrintsSyncOrder: a directory renders in the order a sync
// applies it (PreSync hook, then waves by number, kinds in kind order),
// each object marked with its phase, wave, hook and delete policy, and an
// object a sync leaves out marked so.
func TestRenderPrintsSyncOrder(t *testing.T) {
	r := runCLI(t, nil, "render", renderDir, "--path", "waves")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := []string{
		"# PreSync wave 0, hook (delete policy HookSucceeded)",
		"# Sync wave -1",
		"# Sync wave 0, not applied: argocd.argoproj.io/hook: Skip",
		"# Sync wave 0",
		"# Sync wave 2",
	}
	if got := headers(r.stdout); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("headers:\n%s\nwant:\n%s\n\noutput:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), r.stdout)
	}
	order := regexp.MustCompile(`(?m)^  name: (\S+)$`).FindAllStringSubmatch(r.stdout, -1)
	var names []string
	for _, m := range order {
		names = append(names, m[1])
	}
	if got := strings.Join(names, " "); got != "migrate early skipped web late" {
		t.Errorf("objects in order %q, want %q", got, "migrate early skipped web late")
	}
	if !strings.Contains(r.stdout, "# Source: waves/a.yaml:9") {
		t.Errorf("the hook's source line is missing:\n%s", r.stdout)
	}
}

// TestRenderHelmFlags: Helm values files, --set, --set-string, the release
// name, the destination namespace and the Kubernetes version reach the
// templates, as an Application's helm options would.
func TestRenderHelmFlags(t *testing.T) {
	r := runCLI(t, nil, "render", renderDir, "--path", "chart", "--values", "values-prod.yaml", "--set-string", "tag=123",
		"--release-name", "shop", "--dest-namespace", "prod", "--kube-version", "v1.31.0", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var objs []renderedObject
	if err := json.Unmarshal([]byte(r.stdout), &objs); err != nil || len(objs) != 1 {
		t.Fatalf("json output %q: %v", r.stdout, err)
	}
	o := objs[0]
	meta := o.Object["metadata"].(map[string]any)
	data := o.Object["data"].(map[string]any)
	if meta["name"] != "shop-config" || meta["namespace"] != "prod" || data["replicas"] != "3" || data["tag"] != "123" || data["kube"] != "v1.31.0" {
		t.Fatalf("rendered %v", o.Object)
	}
	if o.Phase != "Sync" || o.Wave != 0 || o.Hook || o.Origin != "web/templates/cm.yaml#1" {
		t.Fatalf("marks %+v", o)
	}
	// Without the flags the chart's own values and the directory's name.
	r = runCLI(t, nil, "render", renderDir+"/chart", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"chart-config"`) || !strings.Contains(r.stdout, `"replicas": "1"`) {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestRenderApplicationFile: -f takes the source's path and options from an
// Application, and flags override them (--type drops the options of the
// type it replaces).
func TestRenderApplicationFile(t *testing.T) {
	r := runCLI(t, nil, "render", renderDir, "-f", renderDir+"/app.yaml")
	if r.code != 0 || !strings.Contains(r.stdout, "name: shop-settings") {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, nil, "render", renderDir, "-f", renderDir+"/app.yaml", "--path", "waves", "--type", "Directory")
	if r.code != 0 || !strings.Contains(r.stdout, "name: migrate") || strings.Contains(r.stdout, "shop-") {
		t.Fatalf("--path and --type over -f: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestRenderErrors: what cannot be rendered locally, or does not render,
// is one line on stderr and exit status 2.
func TestRenderErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"broken yaml", []string{renderDir, "--path", "broken"}, "x.yaml line 5"},
		{"no such directory", []string{renderDir + "/nothere"}, "is not a directory"},
		{"no such path", []string{renderDir, "--path", "nothere"}, "no such directory"},
		{"chart source", []string{renderDir, "-f", renderDir + "/app-chart.yaml"}, `chart "podinfo"`},
		{"ref value file", []string{renderDir, "-f", renderDir + "/app-ref.yaml"}, `ref "values"`},
		{"source out of range", []string{renderDir, "-f", renderDir + "/app-ref.yaml", "--source", "3"}, "has 2 source(s)"},
		{"helm flags on kustomize", []string{renderDir, "-f", renderDir + "/app.yaml", "--set", "a=b"}, "not a Helm chart"},
		{"bad set", []string{renderDir, "--path", "chart", "--set", "novalue"}, "want NAME=VALUE"},
		{"unknown type", []string{renderDir, "--type", "Jsonnet"}, "Jsonnet"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, append([]string{"render"}, tt.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Fatalf("exit %d, stderr %q; want 2 and one line containing %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

// TestRenderLiveApplication: --app reads the Application through gyre's API
// and renders the checkout with its options.
func TestRenderLiveApplication(t *testing.T) {
	f := newFakeAPI(t)
	a := testApp("team", "kustom")
	a.Spec.Source.Kustomize = &app.KustomizeSource{NamePrefix: "live-"}
	f.add(a)
	r := runCLI(t, nil, f.against("render", renderDir, "--app", "team/kustom")...)
	if r.code != 0 || !strings.Contains(r.stdout, "name: live-settings") {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, nil, f.against("render", renderDir, "--app", "team/nothere")...)
	if r.code != 2 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("unknown app: exit %d: %s", r.code, r.stderr)
	}
}

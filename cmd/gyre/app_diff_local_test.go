package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
)

// writeTree writes files (path → content) under a new temporary directory
// and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// postedObjects returns "Kind/name" of the objects of every POST .../diff
// the fake received.
func postedObjects(t *testing.T, f *fakeAPI) [][]string {
	t.Helper()
	var out [][]string
	for _, req := range f.received() {
		if req.Method != http.MethodPost || !strings.HasSuffix(req.Path, "/diff") {
			continue
		}
		var body struct {
			Objects []map[string]any `json:"objects"`
		}
		if err := json.Unmarshal(req.Body, &body); err != nil {
			t.Fatalf("POST %s: %v", req.Path, err)
		}
		var names []string
		for _, o := range body.Objects {
			names = append(names, o["kind"].(string)+"/"+o["metadata"].(map[string]any)["name"].(string))
		}
		out = append(out, names)
	}
	return out
}

// TestDiffLocal: app diff --local renders the checkout with the live
// Application's path (or --path), posts the objects, and prints and exits
// as app diff does: 0 in sync, 1 with changes (a refused object is one),
// 2 on trouble, before anything is posted when the render fails.
func TestDiffLocal(t *testing.T) {
	f := newFakeAPI(t)
	for _, name := range []string{"same", "drift", "refused", "broken"} {
		a := testApp("gyre", name)
		a.Spec.Source.Path = "deploy"
		f.add(a)
	}
	multi := testApp("gyre", "multi")
	multi.Spec.Sources = []app.Source{multi.Spec.Source, {RepoURL: "https://git.example/values.git", Ref: "values"}}
	multi.Spec.Source = app.Source{}
	f.add(multi)
	f.localDiffs["gyre/same"] = `{"items":[{"key":{"kind":"ConfigMap","namespace":"d","name":"web"},"status":"InSync"}],"outOfSync":0}`
	f.localDiffs["gyre/drift"] = `{"items":[
		{"key":{"kind":"ConfigMap","namespace":"d","name":"web"},"status":"OutOfSync","diff":"--- live\n+++ desired\n@@ -1 +1 @@\n-  value: \"1\"\n+  value: \"2\"\n"},
		{"key":{"kind":"ConfigMap","namespace":"d","name":"new"},"status":"Missing","diff":"--- live\n+++ desired\n+kind: ConfigMap\n"},
		{"key":{"kind":"ConfigMap","namespace":"d","name":"old"},"status":"Extraneous","diff":"--- live\n+++ desired\n-kind: ConfigMap\n"},
		{"key":{"kind":"ConfigMap","namespace":"d","name":"keep"},"status":"InSync"}],"outOfSync":3}`
	f.localDiffs["gyre/refused"] = `{"items":[{"key":{"kind":"ConfigMap","namespace":"kube-system","name":"x"},"status":"Unknown","refused":true,
		"message":"ConfigMap/kube-system/x: project \"default\" does not allow namespace \"kube-system\" | here (destinations)"}],"outOfSync":1}`
	f.localDiffs["gyre/broken"] = `{"items":[{"key":{"kind":"Widget","namespace":"d","name":"w"},"status":"Unknown","message":"Widget/d/w: dry run: no kind Widget"}],"outOfSync":0}`
	dir := writeTree(t, map[string]string{
		"deploy/web.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  value: \"2\"\n",
		"other/other.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n",
		"invalid/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n",
	})

	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string
		stderr     string
		notContain string
		posted     []string // the objects posted; nil: no POST
	}{
		{name: "same", code: 0, notContain: "ConfigMap", posted: []string{"ConfigMap/web"}},
		{name: "same", args: []string{"--path", "other"}, code: 0, posted: []string{"ConfigMap/other"}},
		{name: "drift", code: 1, posted: []string{"ConfigMap/web"},
			stdout: []string{"===== ConfigMap/d/web (OutOfSync) =====", `+  value: "2"`, "ConfigMap/d/new (Missing)", "ConfigMap/d/old (Extraneous)"}, notContain: "keep"},
		{name: "refused", code: 1, posted: []string{"ConfigMap/web"}, stdout: []string{"===== ConfigMap/kube-system/x (Refused) =====", "(destinations)"}},
		{name: "broken", code: 2, posted: []string{"ConfigMap/web"}, stdout: []string{"no kind Widget"}, stderr: "1 object(s) could not be compared"},
		{name: "same", args: []string{"--path", "invalid"}, code: 2, stderr: "bad.yaml"},
		{name: "same", args: []string{"--path", "nowhere"}, code: 2, stderr: "nowhere"},
		{name: "same", args: []string{"--values", "prod.yaml"}, code: 2, stderr: "no chart"},
		{name: "multi", code: 2, stderr: "has 2 sources"},
		{name: "missing", code: 2, stderr: "application gyre/missing not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name+strings.Join(tt.args, "_"), func(t *testing.T) {
			before := len(postedObjects(t, f))
			args := append([]string{"app", "diff", tt.name, "--local", dir}, tt.args...)
			r := runCLI(t, nil, f.against(args...)...)
			checkDiffRun(t, r, tt.code, tt.stdout, tt.notContain, tt.stderr)
			posted := postedObjects(t, f)[before:]
			switch {
			case tt.posted == nil && len(posted) > 0:
				t.Errorf("posted %v, want no POST", posted)
			case tt.posted != nil && (len(posted) != 1 || !slices.Equal(posted[0], tt.posted)):
				t.Errorf("posted %v, want %v", posted, tt.posted)
			}
		})
	}

	t.Run("render flags without --local", func(t *testing.T) {
		r := runCLI(t, nil, f.against("app", "diff", "drift", "--path", "other")...)
		if r.code != 2 || !strings.Contains(r.stderr, "--path is for a render of a local checkout") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("json", func(t *testing.T) {
		r := runCLI(t, nil, f.against("app", "diff", "drift", "--local", dir, "-o", "json")...)
		var d diffResponse
		if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || r.code != 1 || d.OutOfSync != 3 || len(d.Items) != 4 {
			t.Errorf("exit %d, %v:\n%s", r.code, err, r.stdout)
		}
	})

	t.Run("markdown", func(t *testing.T) {
		r := runCLI(t, nil, f.against("app", "diff", "drift", "--local", dir, "-o", "markdown")...)
		if r.code != 1 {
			t.Errorf("exit %d, want 1; stderr %q", r.code, r.stderr)
		}
		for _, want := range []string{
			"| Object | Action |\n|---|---|\n| `ConfigMap/d/web` | change |\n| `ConfigMap/d/new` | create |\n| `ConfigMap/d/old` | prune |\n",
			"<details><summary><code>ConfigMap/d/web</code> (change)</summary>\n\n```diff\n--- live\n+++ desired\n@@ -1 +1 @@\n-  value: \"1\"\n+  value: \"2\"\n```\n\n</details>\n",
			"<summary><code>ConfigMap/d/old</code> (prune)</summary>",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("markdown lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "keep") {
			t.Errorf("markdown shows an object in sync:\n%s", r.stdout)
		}

		r = runCLI(t, nil, f.against("app", "diff", "refused", "--local", dir, "-o", "markdown")...)
		if want := "| `ConfigMap/kube-system/x` | refused: ConfigMap/kube-system/x: project \"default\" does not allow namespace \"kube-system\" \\| here (destinations) |"; r.code != 1 || !strings.Contains(r.stdout, want) {
			t.Errorf("exit %d; markdown lacks %q:\n%s", r.code, want, r.stdout)
		}
		r = runCLI(t, nil, f.against("app", "diff", "same", "--local", dir, "-o", "markdown")...)
		if r.code != 0 || !strings.Contains(r.stdout, "No changes") || strings.Contains(r.stdout, "| Object |") {
			t.Errorf("exit %d:\n%s", r.code, r.stdout)
		}
		// markdown is app diff's alone.
		if r := runCLI(t, nil, f.against("app", "list", "-o", "markdown")...); r.code == 0 || !strings.Contains(r.stderr, "use table, json or yaml") {
			t.Errorf("app list -o markdown: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("fence", func(t *testing.T) {
		if got := markdownFence("a ``` b ```` c"); got != "`````" {
			t.Errorf("fence %q", got)
		}
	})
}

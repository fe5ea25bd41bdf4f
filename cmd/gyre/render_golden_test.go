package main

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/render/golden/* from the current output of gyre render")

// TestRenderGolden renders the checkout testdata/render once per source
// type, as `gyre render` prints it (objects in sync order, each after its
// phase, wave and source comments), and compares the output with
// testdata/render/golden/<case>.yaml (.json for -o json). Run with
// -update to rewrite the golden files after a deliberate change, and read
// their diff.
func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		// Plain YAML: hooks, waves, a skipped object.
		{"directory", []string{"--path", "waves"}},
		// Kustomize, with an Application's options (namePrefix).
		{"kustomize", []string{"-f", renderDir + "/app.yaml"}},
		// A Helm chart with a values file, a release name, a namespace.
		{"helm", []string{"--path", "chart", "--values", "values-prod.yaml", "--release-name", "shop", "--dest-namespace", "prod", "--kube-version", "v1.31.0"}},
		// Kustomize inflating a local chart (helmCharts with chartHome).
		{"kustomize-helm", []string{"--path", "kustom-helm", "--kube-version", "v1.31.0"}},
		// The same as data: -o json.
		{"directory-json", []string{"--path", "waves", "-o", "json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, append([]string{"render", renderDir}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			ext := ".yaml"
			if slices.Contains(tt.args, "json") {
				ext = ".json"
			}
			golden := filepath.Join(renderDir, "golden", tt.name+ext)
			if *updateGolden {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(r.stdout), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestRenderGolden -update to write it)", err)
			}
			if r.stdout != string(want) {
				t.Errorf("gyre render %v differs from %s (rerun with -update if the change is meant):\n--- got\n%s\n--- want\n%s", tt.args, golden, r.stdout, want)
			}
		})
	}
}

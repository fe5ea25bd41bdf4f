package install

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestChartFlagsExist: every flag the chart passes to `gyre serve` is one
// that `gyre serve` (built as the image builds it) accepts.
func TestChartFlagsExist(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the gyre binary")
	}
	bin := filepath.Join(t.TempDir(), "gyre")
	build := exec.Command("go", "build", "-tags", "nolocalcluster", "-o", bin, "./cmd/gyre")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	help, err := exec.Command(bin, "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("gyre serve --help: %v\n%s", err, help)
	}
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`).FindAllSubmatch(help, -1) {
		known[string(m[1])] = true
	}
	for _, values := range [][]string{nil, {"ci/all-on-values.yaml"}} {
		c := renderChart(t, "gyre-system", "", values...)
		a := args(t, c.get("Deployment", "gyre-system", "gyre"))
		if a[0] != "serve" {
			t.Fatalf("args %q do not start with the serve command", a)
		}
		for _, arg := range a[1:] {
			name, _, _ := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
			if !known[name] {
				t.Errorf("values %v: the chart passes %s, which gyre serve does not know", values, arg)
			}
		}
	}
}

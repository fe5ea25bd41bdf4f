package testsupport_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCheapToImport fails when testsupport starts depending on the embedded
// control plane or on gyre's own packages: cheap packages use it, and its
// whole point is that they stay cheap to build and free of cycles.
func TestCheapToImport(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed too little to be right:\n%s", out)
	}
	for _, d := range deps {
		if d == "github.com/gyre-cd/gyre/internal/testsupport" {
			continue
		}
		if strings.HasPrefix(d, "github.com/gyre-cd/gyre/") || strings.HasPrefix(d, "k8s.io/") {
			t.Errorf("testsupport depends on %s", d)
		}
	}
}

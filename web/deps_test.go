package web

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies guards the package's shape: web reaches the reconciler
// and the cluster only through the interfaces it defines, so it imports
// neither a Kubernetes client nor gyre's loop.
func TestDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	sawApp := false
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case pkg == "k8s.io/client-go" || strings.HasPrefix(pkg, "k8s.io/client-go/"),
			pkg == "github.com/gyre-cd/gyre/sync", pkg == "github.com/gyre-cd/gyre/live":
			t.Errorf("web depends on %s", pkg)
		}
		sawApp = sawApp || pkg == "github.com/gyre-cd/gyre/app"
	}
	if !sawApp {
		t.Errorf("go list -deps did not list web's own dependencies:\n%s", out)
	}
}

package diff

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoClientGo guards the package's purity: diff reaches the API server
// only through DryRunner and must never import a client.
func TestNoClientGo(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	sawUnstructured := false
	for _, pkg := range deps {
		if pkg == "k8s.io/client-go" || strings.HasPrefix(pkg, "k8s.io/client-go/") {
			t.Errorf("diff depends on %s", pkg)
		}
		sawUnstructured = sawUnstructured || pkg == "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	}
	if !sawUnstructured {
		t.Errorf("go list -deps did not list diff's own dependencies:\n%s", out)
	}
}

package admit

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports guards the architecture: admit is pure (an Application, a
// Project and live objects in, decisions out), so it must not import
// client-go, and of gyre it may import only the shared vocabulary in app.
func TestImports(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const self, vocabulary = "github.com/gyre-cd/gyre/admit", "github.com/gyre-cd/gyre/app"
	for dep := range strings.FieldsSeq(string(out)) {
		switch {
		case dep == self, dep == vocabulary:
		case strings.HasPrefix(dep, "github.com/gyre-cd/gyre/"), strings.HasPrefix(dep, "k8s.io/client-go/"):
			t.Errorf("admit imports %s; it may import app and apimachinery only", dep)
		}
	}
}

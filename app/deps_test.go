package app

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports guards the architecture: app is the leaf package everybody
// imports, so it must not import another gyre package, client-go or the
// typed Kubernetes APIs.
func TestImports(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const self = "github.com/gyre-cd/gyre/app"
	for dep := range strings.FieldsSeq(string(out)) {
		switch {
		case dep == self:
		case strings.HasPrefix(dep, "github.com/gyre-cd/gyre/"),
			strings.HasPrefix(dep, "k8s.io/client-go/"),
			strings.HasPrefix(dep, "k8s.io/api/"):
			t.Errorf("app imports %s; it may depend on apimachinery only", dep)
		}
	}
}

package admit

import (
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/internal/testsupport"
)

// TestImports guards the architecture: admit is pure (an Application, a
// Project and live objects in, decisions out), so it must not import
// client-go, and of gyre it may import only the shared vocabulary in app.
func TestImports(t *testing.T) {
	const self, vocabulary = "github.com/gyre-cd/gyre/admit", "github.com/gyre-cd/gyre/app"
	for _, dep := range testsupport.Deps(t) {
		switch {
		case dep == self, dep == vocabulary:
		case strings.HasPrefix(dep, "github.com/gyre-cd/gyre/"), strings.HasPrefix(dep, "k8s.io/client-go/"):
			t.Errorf("admit imports %s; it may import app and apimachinery only", dep)
		}
	}
}

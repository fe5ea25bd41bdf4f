package live

import (
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/internal/testsupport"
)

// TestImports guards the architecture: live talks to an API server through
// client-go and builds on the vocabulary in app and the pure health rules.
// It must not pull in the embedded control plane (k8s.io/kubernetes,
// localcluster) or any other gyre package.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/gyre-cd/gyre/live":   true,
		"github.com/gyre-cd/gyre/app":    true,
		"github.com/gyre-cd/gyre/health": true,
	}
	for _, dep := range testsupport.Deps(t) {
		switch {
		case allowed[dep]:
		case strings.HasPrefix(dep, "github.com/gyre-cd/gyre/"), strings.HasPrefix(dep, "k8s.io/kubernetes/"):
			t.Errorf("live imports %s; it may import app, health and client-go only", dep)
		}
	}
}

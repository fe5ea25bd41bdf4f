package lua

import (
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/internal/testsupport"
)

// TestImports guards the architecture: custom health is as pure as health
// (objects in, status out), so it must not import client-go, and of gyre
// it may import only app and health.
func TestImports(t *testing.T) {
	allowed := map[string]bool{"github.com/gyre-cd/gyre/health/lua": true, "github.com/gyre-cd/gyre/health": true, "github.com/gyre-cd/gyre/app": true}
	for _, dep := range testsupport.Deps(t) {
		switch {
		case allowed[dep]:
		case strings.HasPrefix(dep, "github.com/gyre-cd/gyre/"), strings.HasPrefix(dep, "k8s.io/client-go/"):
			t.Errorf("health/lua imports %s; it may import app, health and the Kubernetes API types only", dep)
		}
	}
}

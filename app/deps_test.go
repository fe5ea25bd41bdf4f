package app

import (
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/internal/testsupport"
)

// TestImports guards the architecture: app is the leaf package everybody
// imports, so it must not import another gyre package, client-go or the
// typed Kubernetes APIs.
func TestImports(t *testing.T) {
	const self = "github.com/gyre-cd/gyre/app"
	for _, dep := range testsupport.Deps(t) {
		switch {
		case dep == self:
		case strings.HasPrefix(dep, "github.com/gyre-cd/gyre/"),
			strings.HasPrefix(dep, "k8s.io/client-go/"),
			strings.HasPrefix(dep, "k8s.io/api/"):
			t.Errorf("app imports %s; it may depend on apimachinery only", dep)
		}
	}
}

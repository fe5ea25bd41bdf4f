package testsupport_test

import (
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/internal/testsupport"
)

// TestCheapToImport fails when testsupport starts depending on the embedded
// control plane or on gyre's own packages: cheap packages use it, and its
// whole point is that they stay cheap to build and free of cycles.
func TestCheapToImport(t *testing.T) {
	for _, d := range testsupport.Deps(t) {
		if d == "github.com/gyre-cd/gyre/internal/testsupport" {
			continue
		}
		if strings.HasPrefix(d, "github.com/gyre-cd/gyre/") || strings.HasPrefix(d, "k8s.io/") {
			t.Errorf("testsupport depends on %s", d)
		}
	}
}

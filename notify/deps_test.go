package notify

import (
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/internal/testsupport"
)

// TestImports guards the architecture: notifications sit beside the
// reconcile loop and read Applications through the API server, so of gyre
// they import only the shared vocabulary (app) and source's URL redaction,
// never the loop (sync), its caches (live) or the web server (web).
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/gyre-cd/gyre/notify": true,
		"github.com/gyre-cd/gyre/app":    true,
		"github.com/gyre-cd/gyre/source": true,
	}
	for _, dep := range testsupport.Deps(t) {
		if strings.HasPrefix(dep, "github.com/gyre-cd/gyre/") && !allowed[dep] {
			t.Errorf("notify imports %s; it may import app and source only", dep)
		}
	}
}

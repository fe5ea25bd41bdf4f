package appset

import (
	"slices"
	"testing"

	"github.com/gyre-cd/gyre/internal/testsupport"
)

// TestDeps: appset sits beside the reconcile loop, not on it. It reads
// Applications through their API types and repositories through the
// source cache; it never reaches into the loop, the web server or the
// embedded control plane, whose weight it would drag into every user.
func TestDeps(t *testing.T) {
	deps := testsupport.Deps(t)
	for _, banned := range []string{
		"github.com/gyre-cd/gyre/sync",
		"github.com/gyre-cd/gyre/web",
		"github.com/gyre-cd/gyre/render",
		"github.com/gyre-cd/gyre/localcluster",
		"k8s.io/kubernetes/cmd/kube-apiserver/app",
	} {
		if slices.Contains(deps, banned) {
			t.Errorf("appset imports %s", banned)
		}
	}
}

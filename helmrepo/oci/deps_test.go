package oci_test

import (
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/internal/testsupport"
)

// TestProductionDeps fails when package oci starts depending on the test
// registry (distribution, ocitest): gyre's binary pulls charts, it does not
// serve them.
func TestProductionDeps(t *testing.T) {
	for _, d := range testsupport.Deps(t) {
		if strings.HasPrefix(d, "github.com/distribution/distribution/") || strings.HasSuffix(d, "/helmrepo/oci/ocitest") {
			t.Errorf("package oci depends on %s", d)
		}
	}
}

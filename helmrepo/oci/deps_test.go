package oci_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProductionDeps fails when package oci starts depending on the test
// registry (distribution, ocitest): gyre's binary pulls charts, it does not
// serve them.
func TestProductionDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed too little to be right:\n%s", out)
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/distribution/distribution/") || strings.HasSuffix(d, "/helmrepo/oci/ocitest") {
			t.Errorf("package oci depends on %s", d)
		}
	}
}

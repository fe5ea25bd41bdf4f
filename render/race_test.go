//go:build !race

package render

import (
	"os/exec"
	"strings"
	"testing"
)

// TestConcurrentRendersRaceDetector runs the concurrency tests again with the
// race detector, so that the plain `go test ./...` the project runs also
// proves render safe for concurrent use (kustomize's library is not).
func TestConcurrentRendersRaceDetector(t *testing.T) {
	if testing.Short() {
		t.Skip("builds render with -race; skipped in -short runs")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to rebuild with -race: %v", err)
	}
	cmd := exec.Command(goBin, "test", "-race", "-count=1", "-run", "^(TestConcurrentRenders|TestKustomizeSchemaDoesNotLeak)$", ".")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("go test -race: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "DATA RACE") {
		t.Fatalf("data race:\n%s", out)
	}
}

package testsupport

import (
	"os/exec"
	"strings"
	"testing"
)

// Deps returns the import path of the package in the current directory
// and of every package it depends on (`go list -deps`), for tests that
// guard a package's imports. It fails the test when the list cannot be
// made or is too short to be real.
func Deps(t testing.TB) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: the imports cannot be listed")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 2 {
		t.Fatalf("go list -deps listed too little to be right:\n%s", out)
	}
	return deps
}

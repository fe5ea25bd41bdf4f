//go:build !nolocalcluster

package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// builtGyre is the gyre binary TestMain built for the tests that run it as a
// user would. It is set once, before any test runs, and only read after.
type builtGyre struct {
	// path is the binary; empty in -short runs, where those tests skip.
	path string
}

// gyreBin is filled in by TestMain.
var gyreBin builtGyre

// TestMain builds the gyre binary once for the package's tests: `go build`
// from this directory, so it shares the go command's build cache.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "gyre-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "gyre tests:", err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "gyre")
		build := exec.Command("go", "build", "-o", bin, ".")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "gyre tests: go build -o %s . in cmd/gyre failed: %v\n", bin, err)
			return 1
		}
		gyreBin = builtGyre{path: bin}
		return m.Run()
	}()
	os.Exit(code)
}

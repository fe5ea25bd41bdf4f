//go:build linux

package render_test

import (
	"os"
	"testing"

	"github.com/gyre-cd/gyre/render"
)

// TestMain lets this test binary serve as the render worker of the
// sandbox tests (a Sandbox starts the running program again), and as the
// helper processes those tests start.
func TestMain(m *testing.M) {
	runTestHelper()
	render.ServeIfWorker()
	os.Exit(m.Run())
}

package main

import (
	"os"

	"github.com/gyre-cd/gyre/render"
	"github.com/spf13/pflag"
)

func main() {
	// A render worker is this program started again by the render sandbox:
	// it serves renders and exits here, before anything else starts.
	render.ServeIfWorker()
	// The Kubernetes libraries register their own flags (--version, klog's)
	// on the process-wide set, which cobra would show as gyre's.
	pflag.CommandLine = pflag.NewFlagSet("gyre", pflag.ContinueOnError)
	os.Exit(exitStatus(newRootCommand().Execute(), os.Stderr))
}

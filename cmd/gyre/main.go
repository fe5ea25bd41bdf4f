package main

import (
	"os"

	"github.com/spf13/pflag"
)

func main() {
	// The Kubernetes libraries register their own flags (--version, klog's)
	// on the process-wide set, which cobra would show as gyre's.
	pflag.CommandLine = pflag.NewFlagSet("gyre", pflag.ContinueOnError)
	os.Exit(exitStatus(newRootCommand().Execute(), os.Stderr))
}

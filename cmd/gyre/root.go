package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "gyre",
		Short: "gyre keeps Kubernetes clusters in step with git",
		Long: `gyre is a GitOps continuous-delivery agent for Kubernetes: it renders what
git repositories declare (plain YAML, Kustomize, Helm), compares it with the
cluster, and converges the cluster to it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cli := newCLIOptions()
	cli.addFlags(root.PersistentFlags())
	root.AddCommand(newUpCommand(), newServeCommand(), newVersionCommand(), newAppCommand(cli), newProjCommand(cli), newClusterCommand(cli), newRepoCommand(cli), newLoginCommand(cli), newHealthCommand(cli), newRenderCommand(cli), newCompletionCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print gyre's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "gyre %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}

// defaultDataDir is where `gyre up` keeps its cluster unless told otherwise:
// $XDG_DATA_HOME/gyre, else ~/.local/share/gyre.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "gyre")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "gyre")
	}
	return filepath.Join(os.TempDir(), "gyre")
}

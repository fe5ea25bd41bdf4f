package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newCompletionCommand returns `gyre completion`, which prints a shell's
// completion script: cobra's generators, with the app commands completing
// Application names from the API (see completeAppNames).
func newCompletionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script for bash, zsh or fish",
		Long: `completion prints a script that makes the shell complete gyre's commands,
flags and, for the app commands, the names of Applications (read from the
API with the usual --server/--token/config settings; nothing is offered
when it cannot be reached).`,
		Example: `  # bash, for this shell and in ~/.bashrc
  source <(gyre completion bash)
  # zsh
  gyre completion zsh > "${fpath[1]}/_gyre"
  # fish
  gyre completion fish > ~/.config/fish/completions/gyre.fish`,
		ValidArgs: []cobra.Completion{"bash", "zsh", "fish"},
		Args:      cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, w := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(w, true)
			case "zsh":
				return root.GenZshCompletion(w)
			case "fish":
				return root.GenFishCompletion(w, true)
			}
			return fmt.Errorf("shell %q: use bash, zsh or fish", args[0])
		},
	}
}

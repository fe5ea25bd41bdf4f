package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
)

// The exit statuses of `gyre app diff`, as diff(1) has them.
const (
	diffSame    = 0
	diffDiffers = 1
	diffTrouble = 2
)

func newAppDiffCommand(o *appOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "diff NAME",
		Short: "Show how the cluster differs from git, as unified diffs",
		Long: `diff compares the Application with git now and prints a unified diff per
object that differs (live above, desired below; Secret values masked). Like
diff(1) it exits 0 when nothing differs, 1 when something does, 2 on
trouble.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return withExitCode(diffTrouble, err)
			}
			return runAppDiff(cmd.Context(), s, s.key(args[0]))
		},
	}
}

func runAppDiff(ctx context.Context, s *appSession, key types.NamespacedName) error {
	d, raw, err := s.client.getDiff(ctx, key)
	if err != nil {
		return withExitCode(diffTrouble, err)
	}
	// The server's count decides, as it knows which extraneous objects are
	// ignored; objects that differ or are missing always count.
	differ, unknown := d.OutOfSync, 0
	counted := 0
	for _, it := range d.Items {
		switch it.Status {
		case "OutOfSync", "Missing":
			counted++
		case "Unknown":
			unknown++
		}
	}
	differ = max(differ, counted)
	if s.format != formatTable {
		if err := printStructured(s.out, s.format, raw); err != nil {
			return withExitCode(diffTrouble, err)
		}
	} else {
		for _, it := range d.Items {
			if it.Status == "InSync" {
				continue
			}
			fmt.Fprintf(s.out, "===== %s (%s) =====\n", it.Key, it.Status)
			if it.Message != "" {
				fmt.Fprintln(s.out, it.Message)
			}
			if it.Diff != "" {
				fmt.Fprint(s.out, it.Diff)
				if !strings.HasSuffix(it.Diff, "\n") {
					fmt.Fprintln(s.out)
				}
			}
		}
	}
	switch {
	case differ > 0:
		return &exitError{code: diffDiffers}
	case unknown > 0:
		return withExitCode(diffTrouble, fmt.Errorf("application %s: %d object(s) could not be compared", key, unknown))
	}
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/types"
)

// The exit statuses of `gyre app diff`, as diff(1) has them.
const (
	diffSame    = 0
	diffDiffers = 1
	diffTrouble = 2
)

// formatMarkdown is the -o of app diff alone: a summary table and a
// collapsed diff per object, for a pull-request comment.
const formatMarkdown outputFormat = "markdown"

func newAppDiffCommand(o *appOptions) *cobra.Command {
	f := &renderFlags{source: 1}
	var local, revision string
	cmd := &cobra.Command{
		Use:   "diff NAME",
		Short: "Show how the cluster differs from git, or from a local checkout, as unified diffs",
		Long: `diff compares the Application with git now and prints a unified diff per
object that differs (live above, desired below; Secret values masked). Like
diff(1) it exits 0 when nothing differs, 1 when something does, 2 on
trouble.

With --local DIR it renders DIR, a local checkout of the Application's
source, as ` + "`gyre render`" + ` does, with the live Application's options (the
flags override them), and compares the cluster with that instead of git:
a preview of what merging the checkout would change. The objects a sync
would create, change and prune are shown, and those the Application's
Project refuses. Nothing is written; the comparison uses server-side dry
runs.

With --revision REF the server does the same without a checkout: it
fetches REF (a branch, a tag, a commit, or a pull request's ref such as
refs/pull/7/head) from the Application's repository, renders it with the
Application's own options and compares. An Application with several
sources takes one revision per source, comma-separated in source order
(empty keeps a source's targetRevision: ",my-branch").

Output (-o): diffs (the default), json or yaml (the server's answer), or
markdown: a table of the objects that differ and a collapsed diff of
each, for a pull-request comment.`,
		Example: `  gyre app diff web
  gyre app diff web --local . --values values-prod.yaml
  gyre app diff web --local ~/src/deploy -o markdown > comment.md
  gyre app diff web --revision refs/pull/7/head -o markdown`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format := formatMarkdown
			if !strings.EqualFold(o.Output, string(formatMarkdown)) {
				var err error
				if format, err = parseOutputFormat(o.Output); err != nil {
					return withExitCode(diffTrouble, fmt.Errorf("%w, or markdown", err))
				}
			}
			if name := sourceFlagSet(cmd.Flags()); local == "" && name != "" {
				return withExitCode(diffTrouble, fmt.Errorf("--%s is for a render of a local checkout: give --local DIR", name))
			}
			if local != "" && revision != "" {
				return withExitCode(diffTrouble, fmt.Errorf("--local and --revision both say what to compare with: give one"))
			}
			s, err := o.sessionWithFormat(cmd, format)
			if err != nil {
				return withExitCode(diffTrouble, err)
			}
			key := s.key(args[0])
			if local == "" {
				d, raw, err := s.client.getDiff(cmd.Context(), key, revision)
				if err != nil {
					return withExitCode(diffTrouble, err)
				}
				return printDiff(s, key, d, raw)
			}
			return runLocalDiff(cmd.Context(), s, key, local, f)
		},
	}
	cmd.Flags().StringVar(&local, "local", "", "compare with a render of this local checkout instead of git")
	cmd.Flags().StringVar(&revision, "revision", "", "compare with the server's render of this branch, tag, ref or commit instead of the targetRevision")
	f.addSourceFlags(cmd.Flags(), "--local DIR")
	return cmd
}

// sourceFlagSet returns the name of a flag of fl that addSourceFlags
// registers and that is set, or "".
func sourceFlagSet(fl *pflag.FlagSet) string {
	src := pflag.NewFlagSet("source", pflag.ContinueOnError)
	(&renderFlags{}).addSourceFlags(src, "")
	name := ""
	fl.Visit(func(f *pflag.Flag) {
		if name == "" && src.Lookup(f.Name) != nil {
			name = f.Name
		}
	})
	return name
}

// runLocalDiff renders dir with the live Application's options and f's and
// prints how the cluster differs from the render.
func runLocalDiff(ctx context.Context, s *appSession, key types.NamespacedName, dir string, f *renderFlags) error {
	a, _, err := s.client.getApplication(ctx, key)
	if err != nil {
		return withExitCode(diffTrouble, err)
	}
	if n := len(a.Spec.SourceList()); n > 1 {
		// The server compares the whole Application: the other sources'
		// objects would show as pruned.
		return withExitCode(diffTrouble, fmt.Errorf("application %s has %d sources; --local renders one, so a diff would show the others' objects as pruned", key, n))
	}
	if a, err = f.override(a); err != nil {
		return withExitCode(diffTrouble, err)
	}
	res, err := f.renderDir(dir, a)
	if err != nil {
		return withExitCode(diffTrouble, err)
	}
	d, raw, err := s.client.postDiff(ctx, key, res.Unstructured())
	if err != nil {
		return withExitCode(diffTrouble, err)
	}
	return printDiff(s, key, d, raw)
}

// printDiff prints a diff answer in the session's format and returns the
// exit status: diffDiffers when something differs, diffTrouble when
// nothing does but something could not be compared.
func printDiff(s *appSession, key types.NamespacedName, d diffResponse, raw json.RawMessage) error {
	// The server's count decides, as it knows which extraneous objects are
	// ignored; objects that differ, are missing or are refused always
	// count.
	differ, unknown := d.OutOfSync, 0
	counted := 0
	for _, it := range d.Items {
		switch {
		case it.Refused, it.Status == "OutOfSync", it.Status == "Missing":
			counted++
		case it.Status == "Unknown":
			unknown++
		}
	}
	differ = max(differ, counted)
	var err error
	switch s.format {
	case formatTable:
		if d.Ref != "" {
			fmt.Fprintf(s.out, "Compared with %s (%s).\n", d.Ref, app.ShortRevision(d.Revision))
		}
		printDiffText(s.out, d)
	case formatMarkdown:
		err = printDiffMarkdown(s.out, key, d)
	default:
		err = printStructured(s.out, s.format, raw)
	}
	if err != nil {
		return withExitCode(diffTrouble, err)
	}
	switch {
	case differ > 0:
		return &exitError{code: diffDiffers}
	case unknown > 0:
		return withExitCode(diffTrouble, fmt.Errorf("application %s: %d object(s) could not be compared", key, unknown))
	}
	return nil
}

// printDiffText prints a heading and the unified diff of each object not
// in sync.
func printDiffText(w io.Writer, d diffResponse) {
	for _, it := range d.Items {
		if it.Status == "InSync" {
			continue
		}
		status := it.Status
		if it.Refused {
			status = "Refused"
		}
		fmt.Fprintf(w, "===== %s (%s) =====\n", it.Key, status)
		if it.Message != "" {
			fmt.Fprintln(w, it.Message)
		}
		if it.Diff != "" {
			fmt.Fprint(w, it.Diff)
			if !strings.HasSuffix(it.Diff, "\n") {
				fmt.Fprintln(w)
			}
		}
	}
}

// diffAction says what a sync would do with an object, for the markdown
// table.
func diffAction(it diffItem) string {
	switch {
	case it.Refused:
		return "refused"
	case it.Status == "Missing":
		return "create"
	case it.Status == "OutOfSync":
		return "change"
	case it.Status == "Extraneous":
		return "prune"
	case it.Status == "Unknown":
		return "unknown"
	}
	return strings.ToLower(it.Status)
}

// printDiffMarkdown prints a table of the objects not in sync and, for
// each with a diff, a collapsed ```diff block.
func printDiffMarkdown(w io.Writer, key types.NamespacedName, d diffResponse) error {
	var items []diffItem
	for _, it := range d.Items {
		if it.Status != "InSync" {
			items = append(items, it)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### gyre diff: %s", key)
	if d.Ref != "" {
		fmt.Fprintf(&b, " at `%s` (%s)", strings.ReplaceAll(d.Ref, "`", ""), app.ShortRevision(d.Revision))
	}
	b.WriteString("\n\n")
	if len(items) == 0 {
		fmt.Fprintf(&b, "No changes: %d object(s) in sync.\n", len(d.Items))
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("| Object | Action |\n|---|---|\n")
	for _, it := range items {
		action := diffAction(it)
		if it.Message != "" && (it.Refused || it.Status == "Unknown") {
			action += ": " + it.Message
		}
		fmt.Fprintf(&b, "| `%s` | %s |\n", it.Key, markdownCell(action))
	}
	for _, it := range items {
		if it.Diff == "" {
			continue
		}
		fence := markdownFence(it.Diff)
		fmt.Fprintf(&b, "\n<details><summary><code>%s</code> (%s)</summary>\n\n%sdiff\n%s", html.EscapeString(it.Key.String()), diffAction(it), fence, it.Diff)
		if !strings.HasSuffix(it.Diff, "\n") {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s\n\n</details>\n", fence)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// markdownCell keeps text on one line of a table cell.
func markdownCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// markdownFence returns a backtick fence longer than any run of backticks
// in s, so that s cannot close it.
func markdownFence(s string) string {
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

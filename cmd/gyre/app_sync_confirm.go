package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gyre-cd/gyre/app"
)

// This file holds the safety check of `gyre app sync`: a sync that would
// delete objects (prune) or replace them (Replace=true) first says which,
// and goes on only when confirmed on a terminal or given --yes.

// syncExitRefused is the exit status of a sync refused for want of a
// confirmation, as diff's trouble is 2.
const syncExitRefused = 2

// confirmation is how a command that may delete objects confirms: Yes
// (--yes) skips it; otherwise it asks on In when Interactive (a terminal).
type confirmation struct {
	Yes         bool
	Interactive bool
	In          io.Reader
}

// destructive is what a sync would delete or replace, found with the
// server's diff.
type destructive struct {
	// Prune are the live objects git no longer declares, which the sync
	// deletes; Replace the objects that differ and that the Application's
	// Replace=true sync option makes the sync replace whole.
	Prune, Replace []app.ResourceKey
}

func (d destructive) empty() bool { return len(d.Prune) == 0 && len(d.Replace) == 0 }

// planDestructive asks the server what a sync of a at revision (its
// targetRevision when empty) would prune (when prune is set) and replace,
// limited to only when that is not empty.
func planDestructive(ctx context.Context, s *appSession, a *app.Application, revision string, prune bool, only []app.ResourceKey) (destructive, error) {
	var out destructive
	replace := a.SyncOptionTrue(app.OptionReplace)
	if !prune && !replace {
		return out, nil
	}
	d, _, err := s.client.getDiff(ctx, a.Key(), revision)
	if err != nil {
		return out, err
	}
	for _, it := range d.Items {
		if len(only) > 0 && !slices.Contains(only, it.Key) {
			continue
		}
		switch {
		case prune && it.Status == "Extraneous":
			out.Prune = append(out.Prune, it.Key)
		case replace && it.Status == "OutOfSync":
			out.Replace = append(out.Replace, it.Key)
		}
	}
	return out, nil
}

// printDestructive lists what an operation (subject: "sync of gyre/web")
// would delete and replace.
func printDestructive(w io.Writer, subject string, d destructive) {
	fmt.Fprintf(w, "The %s would:\n", subject)
	for _, k := range d.Prune {
		fmt.Fprintf(w, "  delete   %s (git no longer declares it)\n", k)
	}
	for _, k := range d.Replace {
		fmt.Fprintf(w, "  replace  %s (Replace=true: fields git does not declare are removed)\n", k)
	}
}

// confirmDestructive shows what the operation subject ("sync of gyre/web")
// would delete and replace, and asks for a yes on c.In when c.Interactive;
// it returns an error with exit status syncExitRefused when the answer is
// not yes, or when nobody can be asked and c.Yes is not set.
func confirmDestructive(s *appSession, subject string, d destructive, c confirmation) error {
	if d.empty() {
		return nil
	}
	printDestructive(s.errOut, subject, d)
	if c.Yes {
		return nil
	}
	what := destructiveSummary(d)
	if !c.Interactive {
		return withExitCode(syncExitRefused, fmt.Errorf("the %s would %s: not asking for confirmation outside a terminal: pass --yes (--dry-run shows the whole change set)", subject, what))
	}
	fmt.Fprintf(s.errOut, "Go on and %s? [y/N] ", what)
	answer, _ := bufio.NewReader(c.In).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return withExitCode(syncExitRefused, fmt.Errorf("the %s was not confirmed; nothing was changed", subject))
	}
	return nil
}

// destructiveSummary says in a few words what d would do: "delete 2
// objects and replace 1".
func destructiveSummary(d destructive) string {
	var parts []string
	if n := len(d.Prune); n > 0 {
		parts = append(parts, "delete "+plural(n, "object"))
	}
	if n := len(d.Replace); n > 0 {
		parts = append(parts, "replace "+plural(n, "object"))
	}
	return strings.Join(parts, " and ")
}

// plural is "1 object", "2 objects".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

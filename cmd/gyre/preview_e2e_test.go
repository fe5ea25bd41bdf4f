//go:build !nolocalcluster

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/localcluster"
)

// run runs a command and returns its stdout, stderr and exit status; a
// command that cannot start fails the test.
func runExit(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// TestPreviewEndToEnd runs the preview features against a real `gyre
// serve` and two Applications of one repository (apps/a and apps/b), with
// a throwaway branch pr that changes a ConfigMap of apps/a, adds one and
// removes one:
//
//   - examples/ci/gyre-diff.sh, in both its modes, writes a markdown
//     document that shows app-a's change, create and prune and leaves out
//     app-b, which the branch does not touch, and exits 0; an Application
//     that cannot be compared makes it exit 1 with its section saying why;
//   - gyre app diff --revision exits 1 for pr, 0 for main, 2 for a ref the
//     repository does not have;
//   - gyre app manifests --source git --revision pr prints the branch's
//     objects;
//   - gyre app sync --prune of pr shows a dry run's change set, is refused
//     without a terminal and without --yes (exit 2, nothing deleted), and
//     prunes with --yes;
//   - gyre app refresh --hard goes through the loop and returns (skipped
//     for now: see there).
func TestPreviewEndToEnd(t *testing.T) {
	if gyreBin.path == "" {
		t.Skip("-short: runs gyre serve against an embedded cluster")
	}
	for _, tool := range []string{"git", "jq", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("examples/ci/gyre-diff.sh needs %s: %v", tool, err)
		}
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "examples", "ci", "gyre-diff.sh"))
	if err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, localcluster.Options{DataDir: t.TempDir()}, "ci-a", "ci-b")
	repo := testsupport.NewRepo(t)
	base := repo.Commit("two apps", map[string]string{
		"apps/a/cm.yaml":  configMapDoc("a", "1"),
		"apps/a/old.yaml": configMapDoc("old", "1"),
		"apps/b/cm.yaml":  configMapDoc("b", "1"),
		"README.md":       "two apps\n",
	})
	_, cl := serveWithCLI(t, c)
	apps := c.Dynamic.Resource(app.GroupVersionResource()).Namespace(systemNamespace)
	waitCRD(t, apps)
	createAutomatedApp(t, apps, "app-a", repo.Dir, "apps/a", "ci-a")
	createAutomatedApp(t, apps, "app-b", repo.Dir, "apps/b", "ci-b")
	testsupport.Eventually(t, 2*time.Minute, func() (bool, string) {
		all := listApps(t, apps)
		for _, name := range []string{"app-a", "app-b"} {
			if a := all[name]; a == nil || a.Status.Sync.Status != app.Synced || a.Status.Sync.Revision != base {
				return false, fmt.Sprintf("%s not synced at %.7s: %+v", name, base, a)
			}
		}
		return true, ""
	})

	// The pull request: a branch of the checkout that changes apps/a only.
	git := func(args ...string) {
		t.Helper()
		testsupport.GitCLI(t, repo.Dir, args...)
	}
	git("checkout", "-q", "-b", "pr")
	for name, content := range map[string]string{"apps/a/cm.yaml": configMapDoc("a", "2"), "apps/a/new.yaml": configMapDoc("new", "1")} {
		if err := os.WriteFile(filepath.Join(repo.Dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("rm", "-q", "apps/a/old.yaml")
	git("add", "-A")
	git("commit", "-q", "-m", "change app a")

	gyre := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(gyreBin.path, append(args, "-n", systemNamespace, "--config", cl.config)...)
		cmd.Env = append(os.Environ(), envServer+"="+cl.server, envToken+"="+cl.token)
		return runExit(t, cmd)
	}
	runScript := func(env ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command("sh", script, "main", "pr", repo.Dir)
		cmd.Env = append(os.Environ(), "GYRE="+gyreBin.path, envServer+"="+cl.server, envToken+"="+cl.token, "XDG_CONFIG_HOME="+t.TempDir())
		cmd.Env = append(cmd.Env, env...)
		return runExit(t, cmd)
	}
	changes := []string{"### gyre diff: gyre-system/app-a", "| `ConfigMap/ci-a/a` | change |", "| `ConfigMap/ci-a/new` | create |",
		"| `ConfigMap/ci-a/old` | prune |", `+  value: "2"`}

	for _, mode := range []string{"local", "revision"} {
		t.Run("ci script "+mode, func(t *testing.T) {
			out, errOut, code := runScript("GYRE_DIFF_MODE="+mode, "GYRE_DIFF_REVISION=pr")
			if code != 0 {
				t.Fatalf("exit %d, want 0 (changes are no error); stderr:\n%s\nstdout:\n%s", code, errOut, out)
			}
			for _, want := range changes {
				if !strings.Contains(out, want) {
					t.Errorf("the markdown lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "app-b") || strings.Contains(out, "ci-b") {
				t.Errorf("the markdown shows app-b, which the branch does not touch:\n%s", out)
			}
			if mode == "revision" && !strings.Contains(out, "app-a at `pr`") {
				t.Errorf("the markdown does not say it compared with pr:\n%s", out)
			}
		})
	}
	t.Run("ci script error", func(t *testing.T) {
		out, _, code := runScript("GYRE_APPS=gyre-system/nope")
		if code != 1 || !strings.Contains(out, "### gyre diff: gyre-system/nope\n\nCould not compare:") || !strings.Contains(out, "not found") || !strings.Contains(out, changes[1]) {
			t.Errorf("exit %d, want 1, with app-a's diff and nope's failure:\n%s", code, out)
		}
	})

	t.Run("diff --revision", func(t *testing.T) {
		out, errOut, code := gyre("app", "diff", "app-a", "--revision", "pr")
		if code != 1 || !strings.Contains(out, "===== ConfigMap/ci-a/old (Extraneous) =====") || !strings.Contains(out, "===== ConfigMap/ci-a/new (Missing) =====") {
			t.Errorf("pr: exit %d, stdout %s, stderr %s", code, out, errOut)
		}
		if out, errOut, code := gyre("app", "diff", "app-a", "--revision", "main"); code != 0 || strings.Contains(out, "=====") {
			t.Errorf("main: exit %d, stdout %s, stderr %s", code, out, errOut)
		}
		_, errOut, code = gyre("app", "diff", "app-a", "--revision", "nope")
		if code != 2 || !strings.Contains(errOut, `no branch or tag named "nope"`) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("an unknown ref: exit %d, stderr %q; want 2 and one line naming it", code, errOut)
		}
	})

	t.Run("manifests --source git", func(t *testing.T) {
		out, errOut, code := gyre("app", "manifests", "app-a", "--source", "git", "--revision", "pr")
		if code != 0 || !strings.Contains(out, "name: new") || !strings.Contains(out, `value: "2"`) || strings.Contains(out, "name: old") {
			t.Errorf("exit %d, stdout %s, stderr %s; want the branch's a and new", code, out, errOut)
		}
	})

	t.Run("sync confirmation", func(t *testing.T) {
		// Manual syncs only from here: automation would sync app-a back to
		// main right after the sync to pr, racing the CLI's report.
		if out, errOut, code := gyre("app", "set", "app-a", "--sync-policy", "none"); code != 0 {
			t.Fatalf("app set --sync-policy none: exit %d, stdout %s, stderr %s", code, out, errOut)
		}
		out, errOut, code := gyre("app", "sync", "app-a", "--revision", "pr", "--prune", "--dry-run")
		if code != 0 || !strings.Contains(out, "Dry run: nothing was changed") || !changeRow(out, "old", "pruned") {
			t.Errorf("dry run: exit %d, stdout %s, stderr %s; want the change set with old pruned", code, out, errOut)
		}
		out, errOut, code = gyre("app", "sync", "app-a", "--revision", "pr", "--prune")
		if code != 2 || !strings.Contains(errOut, "delete   ConfigMap/ci-a/old") || !strings.Contains(errOut, "pass --yes") || strings.Contains(out, "requested") {
			t.Errorf("without --yes: exit %d, stdout %s, stderr %s; want 2 and the object named", code, out, errOut)
		}
		if _, ok := configMapValues(t, c, "ci-a")["old"]; !ok {
			t.Errorf("ConfigMap old was deleted by a refused sync")
		}
		out, errOut, code = gyre("app", "sync", "app-a", "--revision", "pr", "--prune", "--yes")
		if code != 0 || !changeRow(out, "old", "pruned") || !changeRow(out, "new", "created") {
			t.Errorf("with --yes: exit %d, stdout %s, stderr %s; want old pruned and new created", code, out, errOut)
		}
	})

	t.Run("refresh --hard", func(t *testing.T) {
		// gyre app refresh waits for status.reconciledAt to move: the loop
		// records a requested comparison even when it finds nothing new.
		out, errOut, code := gyre("app", "refresh", "app-a", "--hard")
		if code != 0 || !strings.Contains(out, "refreshed") {
			t.Errorf("exit %d, stdout %s, stderr %s", code, out, errOut)
		}
	})
}

// changeRow reports whether the result table of a sync has a ConfigMap
// row for name with action.
func changeRow(out, name, action string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "ConfigMap" && f[2] == name && f[3] == action {
			return true
		}
	}
	return false
}

package main

import (
	"bytes"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// runRoot runs gyre's real root command, as the shell runs it.
func runRoot(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), err
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			out, err := runRoot(t, "completion", shell)
			if err != nil || !strings.Contains(out, "gyre") || !strings.Contains(out, "__complete") {
				t.Errorf("err %v, script %.200q: want a %s script for gyre", err, out, shell)
			}
		})
	}
	if _, err := runRoot(t, "completion", "tcsh"); err == nil || err.Error() != `shell "tcsh": use bash, zsh or fish` {
		t.Errorf("completion tcsh: error %v, want one naming the shells", err)
	}
}

// completions runs `gyre __complete ARGS` against f and returns the
// completions offered, without their descriptions.
func completions(t *testing.T, f *fakeAPI, args ...string) []string {
	t.Helper()
	toComplete := args[len(args)-1]
	args = append(append([]string{"__complete"}, args[:len(args)-1]...),
		"--server", f.srv.URL, "--token", fakeToken, "--config", filepath.Join(t.TempDir(), "config.yaml"), toComplete)
	out, err := runRoot(t, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if name, _, _ := strings.Cut(line, "\t"); !strings.HasPrefix(name, ":") {
			names = append(names, name)
		}
	}
	return names
}

func TestCompletionAppNames(t *testing.T) {
	f := newFakeAPI(t)
	f.add(testApp("gyre", "web"))
	f.add(testApp("gyre", "worker"))
	f.add(testApp("gyre", "api"))
	f.add(testApp("team", "other"))
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"app", "get", ""}, []string{"api", "web", "worker"}},
		{[]string{"app", "refresh", "w"}, []string{"web", "worker"}},
		{[]string{"app", "events", "-n", "team", ""}, []string{"other"}},
		{[]string{"app", "get", "web", ""}, nil},
	}
	for _, tt := range tests {
		if got := completions(t, f, tt.args...); !slices.Equal(got, tt.want) {
			t.Errorf("complete %q = %q, want %q", tt.args, got, tt.want)
		}
	}
	out, _ := runRoot(t, "__complete", "app", "wait", "--server", f.srv.URL, "--token", fakeToken, "--config", filepath.Join(t.TempDir(), "c.yaml"), "")
	if !strings.Contains(out, "web\tSynced Healthy\n") {
		t.Errorf("app wait completion %q: want web with its sync and health", out)
	}

	f.fail["GET /api/v1/applications"] = fakeFailure{http.StatusInternalServerError, `{"error":"boom"}`}
	if got := completions(t, f, "app", "get", ""); got != nil {
		t.Errorf("completions %q when the list fails: want none", got)
	}
}

package install

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Line int
	Cmd  string // upper case: FROM, RUN, …
	Args string
}

// stage is one FROM and the instructions under it.
type stage struct {
	From, Name string
	Body       []instruction
}

// parseDockerfile splits a Dockerfile into stages. It understands what
// gyre's Dockerfile uses: comments, parser directives, continuation lines.
func parseDockerfile(t *testing.T, name string) []stage {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ins []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasPrefix(line, "#") { // a comment inside a continued instruction
			continue
		}
		if body, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		ins = append(ins, instruction{Line: start, Cmd: strings.ToUpper(cmd), Args: strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var stages []stage
	for _, in := range ins {
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			s := stage{From: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.Name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.Cmd != "ARG" {
				t.Fatalf("%s line %d: %s before the first FROM", name, in.Line, in.Cmd)
			}
			continue
		}
		stages[len(stages)-1].Body = append(stages[len(stages)-1].Body, in)
	}
	return stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.Body {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// TestDockerfile: a Go build stage makes a static binary without the
// embedded control plane, with the version stamped in; the image that ships
// is a minimal one that runs it as a non-root user.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))
	if len(stages) != 2 {
		t.Fatalf("%d stages, want 2 (build, runtime)", len(stages))
	}
	build, final := stages[0], stages[1]
	if build.From != "golang:1.26-bookworm" || build.Name != "build" {
		t.Errorf("first stage FROM %s AS %s, want FROM golang:1.26-bookworm AS build", build.From, build.Name)
	}
	if final.From != "gcr.io/distroless/static-debian12:nonroot" && !strings.HasPrefix(final.From, "debian:bookworm-slim") {
		t.Errorf("final stage FROM %s, want a minimal image with CA certificates", final.From)
	}

	var goBuild string
	for _, run := range build.all("RUN") {
		if strings.Contains(run.Args, "go build") {
			goBuild = run.Args
		}
	}
	for _, want := range []string{
		"CGO_ENABLED=0", "-tags nolocalcluster", "-trimpath",
		`-ldflags "-s -w -X main.version=${VERSION}"`, "-o /out/gyre", "./cmd/gyre",
	} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("build stage go build %q lacks %q", goBuild, want)
		}
	}
	hasArg := false
	for _, a := range build.all("ARG") {
		hasArg = hasArg || strings.HasPrefix(a.Args, "VERSION")
	}
	if !hasArg {
		t.Error("build stage has no ARG VERSION for the ldflags")
	}
	// The variable the ldflags set must exist.
	root, err := os.ReadFile(filepath.Join(repoRoot, "cmd/gyre/root.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^var version = `).Match(root) {
		t.Error("cmd/gyre/root.go declares no `var version`, which -X main.version sets")
	}

	copied := false
	for _, c := range final.all("COPY") {
		copied = copied || c.Args == "--from=build /out/gyre /gyre"
	}
	if !copied {
		t.Errorf("final stage does not COPY --from=build /out/gyre /gyre: %v", final.all("COPY"))
	}
	users := final.all("USER")
	if len(users) == 0 {
		t.Fatal("final stage sets no USER")
	}
	user, _, _ := strings.Cut(users[len(users)-1].Args, ":")
	if user == "0" || user == "root" || user == "" {
		t.Errorf("final stage USER %q, want a non-root user", users[len(users)-1].Args)
	}
	wantJSON(t, final, "ENTRYPOINT", []string{"/gyre"})
	wantJSON(t, final, "CMD", []string{"serve"})
}

// wantJSON checks the last cmd of a stage is in exec (JSON) form with args.
func wantJSON(t *testing.T, s stage, cmd string, want []string) {
	t.Helper()
	ins := s.all(cmd)
	if len(ins) == 0 {
		t.Errorf("final stage has no %s", cmd)
		return
	}
	var got []string
	if err := json.Unmarshal([]byte(ins[len(ins)-1].Args), &got); err != nil {
		t.Errorf("%s %s: want the exec form %q: %v", cmd, ins[len(ins)-1].Args, want, err)
		return
	}
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("%s %q, want %q", cmd, got, want)
	}
}

// TestDockerignoreKeepsTheBuildInputs: no file the image's go build reads
// (the Go files and embedded files of every package of the module that
// cmd/gyre links with -tags nolocalcluster, and go.mod, go.sum) is left out
// of the build context by .dockerignore.
func TestDockerignoreKeepsTheBuildInputs(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			if strings.HasPrefix(l, "!") {
				t.Fatalf(".dockerignore: exceptions (%s) are not understood by this test", l)
			}
			patterns = append(patterns, strings.TrimPrefix(path.Clean(l), "/"))
		}
	}

	cmd := exec.Command("go", "list", "-tags", "nolocalcluster", "-deps", "-json=ImportPath,Dir,Module,GoFiles,EmbedFiles", "./cmd/gyre")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	inputs := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			Dir                 string
			Module              *struct{ Main bool }
			GoFiles, EmbedFiles []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		rel, err := filepath.Rel(abs, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range append(p.GoFiles, p.EmbedFiles...) {
			inputs = append(inputs, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(inputs) < 10 {
		t.Fatalf("go list found only %v", inputs)
	}
	for _, f := range inputs {
		if p := dockerIgnored(patterns, f); p != "" {
			t.Errorf(".dockerignore pattern %q leaves out %s, which the image's build needs", p, f)
		}
	}
}

// dockerIgnored returns the pattern that excludes name (slash-separated,
// relative to the context) or "". As in Docker, a pattern that matches a
// directory excludes everything below it, and a leading "**/" matches any
// number of directories.
func dockerIgnored(patterns []string, name string) string {
	parts := strings.Split(name, "/")
	for _, pattern := range patterns {
		p, anyDepth := strings.CutPrefix(pattern, "**/")
		n := len(strings.Split(p, "/"))
		for start := 0; start+n <= len(parts); start++ {
			if ok, _ := path.Match(p, strings.Join(parts[start:start+n], "/")); ok {
				return pattern
			}
			if !anyDepth {
				break
			}
		}
	}
	return ""
}

//go:build linux

package render_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/render"
)

// Charts that attack the renderer. The bomb allocates until something
// stops it (sprig's until appends 2e9 ints); the spinner runs for hours
// and allocates little.
const (
	bombTemplate    = "{{ range until 2000000000 }}x{{ end }}\n"
	spinnerTemplate = "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}\n"
	okTemplate      = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  k: v\n"
)

// chartFS is a repository holding one chart at "c" with one template.
func chartFS(template string) fstest.MapFS {
	return fstest.MapFS{
		"c/Chart.yaml":         file("apiVersion: v2\nname: c\nversion: 0.1.0\n"),
		"c/templates/t.yaml":   file(template),
		"ok/Chart.yaml":        file("apiVersion: v2\nname: ok\nversion: 0.1.0\n"),
		"ok/templates/cm.yaml": file(okTemplate),
	}
}

// spinnerFS is chartFS(spinnerTemplate) that tells when the worker has
// read the spinning template, and so is about to spin in it.
type spinnerFS struct {
	fstest.MapFS
	once sync.Once
	read chan struct{}
}

func newSpinnerFS() *spinnerFS {
	return &spinnerFS{MapFS: chartFS(spinnerTemplate), read: make(chan struct{})}
}

// ReadFile reads name, noting when it is the spinner.
func (f *spinnerFS) ReadFile(name string) ([]byte, error) {
	if name == "c/templates/t.yaml" {
		f.once.Do(func() { close(f.read) })
	}
	return f.MapFS.ReadFile(name)
}

// waitRead waits until the spinner has been read.
func (f *spinnerFS) waitRead(t testing.TB) {
	t.Helper()
	select {
	case <-f.read:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not read the chart within 30s")
	}
}

// newSandbox returns a Sandbox with small limits that the test closes,
// checking that no worker outlives it.
func newSandbox(t testing.TB, opts render.SandboxOptions) *render.Sandbox {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := render.NewSandbox(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if pids := childPIDs(t); len(pids) > 0 {
			t.Errorf("worker processes %v still running after Close", pids)
		}
	})
	return s
}

// renderOK renders the good chart and fails the test unless it works.
func renderOK(t testing.TB, s *render.Sandbox, fsys fs.FS) {
	t.Helper()
	res, err := s.Render(context.Background(), fsys, "ok", render.Options{Helm: render.HelmOptions{ReleaseName: "after"}})
	if err != nil {
		t.Fatalf("render after the failure: %v", err)
	}
	if len(res.Objects) != 1 || res.Objects[0].Obj.GetName() != "after" {
		t.Fatalf("render after the failure gave %d objects, want the ConfigMap \"after\"", len(res.Objects))
	}
}

// TestSandboxRendersLikeRender renders every golden case in-process and
// sandboxed: the results must be equal, down to the types of the values
// in the objects and the origins.
func TestSandboxRendersLikeRender(t *testing.T) {
	s := newSandbox(t, render.SandboxOptions{Workers: 2})
	cases, err := filepath.Glob("testdata/*/case.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	types := map[render.Type]bool{}
	for _, file := range cases {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var c goldenCase
			if err := yaml.UnmarshalStrict(data, &c); err != nil {
				t.Fatal(err)
			}
			fsys := os.DirFS(filepath.Join(dir, "in"))
			want, err := render.Render(fsys, c.Path, c.Options)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Render(context.Background(), fsys, c.Path, c.Options)
			if err != nil {
				t.Fatalf("sandboxed: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("sandboxed result differs:\n%s", lineDiff(string(formatResult(t, want)), string(formatResult(t, got))))
			}
			types[got.Type] = true
		})
	}
	for _, typ := range []render.Type{render.Directory, render.Kustomize, render.Helm} {
		if !types[typ] {
			t.Errorf("no golden case of type %s rendered through the sandbox", typ)
		}
	}
}

// TestSandboxErrorsLikeRender checks that render's errors cross the
// process boundary whole: the same message, an *render.Error with the
// same fields, and the same sentinel for errors.Is.
func TestSandboxErrorsLikeRender(t *testing.T) {
	s := newSandbox(t, render.SandboxOptions{Workers: 1})
	tests := []struct {
		name string
		fsys fstest.MapFS
		path string
		opts render.Options
		is   error
	}{
		{"missing path", fstest.MapFS{"m.yaml": file("apiVersion: v1\nkind: ConfigMap\n")}, "nowhere", render.Options{}, render.ErrNotFound},
		{"missing value file", chartFS(okTemplate), "ok", render.Options{Helm: render.HelmOptions{ValueFiles: []string{"nope.yaml"}}}, render.ErrNotFound},
		{"unknown type", fstest.MapFS{"m.yaml": file("apiVersion: v1\nkind: ConfigMap\n")}, ".", render.Options{Type: "Jsonnet"}, render.ErrUnknownType},
		{"remote base", fstest.MapFS{"k/kustomization.yaml": file("resources:\n- https://github.com/example/repo//base?ref=v1\n")}, "k", render.Options{}, render.ErrRemoteDisabled},
		{"not an object", fstest.MapFS{"d/m.yaml": file("apiVersion: v1\nmetadata:\n  name: b\n")}, "d", render.Options{}, render.ErrNotObject},
		{"template error", chartFS("{{ fail \"no\" }}\n"), "c", render.Options{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, want := render.Render(tt.fsys, tt.path, tt.opts)
			_, got := s.Render(context.Background(), tt.fsys, tt.path, tt.opts)
			if want == nil || got == nil {
				t.Fatalf("errors: in-process %v, sandboxed %v; want both to fail", want, got)
			}
			if got.Error() != want.Error() {
				t.Errorf("sandboxed error\n  %v\nwant\n  %v", got, want)
			}
			var gotE, wantE *render.Error
			if !errors.As(got, &gotE) || !errors.As(want, &wantE) {
				t.Fatalf("sandboxed error %T is not a *render.Error", got)
			}
			if gotE.Type != wantE.Type || gotE.Path != wantE.Path || gotE.File != wantE.File || gotE.Line != wantE.Line {
				t.Errorf("sandboxed *Error %+v, want %+v", *gotE, *wantE)
			}
			if tt.is != nil && !errors.Is(got, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false after crossing", got, tt.is)
			}
		})
	}
}

// TestSandboxMemoryBudget renders a chart that allocates without end: the
// render fails with the memory error within seconds, this process does not
// grow, and the next render works.
func TestSandboxMemoryBudget(t *testing.T) {
	s := newSandbox(t, render.SandboxOptions{Workers: 1, MemoryBytes: 256 << 20})
	fsys := chartFS(bombTemplate)
	renderOK(t, s, fsys) // the worker is up; what follows is the render alone

	before := peakRSS(t)
	start := time.Now()
	_, err := s.Render(context.Background(), fsys, "c", render.Options{})
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), `render helm chart "c": exceeded its memory budget of 256 MiB`) {
		t.Fatalf("err = %v, want the memory budget error", err)
	}
	if took > 20*time.Second {
		t.Errorf("the memory overrun took %s to stop", took)
	}
	if grew := peakRSS(t) - before; grew > 64<<20 {
		t.Errorf("this process's peak RSS grew by %d MiB during the render", grew>>20)
	}
	t.Logf("memory bomb stopped after %s", took.Round(time.Millisecond))
	renderOK(t, s, fsys)
}

// TestSandboxDeadline renders a chart that loops for hours allocating
// little: the render fails when the deadline passes, and the next one works.
func TestSandboxDeadline(t *testing.T) {
	s := newSandbox(t, render.SandboxOptions{Workers: 1, Timeout: time.Second})
	fsys := chartFS(spinnerTemplate)
	start := time.Now()
	_, err := s.Render(context.Background(), fsys, "c", render.Options{})
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), `render helm chart "c": exceeded its 1s deadline`) {
		t.Fatalf("err = %v, want the deadline error", err)
	}
	if took > 5*time.Second {
		t.Errorf("a 1s deadline ended the render after %s", took)
	}
	renderOK(t, s, fsys)
}

// TestSandboxCancel cancels a render that would run for hours: it ends at
// once with the context's error, and the next render works.
func TestSandboxCancel(t *testing.T) {
	s := newSandbox(t, render.SandboxOptions{Workers: 1})
	fsys := newSpinnerFS()
	renderOK(t, s, fsys)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Render(ctx, fsys, "c", render.Options{})
		errc <- err
	}()
	fsys.waitRead(t)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the render went on for 5s after its context was cancelled")
	}
	renderOK(t, s, fsys)
}

// TestSandboxHostileRenderDoesNotBlockOthers runs a spinning render beside
// many good ones: the good ones all succeed while it spins.
func TestSandboxHostileRenderDoesNotBlockOthers(t *testing.T) {
	s := newSandbox(t, render.SandboxOptions{Workers: 3, Timeout: 20 * time.Second})
	fsys := chartFS(spinnerTemplate)
	hostile := make(chan error, 1)
	go func() {
		_, err := s.Render(context.Background(), fsys, "c", render.Options{})
		hostile <- err
	}()
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			name := fmt.Sprintf("app%d", i)
			res, err := s.Render(context.Background(), fsys, "ok", render.Options{Helm: render.HelmOptions{ReleaseName: name}})
			if err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			if got := res.Objects[0].Obj.GetName(); got != name {
				t.Errorf("%s rendered %q", name, got)
			}
		})
	}
	wg.Wait()
	select {
	case err := <-hostile:
		t.Fatalf("the hostile render ended before the good ones: %v", err)
	default:
	}
	s.Close()
	if err := <-hostile; err == nil || !strings.Contains(err.Error(), "render sandbox is closed") {
		t.Errorf("render in flight at Close: err = %v, want the sandbox closed error", err)
	}
	if _, err := s.Render(context.Background(), fsys, "ok", render.Options{}); err == nil || !strings.Contains(err.Error(), "render sandbox is closed") {
		t.Errorf("render after Close: err = %v, want the sandbox closed error", err)
	}
}

// TestSandboxWorkerKilled kills the worker from outside, while it renders
// and while it is idle: the first fails with a clear error, and renders go
// on working either way.
func TestSandboxWorkerKilled(t *testing.T) {
	s := newSandbox(t, render.SandboxOptions{Workers: 1})
	fsys := newSpinnerFS()
	errc := make(chan error, 1)
	go func() {
		_, err := s.Render(context.Background(), fsys, "c", render.Options{})
		errc <- err
	}()
	fsys.waitRead(t)
	killChildren(t)
	if err := <-errc; err == nil || !strings.Contains(err.Error(), `render helm chart "c": render worker crashed: killed`) {
		t.Fatalf("err = %v, want the crash error", err)
	}
	renderOK(t, s, fsys)

	killChildren(t)
	waitFor(t, 10*time.Second, "the idle worker to be gone", func() bool { return len(childPIDs(t)) == 0 })
	renderOK(t, s, fsys)
}

// TestSandboxWorkersDieWithParent kills a process that has a worker
// rendering: the worker exits too.
func TestSandboxWorkersDieWithParent(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), testHelperEnv+"=orphan")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said nothing: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "worker "))
	if err != nil {
		t.Fatalf("helper said %q, want \"worker <pid>\"", line)
	}
	cmd.Process.Kill()
	cmd.Wait()
	waitFor(t, 10*time.Second, fmt.Sprintf("worker %d to exit after its parent died", pid), func() bool {
		state, ok := processState(pid)
		return !ok || state == "Z"
	})
}

// TestSandboxNoNetwork renders a chart whose values schema names a URL,
// which Helm's own validation would fetch: in process and sandboxed alike,
// the render refuses the reference and the server is never reached. (The
// worker's network wall itself is probed by the environment test.)
func TestSandboxNoNetwork(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"type": "object"}`))
	}))
	defer srv.Close()
	fsys := chartFS(okTemplate)
	fsys["ok/values.schema.json"] = file(`{"$ref": "` + srv.URL + `/schema.json"}`)
	s := newSandbox(t, render.SandboxOptions{Workers: 1})
	for name, run := range map[string]func() error{
		"in process": func() error { _, err := render.Render(fsys, "ok", render.Options{}); return err },
		"sandboxed":  func() error { _, err := s.Render(context.Background(), fsys, "ok", render.Options{}); return err },
	} {
		if err := run(); !errors.Is(err, render.ErrRemoteDisabled) {
			t.Errorf("%s: err = %v, want the schema reference refused", name, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("rendering reached the server %d time(s)", n)
	}
}

// TestCacheRendersThroughSandbox checks that a Cache with a Sandbox renders
// there: the spinner's deadline error comes back, and is not cached.
func TestCacheRendersThroughSandbox(t *testing.T) {
	// The deadline also covers starting a fresh worker for the good render
	// after the spinning one was killed: on a busy machine that alone can
	// take half a second.
	s := newSandbox(t, render.SandboxOptions{Workers: 1, Timeout: 2 * time.Second})
	c := render.NewCache(render.CacheOptions{Sandbox: s})
	fsys := chartFS(spinnerTemplate)
	for range 2 {
		if _, err := c.Render("sha", fsys, "c", render.Options{}); err == nil || !strings.Contains(err.Error(), "deadline") {
			t.Fatalf("err = %v, want the deadline error", err)
		}
	}
	if c.Len() != 0 {
		t.Errorf("a failed render was cached")
	}
	if _, err := c.Render("sha", fsys, "ok", render.Options{}); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 1 {
		t.Errorf("Len = %d after a render, want 1", c.Len())
	}
}

// TestCacheRenderContext checks that a caller who stops waiting gets its
// context's error, and that the render is cancelled once nobody waits.
func TestCacheRenderContext(t *testing.T) {
	s := newSandbox(t, render.SandboxOptions{Workers: 1})
	c := render.NewCache(render.CacheOptions{Sandbox: s})
	fsys := newSpinnerFS()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.RenderContext(ctx, "sha", fsys, "c", render.Options{})
		errc <- err
	}()
	fsys.waitRead(t)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The sandbox kills the worker of a cancelled render; one left
	// spinning would still be there.
	waitFor(t, 10*time.Second, "the abandoned render to be cancelled", func() bool { return len(childPIDs(t)) == 0 })
	if _, err := c.Render("sha", fsys, "ok", render.Options{}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSandboxRender renders the 50-object chart of BenchmarkHelm50Cold
// in a warm worker: the difference between the two is the sandbox's cost.
func BenchmarkSandboxRender(b *testing.B) {
	fsys := benchChart()
	s := newSandbox(b, render.SandboxOptions{Workers: 1})
	if _, err := s.Render(context.Background(), fsys, "bench", benchHelmOpts); err != nil {
		b.Fatal(err)
	}
	benchRender(b, 50, func() (*render.Result, error) { return s.Render(context.Background(), fsys, "bench", benchHelmOpts) })
}

// TestSandboxWorkerWalls starts a worker that describes its world instead
// of serving: its environment holds only what the sandbox put there, no
// program can be found, and (where namespaces are available) no network
// can be reached.
func TestSandboxWorkerWalls(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	if conn, err := net.Dial("tcp", ln.Addr().String()); err != nil {
		t.Fatalf("the listener cannot be reached from here either: %v", err)
	} else {
		conn.Close()
	}
	var logs bytes.Buffer
	env := []string{testHelperEnv + "=probe", "GYRE_RENDER_TEST_DIAL=" + ln.Addr().String()}
	s := newSandbox(t, render.SandboxOptions{Workers: 1, MemoryBytes: 300 << 20, Env: env, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	_, err = s.Render(context.Background(), chartFS(okTemplate), "ok", render.Options{})
	if err == nil || !strings.Contains(err.Error(), "render worker crashed: probe:") {
		t.Fatalf("err = %v, want the probe's report as the worker's last words", err)
	}
	report := err.Error()
	wantEnv := fmt.Sprintf("env=%q", append([]string{"GYRE_RENDER_WORKER=314572800", "PATH="}, env...))
	if !strings.Contains(report, wantEnv) {
		t.Errorf("worker environment: %s\nwant %s", report, wantEnv)
	}
	if !strings.Contains(report, "sh=missing") {
		t.Errorf("the worker can find programs: %s", report)
	}
	if strings.Contains(logs.String(), "without a wall: network namespace") {
		t.Logf("namespaces are not available here, the probe (which raises no Landlock walls) is not walled off: %s", logs.String())
	} else if !strings.Contains(report, "net=unreachable") {
		t.Errorf("the worker reached a listener of the parent's network: %s", report)
	}
}

// TestSandboxLandlock checks that workers raise their Landlock walls where
// the kernel has Landlock. Go can bind every thread only in a program built
// without cgo, as gyre's image is; when this test binary has cgo, the test
// runs again in one built with CGO_ENABLED=0.
func TestSandboxLandlock(t *testing.T) {
	var logs bytes.Buffer
	s := newSandbox(t, render.SandboxOptions{Workers: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	renderOK(t, s, chartFS(okTemplate))
	switch log := logs.String(); {
	case !strings.Contains(log, "without a wall: Landlock"):
		return
	case strings.Contains(log, "built with cgo"):
		if testing.Short() {
			t.Skip("this binary has cgo; rebuilding without is skipped in -short runs")
		}
		cmd := exec.Command("go", "test", "-count=1", "-run", "^TestSandboxLandlock$", ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("CGO_ENABLED=0 go test: %v\n%s", err, out)
		}
	case strings.Contains(log, "not available"):
		t.Skipf("this kernel has no Landlock: %s", log)
	default:
		t.Fatalf("workers could not raise their Landlock walls: %s", log)
	}
}

// testHelperEnv makes the test binary a helper process for a test instead
// of running tests; see runTestHelper.
const testHelperEnv = "GYRE_RENDER_TEST_HELPER"

// runTestHelper runs the helper process a test started, and exits; in a
// process that is no helper it returns at once. "orphan" renders the
// spinner in a Sandbox, prints "worker <pid>" once the worker is busy, and
// waits to be killed. "probe", started by a Sandbox as its worker, writes
// one line about its world to stderr and exits, so that the Sandbox
// reports that line as the worker's last words.
func runTestHelper() {
	switch os.Getenv(testHelperEnv) {
	case "":
		return
	case "probe":
		sh, network := "found", "reachable"
		if _, err := exec.LookPath("sh"); err != nil {
			sh = "missing"
		}
		if conn, err := net.DialTimeout("tcp", os.Getenv("GYRE_RENDER_TEST_DIAL"), 2*time.Second); err != nil {
			network = "unreachable"
		} else {
			conn.Close()
		}
		fmt.Fprintf(os.Stderr, "probe: env=%q sh=%s net=%s\n", os.Environ(), sh, network)
		os.Exit(1)
	case "orphan":
		s, err := render.NewSandbox(render.SandboxOptions{Workers: 1, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go s.Render(context.Background(), chartFS(spinnerTemplate), "c", render.Options{})
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
			if pids := childPIDs(nil); len(pids) == 1 {
				fmt.Printf("worker %d\n", pids[0])
				select {}
			}
			time.Sleep(10 * time.Millisecond) // a helper process polling its children, with a deadline
		}
		fmt.Fprintln(os.Stderr, "orphan: no worker started within a minute")
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "unknown %s\n", testHelperEnv)
	os.Exit(2)
}

// childPIDs lists this process's child processes, which in these tests are
// render workers.
func childPIDs(t testing.TB) []int {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		if t != nil {
			t.Skipf("no /proc: %v", err)
		}
		return nil
	}
	me := os.Getpid()
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentPID(pid); ok && ppid == me {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procStat returns the fields of /proc/<pid>/stat after the command name.
func procStat(pid int) ([]string, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, false
	}
	return strings.Fields(string(data[i+1:])), true
}

// parentPID returns the parent of process pid.
func parentPID(pid int) (int, bool) {
	f, ok := procStat(pid)
	if !ok || len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// processState returns the state letter of process pid ("R", "S", "Z").
func processState(pid int) (string, bool) {
	f, ok := procStat(pid)
	if !ok || len(f) < 1 {
		return "", false
	}
	return f[0], true
}

// killChildren sends SIGKILL to every child process.
func killChildren(t testing.TB) {
	t.Helper()
	pids := childPIDs(t)
	if len(pids) == 0 {
		t.Fatal("no worker to kill")
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
}

// peakRSS returns this process's peak resident set size (VmHWM).
func peakRSS(t testing.TB) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testsupport.Eventually(t, timeout, func() (bool, string) { return cond(), "waiting for " + what })
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gyre-cd/gyre/app"
)

// What TestMain sets up, once, before any test runs; the tests only read
// it.
var (
	// gyreBin is the binary built from ./cmd/gyre.
	gyreBin string
	// serverURL is the base URL of gyre's HTTP API and UI.
	serverURL string
	// adminToken is the token `gyre up` generated in <data-dir>/admin-token.
	adminToken string
	// webhookSecrets are the webhook providers' secrets, which `gyre up`
	// generated in <data-dir>/webhook-secret-<provider>, by provider.
	webhookSecrets = map[string]string{}
	// kubeconfig is the embedded cluster's admin kubeconfig.
	kubeconfig string
	// dataDir is gyre up's --data-dir; the examples repository is
	// <dataDir>/examples.
	dataDir string
	// configHome is the XDG_CONFIG_HOME of gyre up and the CLI: gyre up
	// writes the CLI config to <configHome>/gyre/config.yaml.
	configHome string
	// cliEnv is the environment runGyre gives the CLI: the caller's, without
	// GYRE_*, with XDG_CONFIG_HOME where gyre up wrote the CLI config.
	cliEnv []string
	// skipReason, when set, makes every test skip (-short, or a gyre whose
	// `up` cannot serve the API yet).
	skipReason string
)

// Deadlines, generous since the machine may be busy.
const (
	buildTimeout    = 10 * time.Minute
	startTimeout    = 3 * time.Minute // gyre up's "is ready" banner
	examplesTimeout = 3 * time.Minute // the examples Synced and Healthy
	stopTimeout     = time.Minute
	cliTimeout      = 2 * time.Minute // one CLI command
)

// TestMain builds gyre, starts `gyre up` and waits for the examples, runs
// the tests, and stops gyre up with SIGTERM.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		skipReason = "-short: the end-to-end tests start a cluster"
		os.Exit(m.Run())
	}
	os.Exit(setUpAndRun(m))
}

func setUpAndRun(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "gyre-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	keep := false
	defer func() {
		if keep {
			fmt.Fprintf(os.Stderr, "e2e: kept %s (gyre up's data dir and logs) for a look\n", tmp)
			return
		}
		os.RemoveAll(tmp)
	}()
	gyreBin = filepath.Join(tmp, "gyre")
	if err := build(gyreBin); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	help, err := exec.Command(gyreBin, "up", "--help").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: gyre up --help: %v\n%s", err, help)
		return 1
	}
	if !strings.Contains(string(help), "--addr ") {
		skipReason = "gyre up has no --addr flag yet: it does not serve the API"
		fmt.Fprintln(os.Stderr, "e2e:", skipReason)
		return m.Run()
	}

	dataDir = filepath.Join(tmp, "data")
	kubeconfig = filepath.Join(dataDir, "kubeconfig")
	configHome = filepath.Join(tmp, "config")
	cliEnv = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "GYRE_") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=")
	}), "XDG_CONFIG_HOME="+configHome)

	up, err := startUp(tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		if up != nil {
			up.stop()
			fmt.Fprint(os.Stderr, up.tail())
		}
		keep = true
		return 1
	}
	code := m.Run()
	if err := up.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		code = 1
	}
	if code != 0 {
		fmt.Fprint(os.Stderr, up.tail())
		keep = true
	}
	return code
}

// build compiles ./cmd/gyre to bin. It runs from the module root, so it
// shares the go command's build cache with `go test`.
func build(bin string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gyre")
	cmd.Dir = ".."
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/gyre: %w", err)
	}
	fmt.Fprintf(os.Stderr, "e2e: built gyre in %.0fs\n", time.Since(start).Seconds())
	return nil
}

// upProcess is the running `gyre up`.
type upProcess struct {
	cmd    *exec.Cmd
	stdout string // file names of its output
	stderr string
	exited chan struct{}
	err    error // set before exited is closed
}

// startUp starts gyre up with its data in tmp and waits until the API
// answers and the examples are Synced and Healthy.
func startUp(tmp string) (*upProcess, error) {
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	serverURL = "http://" + addr
	args := []string{"up", "--data-dir", dataDir, "--api-addr", apiAddr, "--addr", addr, "--git-poll", "1h"}
	p := &upProcess{stdout: filepath.Join(tmp, "up.stdout"), stderr: filepath.Join(tmp, "up.stderr"), exited: make(chan struct{})}
	so, err := os.Create(p.stdout)
	if err != nil {
		return nil, err
	}
	defer so.Close()
	se, err := os.Create(p.stderr)
	if err != nil {
		return nil, err
	}
	defer se.Close()
	p.cmd = exec.Command(gyreBin, args...)
	p.cmd.Env = cliEnv
	p.cmd.Stdout, p.cmd.Stderr = so, se
	fmt.Fprintf(os.Stderr, "e2e: gyre %s\n", strings.Join(args, " "))
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	start := time.Now()
	if err := p.until(startTimeout, "the \"is ready\" banner", func() bool {
		out, _ := os.ReadFile(p.stdout)
		return bytes.Contains(out, []byte(" is ready ("))
	}); err != nil {
		return p, err
	}
	if err := p.until(30*time.Second, dataDir+"/admin-token", func() bool {
		b, err := os.ReadFile(filepath.Join(dataDir, "admin-token"))
		adminToken = strings.TrimSpace(string(b))
		return err == nil && adminToken != ""
	}); err != nil {
		return p, err
	}
	for _, provider := range []string{"github", "gitlab", "gitea", "bitbucket", "bitbucketserver", "generic"} {
		hookSecret, err := os.ReadFile(filepath.Join(dataDir, "webhook-secret-"+provider))
		if err != nil {
			return p, fmt.Errorf("gyre up: webhook secret: %w", err)
		}
		webhookSecrets[provider] = strings.TrimSpace(string(hookSecret))
	}
	if err := p.until(30*time.Second, serverURL+"/readyz", func() bool {
		resp, err := http.Get(serverURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		return p, err
	}
	var last string
	if err := p.until(examplesTimeout, "the examples Synced and Healthy", func() bool {
		var ok bool
		ok, last = examplesReady()
		return ok
	}); err != nil {
		return p, fmt.Errorf("%w; last seen: %s", err, last)
	}
	fmt.Fprintf(os.Stderr, "e2e: gyre up serves %s; examples Synced and Healthy after %.0fs\n", serverURL, time.Since(start).Seconds())
	return p, nil
}

// examplesReady reports whether the three examples are Synced and Healthy,
// and what the API says about them.
func examplesReady() (bool, string) {
	var list struct {
		Items []struct {
			Namespace, Name, SyncStatus, HealthStatus string
		} `json:"items"`
	}
	if err := apiDo(http.MethodGet, "/api/v1/applications", nil, &list); err != nil {
		return false, err.Error()
	}
	var seen []string
	ready := 0
	for _, it := range list.Items {
		if it.Namespace != "gyre" || !slices.Contains([]string{"guestbook", "podinfo", "hello-helm"}, it.Name) {
			continue
		}
		seen = append(seen, fmt.Sprintf("%s %s/%s", it.Name, it.SyncStatus, it.HealthStatus))
		if it.SyncStatus == string(app.Synced) && it.HealthStatus == string(app.Healthy) {
			ready++
		}
	}
	return ready == 3, strings.Join(seen, ", ")
}

// until polls cond every 100ms until it holds; it fails when timeout
// passes or gyre up exits first.
func (p *upProcess) until(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-p.exited:
			return fmt.Errorf("gyre up exited (%v) while waiting for %s", p.err, what)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gyre up: no %s after %s", what, timeout)
		}
	}
	return nil
}

// stop sends SIGTERM and waits for the exit, killing the process after
// stopTimeout.
func (p *upProcess) stop() error {
	select {
	case <-p.exited:
		return fmt.Errorf("gyre up exited early: %v", p.err)
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			return fmt.Errorf("gyre up after SIGTERM: %v, want exit status 0", p.err)
		}
		return nil
	case <-time.After(stopTimeout):
		p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("gyre up still ran %s after SIGTERM; killed", stopTimeout)
	}
}

// tail returns the end of gyre up's output, for a failure report.
func (p *upProcess) tail() string {
	var b strings.Builder
	for _, f := range []string{p.stdout, p.stderr} {
		data, _ := os.ReadFile(f)
		if len(data) > 8000 {
			data = data[len(data)-8000:]
		}
		fmt.Fprintf(&b, "--- %s (end):\n%s\n", filepath.Base(f), data)
	}
	return b.String()
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// needGyre skips the test when TestMain did not start gyre up.
func needGyre(tb testing.TB) {
	tb.Helper()
	if skipReason != "" {
		tb.Skip(skipReason)
	}
}

// runGyre runs the gyre binary with args and the CLI config gyre up wrote,
// and returns what it printed and its exit status.
func runGyre(t testing.TB, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	needGyre(t)
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, gyreBin, args...)
	cmd.Env = cliEnv
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("gyre %s: still running after %s\n--- stdout:\n%s--- stderr:\n%s", strings.Join(args, " "), cliTimeout, so.String(), se.String())
	case errors.As(err, &exit):
		exitCode = exit.ExitCode()
	case err != nil:
		t.Fatalf("gyre %s: %v", strings.Join(args, " "), err)
	}
	return so.String(), se.String(), exitCode
}

// apiDo calls gyre's API with the admin token; body, when set, is sent as
// JSON and out, when set, receives the decoded response.
func apiDo(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, serverURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// getApp fetches an Application through the API; ok is false when it does
// not exist (yet).
func getApp(tb testing.TB, namespace, name string) (a *app.Application, ok bool) {
	tb.Helper()
	a = &app.Application{}
	err := apiDo(http.MethodGet, "/api/v1/applications/"+namespace+"/"+name, nil, a)
	if err != nil && strings.Contains(err.Error(), " 404 ") {
		return nil, false
	}
	if err != nil {
		tb.Fatal(err)
	}
	return a, true
}

// dynamicClient returns a client for the embedded cluster, through the
// kubeconfig gyre up wrote.
func dynamicClient(tb testing.TB) dynamic.Interface {
	tb.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// createApp creates a in the cluster and deletes it, and its destination
// namespace, when the test ends.
func createApp(tb testing.TB, a *app.Application) {
	tb.Helper()
	u, err := a.ToUnstructured()
	if err != nil {
		tb.Fatal(err)
	}
	dyn := dynamicClient(tb)
	apps := dyn.Resource(app.GroupVersionResource()).Namespace(a.Namespace)
	if _, err := apps.Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("create Application %s/%s: %v", a.Namespace, a.Name, err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		apps.Delete(ctx, a.Name, metav1.DeleteOptions{})
		if ns := a.Spec.Destination.Namespace; ns != "" {
			dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Delete(ctx, ns, metav1.DeleteOptions{})
		}
	})
}

// uniqueName returns prefix with a suffix unique within this run.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000_007)
}

//go:build !nolocalcluster

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/localcluster"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
)

// systemNamespace is gyre's own namespace in the tests that run `gyre
// serve`: the Applications live there.
const systemNamespace = "gyre-system"

// serveProcess is a running `gyre serve`.
type serveProcess struct {
	t      testing.TB
	cmd    *exec.Cmd
	stderr *output
	exited chan struct{} // closed when the process has exited
	// url is the base URL of its HTTP server, once waitServing returned.
	url string
}

// startServe starts `gyre serve` against the cluster of kubeconfig, with its
// admin token and git cache in stateDir (pass the same dir to a restart),
// Applications in systemNamespace, local repositories allowed, git polled
// hourly unless extra says otherwise, and its HTTP server on a free port.
// extra flags come last, so they override. The process is killed when the
// test ends.
func startServe(t testing.TB, kubeconfig, stateDir string, extra ...string) *serveProcess {
	t.Helper()
	args := append([]string{"serve", "--kubeconfig", kubeconfig, "--system-namespace", systemNamespace,
		"--admin-token-file", filepath.Join(stateDir, "token"), "--addr", "127.0.0.1:0",
		"--cache-dir", filepath.Join(stateDir, "git"), "--git-poll", "1h", "--allow-file-repos"}, extra...)
	p := &serveProcess{t: t, stderr: newOutput(), exited: make(chan struct{})}
	p.cmd = exec.Command(gyreBin.path, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("gyre serve %s logged (end):\n%s", strings.Join(args[1:], " "), tailOf(p.stderr, 8000))
		}
	})
	return p
}

var servingAddr = regexp.MustCompile(`msg="gyre serving".* addr=(\S+)`)

// waitServing waits until the HTTP server is up and sets p.url.
func (p *serveProcess) waitServing() {
	p.t.Helper()
	testsupport.Eventually(p.t, 2*time.Minute, func() (bool, string) {
		select {
		case <-p.exited:
			p.t.Fatalf("gyre serve exited before serving:\n%s", p.stderr)
		default:
		}
		m := servingAddr.FindStringSubmatch(p.stderr.String())
		if m == nil {
			return false, "gyre serve has not logged its address"
		}
		p.url = "http://" + m[1]
		return true, ""
	})
}

// alive fails the test when the process has exited.
func (p *serveProcess) alive() {
	p.t.Helper()
	select {
	case <-p.exited:
		p.t.Fatalf("gyre serve exited (%v):\n%s", p.cmd.ProcessState, p.stderr)
	default:
	}
}

// kill sends SIGKILL and waits for the process to go.
func (p *serveProcess) kill() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// metrics scrapes /metrics.
func (p *serveProcess) metrics() testsupport.Metrics {
	p.t.Helper()
	m, err := testsupport.ScrapeMetrics(p.url + "/metrics")
	if err != nil {
		p.t.Fatalf("gyre serve /metrics: %v", err)
	}
	return m
}

// metric returns the sum of the series of name that carry the labels of
// match, 0 when there is none.
func (p *serveProcess) metric(name string, match map[string]string) float64 {
	p.t.Helper()
	v, _ := p.metrics().Value(name, match)
	return v
}

// usage is a process's goroutines and resident memory as it reports them
// on /metrics.
type usage struct {
	goroutines float64
	rssMB      float64
}

func (u usage) String() string {
	return fmt.Sprintf("%.0f goroutines, %.0f MB resident", u.goroutines, u.rssMB)
}

// usage reads go_goroutines and process_resident_memory_bytes.
func (p *serveProcess) usage() usage {
	p.t.Helper()
	m := p.metrics()
	g, ok1 := m.Value("go_goroutines", nil)
	rss, ok2 := m.Value("process_resident_memory_bytes", nil)
	if !ok1 || !ok2 {
		p.t.Fatal("/metrics has no go_goroutines or process_resident_memory_bytes")
	}
	return usage{goroutines: g, rssMB: rss / (1 << 20)}
}

// notAbove fails the test when later uses more than earlier by more than a
// tenth plus slack goroutines and slackMB.
func notAbove(t testing.TB, what string, earlier, later usage, slack, slackMB float64) {
	t.Helper()
	if later.goroutines > earlier.goroutines*1.1+slack {
		t.Errorf("%s: goroutines grew from %.0f to %.0f", what, earlier.goroutines, later.goroutines)
	}
	if later.rssMB > earlier.rssMB*1.1+slackMB {
		t.Errorf("%s: resident memory grew from %.0f MB to %.0f MB", what, earlier.rssMB, later.rssMB)
	}
}

// get does a GET of path on p's HTTP server within timeout and returns the
// status code (0 when no answer came) and how long it took.
func (p *serveProcess) get(path string, timeout time.Duration) (int, time.Duration) {
	client := &http.Client{Timeout: timeout}
	start := time.Now()
	resp, err := client.Get(p.url + path)
	if err != nil {
		return 0, time.Since(start)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// startCluster starts an embedded control plane for one test, with gyre's
// namespace and the given others created.
func startCluster(t testing.TB, opts localcluster.Options, namespaces ...string) *clustertest.Cluster {
	t.Helper()
	c, err := clustertest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	createNamespaces(t, c, append([]string{systemNamespace}, namespaces...)...)
	return c
}

func createNamespaces(t testing.TB, c *clustertest.Cluster, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := c.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitCRD waits until the Application CRD that gyre serve installs answers.
func waitCRD(t testing.TB, apps dynamic.ResourceInterface) {
	t.Helper()
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		_, err := apps.List(context.Background(), metav1.ListOptions{Limit: 1})
		return err == nil, fmt.Sprintf("Application CRD not served: %v", err)
	})
}

// listApps returns every Application in systemNamespace, by name.
func listApps(t testing.TB, apps dynamic.ResourceInterface) map[string]*app.Application {
	t.Helper()
	list, err := apps.List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*app.Application{}
	for i := range list.Items {
		a, err := app.FromUnstructured(&list.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		out[a.Name] = a
	}
	return out
}

// oneResultEach checks that a's operations each left exactly one recorded
// result: no operation is left Running or failed, no revision was synced
// twice, and the last recorded result is the last history entry.
func oneResultEach(a *app.Application) error {
	st := a.Status.OperationState
	if st == nil || st.Phase != app.OperationSucceeded {
		return fmt.Errorf("application %s: last operation %+v, want Succeeded", a.Name, st)
	}
	var revisions []string
	for _, h := range a.Status.History {
		if slices.Contains(revisions, h.Revision) {
			return fmt.Errorf("application %s: revision %.7s synced twice in history %v", a.Name, h.Revision, historyRevisions(a))
		}
		revisions = append(revisions, h.Revision)
	}
	if len(revisions) == 0 {
		return fmt.Errorf("application %s: no history", a.Name)
	}
	if last := revisions[len(revisions)-1]; st.SyncResult == nil || st.SyncResult.Revision != last {
		return fmt.Errorf("application %s: last operation synced %v, history ends at %.7s", a.Name, st.SyncResult, last)
	}
	return nil
}

func historyRevisions(a *app.Application) []string {
	var out []string
	for _, h := range a.Status.History {
		out = append(out, h.Revision[:7])
	}
	return out
}

// configMapDoc is a ConfigMap manifest.
func configMapDoc(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  value: %q\n", name, value)
}

// configMapValues returns data.value of every ConfigMap in ns, by name.
func configMapValues(t testing.TB, c *clustertest.Cluster, ns string) map[string]string {
	t.Helper()
	list, err := c.Client.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, cm := range list.Items {
		out[cm.Name] = cm.Data["value"]
	}
	return out
}

// tailOf returns the end of s, for a failure message.
func tailOf(s fmt.Stringer, n int) string {
	out := s.String()
	if len(out) > n {
		out = "…" + out[len(out)-n:]
	}
	return strings.TrimSpace(out)
}

// envDuration reads a duration from the environment; zero when unset.
func envDuration(t testing.TB, name string) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("$%s=%q: %v", name, v, err)
	}
	return d
}

//go:build !nolocalcluster

package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/examples"
)

// These tests run the gyre binary the way a user does and check what the
// issue about `gyre up` faults asks: a one-line error with the fix and a
// non-zero exit for a taken port, a locked, unwritable or corrupt data dir;
// no damage to the data dir; a clean stop on SIGTERM; objects kept across a
// restart, also after SIGKILL. Each test has its own data dir and runs alone:
// a running gyre up takes ~400 MB.

// Deadlines for the binary: generous, since the machine may be busy.
const (
	startTimeout = 2 * time.Minute  // until the "is ready" banner
	stopTimeout  = 30 * time.Second // from SIGTERM to exit
	failTimeout  = 60 * time.Second // for a start that must fail
	pollTimeout  = 30 * time.Second // for a cluster state to appear
	syncTimeout  = 2 * time.Minute  // for the examples to be Synced and Healthy
)

// output collects what a process writes and wakes waiters on each write.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

// snapshot returns what was written so far and a channel closed at the next
// write.
func (o *output) snapshot() (string, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String(), o.changed
}

func (o *output) String() string {
	s, _ := o.snapshot()
	return s
}

// upProcess is a running `gyre up`.
type upProcess struct {
	t       *testing.T
	cmd     *exec.Cmd
	dataDir string
	stdout  *output
	stderr  *output
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed
}

// upArgs returns the arguments of `gyre up` on dataDir and apiAddr, with
// gyre's own HTTP server on a free port.
func upArgs(dataDir, apiAddr string) []string {
	return []string{"up", "--data-dir", dataDir, "--api-addr", apiAddr, "--addr", "127.0.0.1:0"}
}

func needBinary(t *testing.T) {
	t.Helper()
	if gyreBin.path == "" {
		t.Skip("-short: the gyre binary is not built")
	}
}

// startUp starts `gyre up` in the background. The process is killed when
// the test ends, if it still runs.
func startUp(t *testing.T, dataDir, apiAddr string) *upProcess {
	t.Helper()
	return startUpWith(t, dataDir, apiAddr)
}

// startUpWith is startUp with more flags.
func startUpWith(t *testing.T, dataDir, apiAddr string, flags ...string) *upProcess {
	t.Helper()
	p := &upProcess{t: t, dataDir: dataDir, stdout: newOutput(), stderr: newOutput(), exited: make(chan struct{})}
	p.cmd = exec.Command(gyreBin.path, append(upArgs(dataDir, apiAddr), flags...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// waitLine waits until stdout has a complete line starting with prefix and
// returns it. It fails the test when the process exits or the timeout
// passes first.
func (p *upProcess) waitLine(prefix string, timeout time.Duration) string {
	p.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s, changed := p.stdout.snapshot()
		lines := strings.Split(s, "\n")
		for _, l := range lines[:len(lines)-1] { // the last is unfinished
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		select {
		case <-changed:
		case <-p.exited:
			if l, ok := findLine(p.stdout.String(), prefix); ok {
				return l
			}
			p.t.Fatalf("gyre up exited (%v) before printing %q\n%s", p.waitErr, prefix, p.transcript())
		case <-timer.C:
			p.t.Fatalf("gyre up did not print %q within %v\n%s", prefix, timeout, p.transcript())
		}
	}
}

func findLine(s, prefix string) (string, bool) {
	for l := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l, true
		}
	}
	return "", false
}

// waitReady waits for the banner of a started cluster.
func (p *upProcess) waitReady() {
	p.t.Helper()
	p.waitLine("gyre up: Kubernetes ", startTimeout)
}

// stop sends SIGTERM and checks that gyre up says it stops and exits 0 in
// time, without a stack trace.
func (p *upProcess) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		p.t.Fatalf("gyre up still runs %v after SIGTERM\n%s", stopTimeout, p.transcript())
	}
	if p.waitErr != nil {
		p.t.Fatalf("gyre up after SIGTERM: %v, want exit status 0\n%s", p.waitErr, p.transcript())
	}
	if _, ok := findLine(p.stdout.String(), "gyre up: stopped"); !ok {
		p.t.Errorf("gyre up printed no stop line\n%s", p.transcript())
	}
	if hasStackTrace(p.stdout.String() + p.stderr.String()) {
		p.t.Errorf("gyre up printed a stack trace\n%s", p.transcript())
	}
}

// kill sends SIGKILL and waits for the process to go.
func (p *upProcess) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		p.t.Fatal(err)
	}
	<-p.exited
}

func (p *upProcess) transcript() string {
	return "--- stdout:\n" + p.stdout.String() + "--- stderr:\n" + p.stderr.String() + "---"
}

// client returns a client that uses the kubeconfig gyre up wrote.
func (p *upProcess) client() *kubernetes.Clientset {
	p.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(p.dataDir, "kubeconfig"))
	if err != nil {
		p.t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

// dynamicClient returns a client for any kind, Applications included.
func (p *upProcess) dynamicClient() *dynamic.DynamicClient {
	p.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(p.dataDir, "kubeconfig"))
	if err != nil {
		p.t.Fatal(err)
	}
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

// runFailing runs a `gyre up` that must fail, and returns its output. It
// checks the exit is non-zero and prompt and that stderr is one line with
// no stack trace.
func runFailing(t *testing.T, dataDir, apiAddr string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), failTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, gyreBin.path, upArgs(dataDir, apiAddr)...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	stdout, stderr = so.String(), se.String()
	transcript := "--- stdout:\n" + stdout + "--- stderr:\n" + stderr + "---"
	if ctx.Err() != nil {
		t.Fatalf("gyre up still ran after %v; want it to fail at once\n%s", failTimeout, transcript)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() <= 0 {
		t.Fatalf("gyre up: %v, want a non-zero exit status\n%s", err, transcript)
	}
	var problems []string
	if hasStackTrace(stdout + stderr) {
		problems = append(problems, "a stack trace")
	}
	if msg := strings.TrimSuffix(stderr, "\n"); msg == "" || strings.Contains(msg, "\n") {
		problems = append(problems, fmt.Sprintf("%d lines on stderr, want one", strings.Count(stderr, "\n")))
	}
	if len(problems) > 0 {
		t.Errorf("gyre up failed with %s\n%s", strings.Join(problems, " and "), transcript)
	}
	return stdout, stderr
}

// hasStackTrace reports whether out holds a panic or a goroutine dump.
func hasStackTrace(out string) bool {
	return strings.Contains(out, "panic") || strings.Contains(out, "goroutine ")
}

// wantAll checks that s, a one-line message, says every part. Only its first
// line is quoted on failure: runFailing shows the rest.
func wantAll(t *testing.T, s string, parts ...string) {
	t.Helper()
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("error %q does not say %q", first, p)
		}
	}
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// createConfigMap creates a ConfigMap named kept in default and returns its
// UID.
func createConfigMap(t *testing.T, c kubernetes.Interface) types.UID {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}, Data: map[string]string{"answer": "42"}}
	got, err := c.CoreV1().ConfigMaps("default").Create(t.Context(), cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got.UID
}

// wantConfigMap checks that the ConfigMap createConfigMap made is there,
// the same object.
func wantConfigMap(t *testing.T, c kubernetes.Interface, uid types.UID) {
	t.Helper()
	got, err := c.CoreV1().ConfigMaps("default").Get(t.Context(), "kept", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("config map lost across the restart: %v", err)
	}
	if got.UID != uid || got.Data["answer"] != "42" {
		t.Fatalf("config map changed across the restart: uid %s (was %s), data %v", got.UID, uid, got.Data)
	}
}

// populate runs gyre up on dataDir once, creates the ConfigMap, stops
// cleanly and returns the ConfigMap's UID.
func populate(t *testing.T, dataDir string) types.UID {
	t.Helper()
	p := startUp(t, dataDir, freeAddr(t))
	p.waitReady()
	uid := createConfigMap(t, p.client())
	p.stop()
	return uid
}

// restartKeeps starts gyre up again on dataDir and checks the ConfigMap is
// still there; then stops it.
func restartKeeps(t *testing.T, dataDir, apiAddr string, uid types.UID) {
	t.Helper()
	p := startUp(t, dataDir, apiAddr)
	p.waitReady()
	wantConfigMap(t, p.client(), uid)
	p.stop()
}

// treeHash returns a digest per file and directory under dir, leaving out
// what a start is allowed to touch even when it fails: the lock file, the
// logs and etcd's socket.
func treeHash(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			out[rel] = "dir"
		case d.Name() == "lock", strings.HasSuffix(d.Name(), ".log"), d.Type()&fs.ModeSocket != 0:
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			out[rel] = hex.EncodeToString(sum[:])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wantSameTree reports every file that differs between two treeHash results.
func wantSameTree(t *testing.T, before, after map[string]string) {
	t.Helper()
	var names []string
	for k := range before {
		names = append(names, k)
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		b, inBefore := before[n]
		a, inAfter := after[n]
		switch {
		case !inBefore:
			t.Errorf("data dir: %s was created", n)
		case !inAfter:
			t.Errorf("data dir: %s was removed", n)
		case a != b:
			t.Errorf("data dir: %s was changed", n)
		}
	}
}

// TestUpStopRestart: SIGTERM stops gyre up cleanly, and the next start on
// the same data dir and port finds the objects and Ready nodes.
func TestUpStopRestart(t *testing.T) {
	needBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)

	p := startUp(t, dir, addr)
	p.waitReady()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if l, _ := findLine(p.stdout.String(), "  kubeconfig"); !strings.Contains(l, kubeconfig) {
		t.Errorf("banner names kubeconfig %q, want %s", l, kubeconfig)
	}
	uid := createConfigMap(t, p.client())
	p.stop()
	if _, err := os.Stat(filepath.Join(dir, "etcd", "member")); err != nil {
		t.Fatalf("data dir after a clean stop: %v", err)
	}

	p = startUp(t, dir, addr)
	p.waitReady()
	c := p.client()
	wantConfigMap(t, c, uid)
	deadline := time.Now().Add(pollTimeout)
	for {
		nodes, err := c.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
		ready := 0
		if err == nil {
			for _, n := range nodes.Items {
				for _, cond := range n.Status.Conditions {
					if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
						ready++
					}
				}
			}
		}
		if err == nil && ready == 3 && len(nodes.Items) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: want 3 Ready nodes; err %v, %d Ready\n%s", err, ready, p.transcript())
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-p.exited:
			t.Fatalf("gyre up exited: %v\n%s", p.waitErr, p.transcript())
		}
	}
	p.stop()
}

// TestUpAfterKill: a SIGKILL mid-run leaves a data dir the next start uses.
func TestUpAfterKill(t *testing.T) {
	needBinary(t)
	dir := filepath.Join(t.TempDir(), "data")

	p := startUp(t, dir, freeAddr(t))
	p.waitReady()
	uid := createConfigMap(t, p.client())
	p.kill()

	restartKeeps(t, dir, freeAddr(t), uid)
}

// TestUpDataDirInUse: a second gyre up on a data dir in use fails at once,
// in one line, and leaves the first one running.
func TestUpDataDirInUse(t *testing.T) {
	needBinary(t)
	dir := filepath.Join(t.TempDir(), "data")

	first := startUp(t, dir, freeAddr(t))
	first.waitReady()
	c := first.client()
	uid := createConfigMap(t, c)
	kubeconfig, err := os.ReadFile(filepath.Join(dir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}

	_, stderr := runFailing(t, dir, freeAddr(t))
	wantAll(t, stderr, dir, "in use")

	select {
	case <-first.exited:
		t.Fatalf("the first gyre up exited: %v\n%s", first.waitErr, first.transcript())
	default:
	}
	wantConfigMap(t, c, uid)
	if _, err := c.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{}); err != nil {
		t.Errorf("the first gyre up's API server: %v", err)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "kubeconfig")); !bytes.Equal(now, kubeconfig) {
		t.Error("the second gyre up rewrote the kubeconfig of the first")
	}
	first.stop()
}

// TestUpAPIAddressInUse: a taken API port fails in one line naming the
// address, and the data dir is as it was.
func TestUpAPIAddressInUse(t *testing.T) {
	needBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	uid := populate(t, dir)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()

	before := treeHash(t, dir)
	_, stderr := runFailing(t, dir, addr)
	wantAll(t, stderr, addr, "in use")
	wantSameTree(t, before, treeHash(t, dir))

	ln.Close()
	restartKeeps(t, dir, addr, uid)
}

// TestUpDataDirNotWritable: a data dir that cannot be created or written
// fails in one line naming it.
func TestUpDataDirNotWritable(t *testing.T) {
	needBinary(t)
	tmp := t.TempDir()
	file := filepath.Join(tmp, "afile")
	if err := os.WriteFile(file, []byte("not a directory\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, dir string }{
		// A path below a regular file cannot be created, even by root.
		{"below a file", filepath.Join(file, "sub")},
		{"a file", file},
	}
	if os.Geteuid() != 0 {
		// Permissions do not stop root, so these only run for other users.
		ro := filepath.Join(tmp, "readonly")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(ro, 0o700) })
		cases = append(cases,
			struct{ name, dir string }{"read-only", ro},
			struct{ name, dir string }{"below read-only", filepath.Join(ro, "data")})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr := runFailing(t, tc.dir, freeAddr(t))
			wantAll(t, stderr, tc.dir, "not writable", "--data-dir")
		})
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "not a directory\n" {
		t.Errorf("gyre up changed %s: %q, %v", file, b, err)
	}
}

// TestUpCorruptDataDir: when etcd's database is unreadable, gyre up says the
// data dir cannot be opened and how to fix it, in one line, and changes
// nothing in it.
func TestUpCorruptDataDir(t *testing.T) {
	needBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	populate(t, dir)

	db := filepath.Join(dir, "etcd", "member", "snap", "db")
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("etcd's database is not where the test expects it: %v", err)
	}
	if err := os.WriteFile(db, bytes.Repeat([]byte("not a bbolt database "), 4096), 0o600); err != nil {
		t.Fatal(err)
	}

	before := treeHash(t, dir)
	_, stderr := runFailing(t, dir, freeAddr(t))
	wantAll(t, stderr, dir, "cannot be opened", "--data-dir")
	wantSameTree(t, before, treeHash(t, dir))
}

// TestUpDeploysExamples: on a fresh data dir, gyre up deploys the bundled
// examples from a git repository it creates, and every example Application
// becomes Synced and Healthy with nothing else installed. It also checks
// the webhook secrets gyre up made (checkWebhookSecrets).
func TestUpDeploysExamples(t *testing.T) {
	needBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	p := startUp(t, dir, freeAddr(t))
	p.waitReady()
	checkWebhookSecrets(t, p)
	apps := p.dynamicClient().Resource(app.GroupVersionResource())

	var want []string
	for _, a := range examples.Applications("", "") {
		want = append(want, a.Name)
	}
	slices.Sort(want)
	var state []string
	deadline := time.Now().Add(syncTimeout)
	for {
		list, err := apps.List(t.Context(), metav1.ListOptions{LabelSelector: examples.PartOfLabel + "=gyre-examples"})
		state = state[:0]
		done := err == nil
		if err == nil {
			var names []string
			for _, u := range list.Items {
				a, err := app.FromUnstructured(&u)
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, a.Name)
				st := fmt.Sprintf("%s: %s %s", a.Name, a.Status.Sync.Status, a.Status.Health.Status)
				if c := a.Status.Conditions; len(c) > 0 {
					st += fmt.Sprintf(" %v", c)
				}
				state = append(state, st)
				done = done && st == a.Name+": Synced Healthy"
			}
			slices.Sort(names)
			done = done && slices.Equal(names, want)
		} else {
			state = append(state, err.Error())
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the examples %v are not all Synced and Healthy after %v:\n%s\n%s", want, syncTimeout, strings.Join(state, "\n"), p.transcript())
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-p.exited:
			t.Fatalf("gyre up exited: %v\n%s", p.waitErr, p.transcript())
		}
	}
	p.stop()
}

// checkWebhookSecrets checks that gyre up wrote one webhook secret per
// provider, names where in its banner, and that one provider's secret is
// refused by another provider's webhook.
func checkWebhookSecrets(t *testing.T, p *upProcess) {
	t.Helper()
	secrets := map[string]string{}
	seen := map[string]string{}
	for _, provider := range []string{"github", "gitlab", "gitea", "bitbucket", "bitbucketserver", "generic"} {
		b, err := os.ReadFile(filepath.Join(p.dataDir, "webhook-secret-"+provider))
		if err != nil {
			t.Fatalf("webhook secret of %s: %v", provider, err)
		}
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			t.Fatalf("webhook secret of %s is %d characters", provider, len(s))
		}
		if other, dup := seen[s]; dup {
			t.Fatalf("%s and %s have the same webhook secret", other, provider)
		}
		secrets[provider], seen[s] = s, provider
	}
	if _, err := os.Stat(filepath.Join(p.dataDir, "webhook-secret")); err == nil {
		t.Error("gyre up still writes one webhook-secret for every provider")
	}
	// The banner's lines come as gyre up gets there: wait for this one.
	if l := p.waitLine("                            in ", startTimeout); !strings.Contains(l, filepath.Join(p.dataDir, "webhook-secret-<provider>")) {
		t.Errorf("the banner does not say where the webhook secrets are:\n%s", p.stdout.String())
	}
	ui, _ := findLine(p.stdout.String(), "  web UI")
	server, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(ui, "  web UI")), "/#token=")
	if !strings.HasPrefix(server, "http://127.0.0.1:") {
		t.Fatalf("no server address in the banner line %q", ui)
	}
	post := func(headers map[string]string, body string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, server+"/api/webhook", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	sign := func(secret, body string) string {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		return "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	const ping = `{"zen": "hello"}`
	generic := `{"repository": "https://git.example.invalid/none.git"}`
	for _, tc := range []struct {
		what    string
		headers map[string]string
		body    string
		want    int
	}{
		{"GitHub ping signed with GitHub's secret", map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign(secrets["github"], ping)}, ping, http.StatusOK},
		{"GitHub ping signed with the generic secret", map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign(secrets["generic"], ping)}, ping, http.StatusUnauthorized},
		{"GitLab event with GitHub's secret", map[string]string{"X-Gitlab-Event": "System Hook", "X-Gitlab-Token": secrets["github"]}, ping, http.StatusUnauthorized},
		{"GitLab event with GitLab's secret", map[string]string{"X-Gitlab-Event": "System Hook", "X-Gitlab-Token": secrets["gitlab"]}, ping, http.StatusOK},
		{"generic push signed with GitHub's secret", map[string]string{"X-Gyre-Signature": sign(secrets["github"], generic)}, generic, http.StatusUnauthorized},
		{"generic push signed with the generic secret", map[string]string{"X-Gyre-Signature": sign(secrets["generic"], generic)}, generic, http.StatusAccepted},
	} {
		if got := post(tc.headers, tc.body); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.what, got, tc.want)
		}
	}
}

// TestUpWithoutAgent: `gyre up --agent=false` runs the cluster alone, like
// kind: its kubeconfig works and lists the nodes, the banner says how to
// run gyre against it, and no agent ran (the Application CRD, which the
// agent installs, does not exist, nor do the example Applications).
func TestUpWithoutAgent(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	pprofAddr := freeAddr(t)
	p := startUpWith(t, dir, freeAddr(t), "--agent=false", "--nodes", "2", "--pprof-addr", pprofAddr)
	banner := p.waitLine("gyre up: Kubernetes ", startTimeout)
	if !strings.Contains(banner, "without gyre's agent") {
		t.Errorf("banner %q does not say the agent is off", banner)
	}
	hint := p.waitLine("To run gyre against it:", startTimeout)
	if !strings.Contains(hint, "gyre serve --kubeconfig "+filepath.Join(dir, "kubeconfig")) {
		t.Errorf("banner line %q does not name the kubeconfig to serve with", hint)
	}
	nodes, err := p.client().CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 2 {
		t.Fatalf("nodes: %v, %v; want 2", nodes, err)
	}
	crds := p.dynamicClient().Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	if _, err := crds.Get(context.Background(), "applications.gyre.dev", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Application CRD without an agent: %v, want not found", err)
	}
	if out := p.stdout.String(); strings.Contains(out, "web UI") {
		t.Errorf("gyre up --agent=false printed a web UI:\n%s", out)
	}
	// --pprof-addr profiles the control plane alone.
	resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatalf("--pprof-addr without the agent: %v", err)
	}
	cmdline, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(cmdline), "--agent=false") {
		t.Errorf("/debug/pprof/cmdline: %d %q, want this process's command line", resp.StatusCode, cmdline)
	}
	p.stop()
}

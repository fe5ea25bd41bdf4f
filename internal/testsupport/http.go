package testsupport

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// GitHTTPHandler serves the repositories under root over git's smart HTTP
// protocol with real git (git http-backend behind net/http/cgi): the
// repository in root/x is at <server>/x. It skips the test when no git
// binary is installed.
func GitHTTPHandler(t testing.TB, root string) http.Handler {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git binary not installed: it serves repositories over HTTP in this test (CI installs it)")
	}
	return &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
}

// StallServer is an HTTP server that passes requests to a handler until
// Stall is called, and from then on reads every request and never answers
// it, as a wedged git host or a black-holing proxy does: the client sees
// its connection accepted and then nothing until it gives up. It counts the
// requests it holds, so a test can check that a client does not pile them
// up.
type StallServer struct {
	// URL is the server's base URL, http://127.0.0.1:<port>.
	URL string

	srv     *httptest.Server
	next    http.Handler
	stalled atomic.Bool
	release chan struct{}

	mu      sync.Mutex
	held    int // requests held now
	maxHeld int // most requests held at once
	total   int // requests held in all
}

// NewStallServer starts a StallServer in front of next; a nil next stalls
// from the start. The server stops when the test ends, letting go of the
// requests it holds first.
func NewStallServer(t testing.TB, next http.Handler) *StallServer {
	t.Helper()
	s := &StallServer{next: next, release: make(chan struct{})}
	s.stalled.Store(next == nil)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(func() {
		close(s.release)
		s.srv.Close()
	})
	return s
}

// Stall makes the server hold every request from now on, including those on
// connections that are already open.
func (s *StallServer) Stall() { s.stalled.Store(true) }

// Resume makes the server answer again.
func (s *StallServer) Resume() { s.stalled.Store(false) }

// Held returns how many requests the server holds now, the most it held at
// once, and how many it held in all.
func (s *StallServer) Held() (now, most, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held, s.maxHeld, s.total
}

func (s *StallServer) serve(w http.ResponseWriter, r *http.Request) {
	if !s.stalled.Load() {
		s.next.ServeHTTP(w, r)
		return
	}
	s.mu.Lock()
	s.held++
	s.total++
	s.maxHeld = max(s.maxHeld, s.held)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.held--
		s.mu.Unlock()
	}()
	// The request's context ends when the client hangs up.
	select {
	case <-r.Context().Done():
	case <-s.release:
	}
}

// GitCLI runs the git binary in dir with args, as a fixed test identity and
// with automatic gc off (a gc started in the background by a commit races
// anything run after it), and returns its trimmed output. It fails the test
// when git fails, and skips it when no git binary is installed.
func GitCLI(t testing.TB, dir string, args ...string) string {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git binary not installed: this test runs it (CI installs it)")
	}
	cmd := exec.Command(git, append([]string{"-C", dir, "-c", "user.name=gyre test", "-c", "user.email=test@example.com", "-c", "gc.auto=0"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

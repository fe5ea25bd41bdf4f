package source_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/source"
)

// testRepo is a git repository in a temp dir, written with go-git.
type testRepo struct {
	t    testing.TB
	dir  string
	repo *gogit.Repository
	when time.Time
}

// newTestRepo creates an empty repository whose default branch is main.
func newTestRepo(t testing.TB) *testRepo {
	t.Helper()
	return newTestRepoAt(t, filepath.Join(t.TempDir(), "repo"))
}

// newTestRepoAt is newTestRepo in dir.
func newTestRepoAt(t testing.TB, dir string) *testRepo {
	t.Helper()
	repo, err := gogit.PlainInitWithOptions(dir, &gogit.PlainInitOptions{
		InitOptions: gogit.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &testRepo{t: t, dir: dir, repo: repo, when: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// commit writes files (content "" deletes), commits them on the current
// branch and returns the SHA.
func (r *testRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	wt, err := r.repo.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if files[name] == "" {
			if _, err := wt.Remove(name); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[name]), 0o644); err != nil {
			r.t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			r.t.Fatal(err)
		}
	}
	r.when = r.when.Add(time.Minute)
	sig := &object.Signature{Name: "Test", Email: "test@example.com", When: r.when}
	h, err := wt.Commit(msg, &gogit.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		r.t.Fatal(err)
	}
	return h.String()
}

// symlink commits a symbolic link.
func (r *testRepo) symlink(name, target string) string {
	r.t.Helper()
	if err := os.Symlink(target, filepath.Join(r.dir, filepath.FromSlash(name))); err != nil {
		r.t.Fatal(err)
	}
	wt, _ := r.repo.Worktree()
	if _, err := wt.Add(name); err != nil {
		r.t.Fatal(err)
	}
	return r.commit("link "+name, nil)
}

// branch points branch name at sha.
func (r *testRepo) branch(name, sha string) {
	r.t.Helper()
	ref := plumbing.NewHashReference(plumbing.NewBranchReferenceName(name), plumbing.NewHash(sha))
	if err := r.repo.Storer.SetReference(ref); err != nil {
		r.t.Fatal(err)
	}
}

// checkout switches the worktree to branch name.
func (r *testRepo) checkout(name string) {
	r.t.Helper()
	wt, _ := r.repo.Worktree()
	if err := wt.Checkout(&gogit.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(name)}); err != nil {
		r.t.Fatal(err)
	}
}

// tag creates a lightweight tag, or an annotated one when annotated, and
// returns the hash the tag ref points at (the tag object when annotated).
func (r *testRepo) tag(name, sha string, annotated bool) string {
	r.t.Helper()
	var opts *gogit.CreateTagOptions
	if annotated {
		opts = &gogit.CreateTagOptions{
			Tagger:  &object.Signature{Name: "Test", Email: "test@example.com", When: r.when},
			Message: "release " + name,
		}
	}
	ref, err := r.repo.CreateTag(name, plumbing.NewHash(sha), opts)
	if err != nil {
		r.t.Fatal(err)
	}
	return ref.Hash().String()
}

// newCache returns a Cache over a temp dir with a fake clock and counting
// observer and transports, and a 60s poll interval without jitter unless
// opts say otherwise.
func newCache(t testing.TB, opts source.Options) (*source.Cache, *counts, *testsupport.FakeClock) {
	t.Helper()
	n := &counts{}
	clock := testsupport.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.PollJitter == 0 {
		opts.PollJitter = -1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.Clock == nil {
		opts.Clock = clock
	}
	if opts.Observer == nil {
		opts.Observer = n
	}
	if opts.WrapTransport == nil {
		opts.WrapTransport = func(_ string, t transport.Transport) transport.Transport {
			return countingTransport{t, n}
		}
	}
	opts.AllowFileURLs = true // the tests serve repositories from disk
	c, err := source.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, n, clock
}

// counts counts git requests, both as the Observer sees them and at the
// transport (sessions that only advertised refs are listings, sessions that
// also uploaded a pack are fetches).
type counts struct {
	mu                  sync.Mutex
	observed            map[source.RequestType]int
	observedErrs        int
	repos               map[string]bool
	wireLists, wireFets int
}

func (n *counts) GitRequest(repo string, typ source.RequestType, _ time.Duration, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.observed == nil {
		n.observed = map[source.RequestType]int{}
		n.repos = map[string]bool{}
	}
	n.observed[typ]++
	n.repos[repo] = true
	if err != nil {
		n.observedErrs++
	}
}

// lists and fetches return what the Observer saw.
func (n *counts) lists() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.observed[source.RequestListRefs]
}
func (n *counts) fetches() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.observed[source.RequestFetch]
}

// wire returns the listings and fetches counted at the transport.
func (n *counts) wire() (lists, fetches int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.wireLists, n.wireFets
}

// countingTransport wraps a go-git transport to count what crosses it.
type countingTransport struct {
	transport.Transport
	n *counts
}

func (c countingTransport) NewUploadPackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.UploadPackSession, error) {
	s, err := c.Transport.NewUploadPackSession(ep, auth)
	if err != nil {
		return nil, err
	}
	return &countingSession{UploadPackSession: s, n: c.n}, nil
}

type countingSession struct {
	transport.UploadPackSession
	n        *counts
	uploaded bool
}

func (s *countingSession) UploadPack(ctx context.Context, req *packp.UploadPackRequest) (*packp.UploadPackResponse, error) {
	s.uploaded = true
	return s.UploadPackSession.UploadPack(ctx, req)
}

func (s *countingSession) Close() error {
	s.n.mu.Lock()
	if s.uploaded {
		s.n.wireFets++
	} else {
		s.n.wireLists++
	}
	s.n.mu.Unlock()
	return s.UploadPackSession.Close()
}

// eventually polls cond until it holds, failing the test after 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testsupport.Eventually(t, 10*time.Second, func() (bool, string) { return cond(), "waiting for " + what })
}

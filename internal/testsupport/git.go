package testsupport

import (
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Branch is the branch a Repo commits to.
const Branch = "main"

// Repo is a real git repository with a worktree, on disk in a test's
// temporary directory, written with go-git. Its commits are dated one
// minute apart from 2026-01-01, so the same commits give the same SHAs on
// every run. Its methods may be called from several goroutines.
type Repo struct {
	// Dir is the repository's directory; gyre reads it as a local
	// repository URL.
	Dir string

	t    testing.TB
	mu   sync.Mutex
	git  *gogit.Repository
	when time.Time
}

// NewRepo creates an empty repository whose default branch is main in a
// new temporary directory of t.
func NewRepo(t testing.TB) *Repo {
	t.Helper()
	return NewRepoAt(t, filepath.Join(t.TempDir(), "repo"))
}

// NewRepoAt is NewRepo in dir, which may exist and must hold no
// repository yet.
func NewRepoAt(t testing.TB, dir string) *Repo {
	t.Helper()
	g, err := gogit.PlainInitWithOptions(dir, &gogit.PlainInitOptions{
		InitOptions: gogit.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(Branch)},
	})
	if err != nil {
		t.Fatalf("git init %s: %v", dir, err)
	}
	return &Repo{Dir: dir, t: t, git: g, when: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// Commit writes files (slash-separated path → content), creating their
// directories, commits them on main with msg and returns the commit SHA.
// A commit that changes nothing is made all the same.
func (r *Repo) Commit(msg string, files map[string]string) string {
	r.t.Helper()
	return r.change(msg, files, nil)
}

// Remove deletes paths from the worktree, commits that with msg and returns
// the commit SHA.
func (r *Repo) Remove(msg string, paths ...string) string {
	r.t.Helper()
	return r.change(msg, nil, paths)
}

func (r *Repo) change(msg string, files map[string]string, remove []string) string {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	wt, err := r.git.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(r.Dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[name]), 0o644); err != nil {
			r.t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			r.t.Fatalf("git add %s: %v", name, err)
		}
	}
	for _, name := range remove {
		if _, err := wt.Remove(name); err != nil {
			r.t.Fatalf("git rm %s: %v", name, err)
		}
	}
	r.when = r.when.Add(time.Minute)
	sig := &object.Signature{Name: "gyre test", Email: "test@example.com", When: r.when}
	h, err := wt.Commit(msg, &gogit.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		r.t.Fatalf("git commit in %s: %v", r.Dir, err)
	}
	return h.String()
}

// Head returns the SHA main points at; "" before the first commit.
func (r *Repo) Head() string {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, err := r.git.Reference(plumbing.NewBranchReferenceName(Branch), true)
	if err == plumbing.ErrReferenceNotFound {
		return ""
	}
	if err != nil {
		r.t.Fatalf("git rev-parse %s in %s: %v", Branch, r.Dir, err)
	}
	return ref.Hash().String()
}

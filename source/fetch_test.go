package source_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/source"
)

// fetchFixture is a repository served by real git over HTTP and a cache
// that reads it; packBytes measures what the cache stored.
type fetchFixture struct {
	repo     *testRepo
	cache    *source.Cache
	url      string
	cacheDir string
}

func newFetchFixture(t *testing.T) *fetchFixture {
	t.Helper()
	root := t.TempDir()
	f := &fetchFixture{repo: newTestRepoAt(t, filepath.Join(root, "app")), cacheDir: t.TempDir()}
	srv := serveGitHTTP(t, root)
	f.url = srv.URL + "/app"
	f.cache, _, _ = newCache(t, source.Options{Dir: f.cacheDir, Credentials: httpCredentials})
	return f
}

// resolve refreshes the listing and checks that main is at want and that
// file reads content there.
func (f *fetchFixture) resolve(t *testing.T, want, file, content string) {
	t.Helper()
	ctx := context.Background()
	f.cache.Refresh(f.url)
	if got, err := f.cache.Resolve(ctx, f.url, "main"); err != nil || got != want {
		t.Fatalf("Resolve(main) = %q, %v; want %s", got, err, want)
	}
	snap, err := f.cache.Files(ctx, f.url, want, "")
	if err != nil {
		t.Fatal(err)
	}
	if data, err := snap.ReadFile(file); err != nil || string(data) != content {
		t.Fatalf("%s at %.7s = %q, %v; want %q", file, want, data, err, content)
	}
}

// packBytes is the size of the packs the cache holds.
func (f *fetchFixture) packBytes(t *testing.T) int64 {
	t.Helper()
	packs, _ := filepath.Glob(filepath.Join(f.cacheDir, "*", "objects", "pack", "*.pack"))
	var n int64
	for _, p := range packs {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

func randomText(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestFetchOfAPushBringsWhatChanged: after the first, shallow, fetch of a
// branch, a push that changes one file of many costs that file's objects,
// not the whole tree again (a depth-1 fetch would bring the tree whole).
func TestFetchOfAPushBringsWhatChanged(t *testing.T) {
	f := newFetchFixture(t)
	files := map[string]string{}
	for i := range 100 {
		files[fmt.Sprintf("apps/a%03d/data.txt", i)] = randomText(t, 2048) // incompressible
	}
	first := f.repo.commit("apps", files)
	f.resolve(t, first, "apps/a000/data.txt", files["apps/a000/data.txt"])
	whole := f.packBytes(t)

	second := f.repo.commit("one app", map[string]string{"apps/a042/data.txt": "changed\n"})
	f.resolve(t, second, "apps/a042/data.txt", "changed\n")
	added := f.packBytes(t) - whole
	if added <= 0 || added > whole/10 {
		t.Errorf("the push of one file added %d bytes of packs to the %d of the first fetch; want under a tenth", added, whole)
	}
	// The files the push left alone read as before.
	f.resolve(t, second, "apps/a007/data.txt", files["apps/a007/data.txt"])
}

// TestFetchOfABranchResetToAnOlderCommit: a branch moved back to a commit
// the cache never fetched, dated hours before the one it holds, is fetched
// all the same (asked for the commits since the held one, the server sends
// none, and the fetch is made again at depth 1).
func TestFetchOfABranchResetToAnOlderCommit(t *testing.T) {
	f := newFetchFixture(t)
	old := f.repo.commit("old", map[string]string{"v.yaml": "v: old\n"})
	f.repo.when = f.repo.when.Add(5 * time.Hour)
	newer := f.repo.commit("newer", map[string]string{"v.yaml": "v: newer\n"})
	f.resolve(t, newer, "v.yaml", "v: newer\n")

	f.repo.branch("main", old)
	f.resolve(t, old, "v.yaml", "v: old\n")
}

// TestFetchOfRewrittenHistory: a force-push that replaces the commit the
// cache holds with one on another parent brings the new commit's files.
func TestFetchOfRewrittenHistory(t *testing.T) {
	f := newFetchFixture(t)
	base := f.repo.commit("base", map[string]string{"v.yaml": "v: base\n", "keep.yaml": "k: 1\n"})
	f.repo.when = f.repo.when.Add(3 * time.Hour)
	dropped := f.repo.commit("dropped", map[string]string{"v.yaml": "v: dropped\n"})
	f.resolve(t, dropped, "v.yaml", "v: dropped\n")

	f.repo.branch("rewrite", base)
	f.repo.checkout("rewrite")
	rewritten := f.repo.commit("rewritten", map[string]string{"v.yaml": "v: rewritten\n"})
	f.repo.branch("main", rewritten)
	f.resolve(t, rewritten, "v.yaml", "v: rewritten\n")
	f.resolve(t, rewritten, "keep.yaml", "k: 1\n")
}

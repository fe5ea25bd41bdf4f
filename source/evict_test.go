package source_test

import (
	"context"
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gyre-cd/gyre/source"
)

// evictions is a counting observer that also hears of released
// repositories.
type evictions struct {
	*counts
	mu   sync.Mutex
	gone []string
}

func (e *evictions) RepositoryEvicted(repo string) {
	e.mu.Lock()
	e.gone = append(e.gone, repo)
	e.mu.Unlock()
}

func (e *evictions) evicted() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.gone)
}

// repoDirs lists the repository directories below the cache root.
func repoDirs(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestRetainReleasesIdleRepositories(t *testing.T) {
	kept, dropped := newTestRepo(t), newTestRepo(t)
	keptSHA := kept.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	droppedSHA := dropped.commit("first", map[string]string{"b.yaml": "b: 1\n"})
	obs := &evictions{counts: &counts{}}
	root := t.TempDir()
	c, _, clock := newCache(t, source.Options{Dir: root, IdleTimeout: 10 * time.Minute, Observer: obs})
	ctx := context.Background()
	for _, r := range []struct{ url, sha string }{{kept.dir, keptSHA}, {dropped.dir, droppedSHA}} {
		if got, err := c.Resolve(ctx, r.url, "main"); err != nil || got != r.sha {
			t.Fatalf("Resolve(%s) = %q, %v", r.url, got, err)
		}
	}
	if got := repoDirs(t, root); len(got) != 2 {
		t.Fatalf("cache holds %v, want two repositories", got)
	}

	// Not named, but used a moment ago: kept.
	if got := c.Retain([]string{kept.dir}); len(got) != 0 {
		t.Fatalf("Retain released %v right after use; want nothing before IdleTimeout", got)
	}
	// Used again just before the timeout: the idle time starts over.
	clock.Advance(9 * time.Minute)
	if _, err := c.Files(ctx, dropped.dir, droppedSHA, ""); err != nil {
		t.Fatal(err)
	}
	clock.Advance(9 * time.Minute)
	if got := c.Retain([]string{kept.dir}); len(got) != 0 {
		t.Fatalf("Retain released %v 9m after a read; want nothing", got)
	}

	// Idle for IdleTimeout: released, from memory and disk. The kept one,
	// idle as long, stays because Retain names it.
	clock.Advance(time.Minute)
	want, _ := source.NormalizeURL(dropped.dir)
	if got := c.Retain([]string{kept.dir}); !slices.Equal(got, []string{want}) {
		t.Fatalf("Retain released %v, want [%s]", got, want)
	}
	if got := repoDirs(t, root); len(got) != 1 {
		t.Errorf("after releasing one of two repositories the cache holds %v, want one directory", got)
	}
	if got := obs.evicted(); !slices.Equal(got, []string{want}) {
		t.Errorf("observer heard of %v released, want [%s]", got, want)
	}

	// The kept repository still answers without fetching.
	fetches := obs.fetches()
	if got, err := c.Resolve(ctx, kept.dir, "main"); err != nil || got != keptSHA {
		t.Fatalf("Resolve(kept) = %q, %v", got, err)
	}
	if obs.fetches() != fetches {
		t.Errorf("the kept repository was fetched again")
	}
	// The released one starts afresh when asked for again.
	if got, err := c.Resolve(ctx, dropped.dir, "main"); err != nil || got != droppedSHA {
		t.Fatalf("Resolve(released) = %q, %v", got, err)
	}
	if obs.fetches() != fetches+1 {
		t.Errorf("resolving a released repository made %d fetches, want 1", obs.fetches()-fetches)
	}
	if got := repoDirs(t, root); len(got) != 2 {
		t.Errorf("after using the released repository again the cache holds %v, want two directories", got)
	}
}

func TestRetainDeletesOrphanDirectories(t *testing.T) {
	root := t.TempDir()
	// What an earlier process left: a repository no app uses any more,
	// and a directory a crash left half deleted.
	orphan := filepath.Join(root, "0123456789abcdef0123456789abcdef")
	half := filepath.Join(root, ".released-fedcba9876543210fedcba9876543210")
	other := filepath.Join(root, "notes") // not the cache's: left alone
	for _, dir := range []string{orphan, half, other} {
		if err := os.MkdirAll(filepath.Join(dir, "objects"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "HEAD"), []byte("ref: refs/heads/main\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, _, clock := newCache(t, source.Options{Dir: root, IdleTimeout: 10 * time.Minute})
	c.Retain(nil)
	if got := repoDirs(t, root); !slices.Equal(got, []string{"0123456789abcdef0123456789abcdef", "notes"}) {
		t.Fatalf("right after start the cache root holds %v; want the half-deleted directory gone and the rest kept", got)
	}
	clock.Advance(10 * time.Minute)
	c.Retain(nil)
	if got := repoDirs(t, root); !slices.Equal(got, []string{"notes"}) {
		t.Fatalf("IdleTimeout after start the cache root holds %v; want only what is not a repository", got)
	}
}

// randomFile returns n incompressible bytes, so that store sizes measure
// what a change costs.
func randomFile(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dirSize returns the bytes of the files below dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCompactKeepsOnlyCommitsInUse follows a branch through many pushes and
// one fetch of full history, then lets Retain compact the store: it must
// shrink to the commit in use, cost that commit no fetch, and still fetch
// later pushes correctly, including one that brings back a file only the
// dropped history held.
func TestCompactKeepsOnlyCommitsInUse(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepoAt(t, filepath.Join(root, "big.git"))
	srv := serveGitHTTP(t, root)
	url := srv.URL + "/big.git"
	creds, err := source.CredentialsFromSecrets([]corev1.Secret{
		credentialSecret("big", srv.URL+"/big", source.SecretTypeRepository, map[string]string{
			source.SecretKeyUsername: httpUser, source.SecretKeyPassword: httpPassword,
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	cacheDir := t.TempDir()
	c, n, clock := newCache(t, source.Options{Dir: cacheDir, Credentials: creds, IdleTimeout: 10 * time.Minute})
	source.SetCompaction(c, time.Hour, 0)
	ctx := context.Background()
	resolve := func(rev, want string) {
		t.Helper()
		if got, err := c.Resolve(ctx, url, rev); err != nil || got != want {
			t.Fatalf("Resolve(%s) = %q, %v; want %s", rev, got, err, want)
		}
	}

	const fileSize = 128 << 10
	versions := []string{randomFile(t, fileSize)}
	shas := []string{repo.commit("v0", map[string]string{"data.bin": versions[0], "app/cm.yaml": "v: 0\n"})}
	resolve("main", shas[0])
	c.Retain([]string{url}) // measures the baseline
	for i := 1; i <= 12; i++ {
		versions = append(versions, randomFile(t, fileSize))
		shas = append(shas, repo.commit("push", map[string]string{"data.bin": versions[i]}))
		clock.Advance(2 * time.Minute)
		resolve("main", shas[i])
	}
	resolve(shas[3][:10], shas[3]) // not a ref tip: full history
	if _, err := c.Files(ctx, url, shas[3], ""); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	tip := shas[len(shas)-1]
	resolve("main", tip) // the one commit in use now

	before := dirSize(t, cacheDir)
	if got := c.Retain([]string{url}); len(got) != 0 {
		t.Fatalf("Retain released %v, which is in use", got)
	}
	after := dirSize(t, cacheDir)
	t.Logf("cache of %d pushes of a %d KiB file: %d KiB before compacting, %d KiB after", len(shas), fileSize>>10, before>>10, after>>10)
	if after > before/4 || after > 2*fileSize+64<<10 {
		t.Fatalf("compacting left %d bytes of %d; want about one version of the file", after, before)
	}
	if shallow := readShallow(t, cacheDir); !strings.Contains(shallow, tip) {
		t.Errorf("after compacting, shallow = %q; want the kept commit %s as a boundary", shallow, tip)
	}

	// The commit in use is still there: no fetch for it.
	fetches := n.fetches()
	clock.Advance(2 * time.Minute)
	resolve("main", tip)
	snap, err := c.Files(ctx, url, tip, "")
	if err != nil {
		t.Fatal(err)
	}
	if data, err := snap.ReadFile("data.bin"); err != nil || string(data) != versions[len(versions)-1] {
		t.Fatalf("ReadFile(data.bin) of the kept commit: %d bytes, %v", len(data), err)
	}
	if n.fetches() != fetches {
		t.Errorf("the commit in use cost %d fetches after compacting, want 0", n.fetches()-fetches)
	}
	// The packs that were read before compacting and then deleted are not
	// held open: their space is free.
	if held := openDeletedFiles(t, cacheDir); len(held) > 0 {
		t.Errorf("deleted files still open after compacting: %v", held)
	}
	// What Files remembered of the commit it read before is gone with
	// it; the kept one is remembered, once however often read.
	if _, err := c.Files(ctx, url, tip, "app"); err != nil {
		t.Fatal(err)
	}
	if n := source.CommitMemos(c, url); n != 1 {
		t.Errorf("Files remembers %d commits after compacting and reading one twice, want 1", n)
	}

	// A push that brings back a file only the dropped history held: the
	// server must send it, since the cache said where its history ends.
	back := repo.commit("revert", map[string]string{"data.bin": versions[2]})
	clock.Advance(2 * time.Minute)
	resolve("main", back)
	snap, err = c.Files(ctx, url, back, "")
	if err != nil {
		t.Fatal(err)
	}
	if data, err := snap.ReadFile("data.bin"); err != nil || string(data) != versions[2] {
		t.Fatalf("ReadFile(data.bin) after a revert to dropped content: %d bytes, %v", len(data), err)
	}
	if data, err := snap.ReadFile("app/cm.yaml"); err != nil || string(data) != "v: 0\n" {
		t.Fatalf("ReadFile(app/cm.yaml) = %q, %v", data, err)
	}
}

// openDeletedFiles lists the files below dir that this process holds open
// although they were deleted (Linux only; nil elsewhere).
func openDeletedFiles(t *testing.T, dir string) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	var out []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir) && strings.HasSuffix(target, " (deleted)") {
			out = append(out, target)
		}
	}
	return out
}

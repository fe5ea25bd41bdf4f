package source_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gyre-cd/gyre/source"
)

// TestLocalRepositoriesRefused: file:// URLs and plain paths are refused
// unless the cache allows local repositories, and, allowed or not, no URL
// may read a repository inside the cache: not directly, not through a
// symbolic link, not through a .git file pointing there and not through
// objects/info/alternates borrowing its objects. That is how one tenant
// would read another's private repository off the agent's disk.
func TestLocalRepositoriesRefused(t *testing.T) {
	ctx := context.Background()
	repo := newTestRepo(t)
	repo.commit("one", map[string]string{"a.yaml": "a: 1\n"})

	off, err := source.New(source.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"file://" + repo.dir, repo.dir} {
		if _, err := off.Resolve(ctx, u, "main"); !errors.Is(err, source.ErrLocalRefused) {
			t.Errorf("Resolve(%q) without AllowFileURLs: err = %v, want ErrLocalRefused", u, err)
		}
	}

	cacheDir := t.TempDir()
	c, _, _ := newCache(t, source.Options{Dir: cacheDir})
	if _, err := c.Resolve(ctx, repo.dir, "main"); err != nil {
		t.Fatalf("an ordinary local repository: %v", err)
	}
	// The cache now holds a copy of repo; find its directory.
	entries, err := os.ReadDir(cacheDir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("cache dir: %v %v", entries, err)
	}
	cached := filepath.Join(cacheDir, entries[0].Name())

	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(cached, link); err != nil {
		t.Fatal(err)
	}
	gitfile := filepath.Join(t.TempDir(), "gitfile")
	os.MkdirAll(gitfile, 0o755)
	if err := os.WriteFile(filepath.Join(gitfile, ".git"), []byte("gitdir: "+cached+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	borrower := newTestRepo(t)
	borrower.commit("b", map[string]string{"b.yaml": "b: 1\n"})
	alternates := filepath.Join(borrower.dir, ".git", "objects", "info", "alternates")
	os.MkdirAll(filepath.Dir(alternates), 0o755)
	if err := os.WriteFile(alternates, []byte(filepath.Join(cached, "objects")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, u := range map[string]string{
		"cache itself": "file://" + cacheDir,
		"cached repo":  "file://" + cached,
		"plain path":   cached,
		"symlink":      "file://" + link,
		"gitdir file":  "file://" + gitfile,
		"alternates":   "file://" + borrower.dir,
	} {
		if _, err := c.Resolve(ctx, u, "main"); !errors.Is(err, source.ErrLocalRefused) {
			t.Errorf("%s (%s): err = %v, want ErrLocalRefused", name, u, err)
		}
	}
}

package source_test

import (
	"context"
	"io/fs"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/gyre-cd/gyre/source"
)

// blobHash is the git hash of a blob holding data.
func blobHash(data string) string {
	return plumbing.ComputeHash(plumbing.BlobObject, []byte(data)).String()
}

func TestObjectHash(t *testing.T) {
	repo := newTestRepo(t)
	repo.commit("first", map[string]string{
		"apps/a/cm.yaml": "a: 1\n",
		"apps/b/cm.yaml": "b: 1\n",
		"base/x.yaml":    "x: 1\n",
	})
	repo.symlink("apps/a/base", "../../base")
	repo.symlink("apps/a/x.yaml", "../../base/x.yaml")
	repo.symlink("apps/a/dangling", "../../nope")
	repo.symlink("apps/a/escape", "../../../etc")
	repo.symlink("apps/a/loop", "loop")
	first := repo.commit("nothing", nil)
	second := repo.commit("change b", map[string]string{"apps/b/cm.yaml": "b: 2\n"})
	c, _, _ := newCache(t, source.Options{})
	ctx := context.Background()

	snap := func(sha, dir string) *source.Snapshot {
		t.Helper()
		s, err := c.Files(ctx, repo.dir, sha, dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hash := func(s *source.Snapshot, name string, follow bool) string {
		t.Helper()
		h, err := s.ObjectHash(name, follow)
		if err != nil {
			t.Fatalf("ObjectHash(%s, %v): %v", name, follow, err)
		}
		return h
	}
	one, two := snap(first, ""), snap(second, "")

	// Files hash as git hashes their content, followed or not.
	for _, follow := range []bool{true, false} {
		if got, want := hash(one, "apps/a/cm.yaml", follow), blobHash("a: 1\n"); got != want {
			t.Errorf("ObjectHash(apps/a/cm.yaml, %v) = %s, want %s", follow, got, want)
		}
	}
	// A directory's hash is its tree's: it changes with what is below it
	// and only then.
	if hash(one, "apps/a", true) != hash(two, "apps/a", true) {
		t.Error("apps/a did not change, but its hash did")
	}
	for _, name := range []string{"apps/b", "apps", "."} {
		if hash(one, name, true) == hash(two, name, true) {
			t.Errorf("%s changed, but its hash did not", name)
		}
	}
	if hash(one, "apps/b/cm.yaml", true) == hash(two, "apps/b/cm.yaml", true) {
		t.Error("apps/b/cm.yaml changed, but its hash did not")
	}
	if hash(one, "apps/a", true) == hash(one, "apps/b", true) {
		t.Error("two different directories have the same hash")
	}

	// Links: followed, the hash of what they point to; not followed, of the
	// link itself, whose content is its target.
	if got, want := hash(one, "apps/a/base", true), hash(one, "base", true); got != want {
		t.Errorf("ObjectHash(apps/a/base, true) = %s, want base's %s", got, want)
	}
	if got, want := hash(one, "apps/a/base/x.yaml", true), blobHash("x: 1\n"); got != want {
		t.Errorf("ObjectHash(apps/a/base/x.yaml, true) = %s, want %s", got, want)
	}
	if got, want := hash(one, "apps/a/x.yaml", true), blobHash("x: 1\n"); got != want {
		t.Errorf("ObjectHash(apps/a/x.yaml, true) = %s, want %s", got, want)
	}
	if got, want := hash(one, "apps/a/x.yaml", false), blobHash("../../base/x.yaml"); got != want {
		t.Errorf("ObjectHash(apps/a/x.yaml, false) = %s, want the link's %s", got, want)
	}

	// What does not exist has no hash, and no error.
	for _, name := range []string{"nope", "apps/nope", "apps/a/cm.yaml/deeper", "apps/a/dangling", "apps/a/escape", "apps/a/escape/passwd"} {
		for _, follow := range []bool{true, false} {
			if got := hash(one, name, follow); got != "" {
				t.Errorf("ObjectHash(%s, %v) = %s, want \"\"", name, follow, got)
			}
		}
	}
	// A loop is an error when followed, as for Stat; Lstat sees no entry.
	if h, err := one.ObjectHash("apps/a/loop", true); err == nil {
		t.Errorf("ObjectHash(apps/a/loop, true) = %q, want an error", h)
	}
	if got := hash(one, "apps/a/loop", false); got != "" {
		t.Errorf("ObjectHash(apps/a/loop, false) = %s, want \"\"", got)
	}
	if _, err := one.ObjectHash("../apps", true); err == nil {
		t.Error("ObjectHash of an invalid name succeeded")
	}

	// Names are relative to the snapshot's directory.
	apps := snap(first, "apps")
	for name, want := range map[string]string{".": "apps", "a": "apps/a", "a/base": "base", "b/cm.yaml": "apps/b/cm.yaml"} {
		if got, w := hash(apps, name, true), hash(one, want, true); got != w {
			t.Errorf("ObjectHash(%s) in apps = %s, want %s's %s", name, got, want, w)
		}
	}
}

// TestObjectHashSeesWhatStatSees checks ObjectHash against Stat and Lstat
// over every name of a tree with links: a name exists for one exactly when
// it has a hash for the other, and directories and files hash as what they
// are.
func TestObjectHashSeesWhatStatSees(t *testing.T) {
	repo, sha := hostileLinks(t)
	c, _, _ := newCache(t, source.Options{})
	s, err := c.Files(context.Background(), repo.dir, sha, "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = fs.WalkDir(s, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n++
		for _, follow := range []bool{true, false} {
			stat := fs.Stat
			if !follow {
				stat = fs.Lstat
			}
			info, serr := stat(s, name)
			h, herr := s.ObjectHash(name, follow)
			switch {
			case herr != nil:
				if serr == nil {
					t.Errorf("ObjectHash(%s, %v) = %v, but it stats", name, follow, herr)
				}
			case serr != nil && h != "":
				t.Errorf("ObjectHash(%s, %v) = %s, but stat fails: %v", name, follow, h, serr)
			case serr == nil && h == "":
				t.Errorf("ObjectHash(%s, %v) is empty, but it stats", name, follow)
			case serr == nil && !info.IsDir() && info.Mode().Type() != fs.ModeSymlink:
				data, err := fs.ReadFile(s, name)
				if err != nil {
					t.Fatal(err)
				}
				if want := blobHash(string(data)); h != want {
					t.Errorf("ObjectHash(%s, %v) = %s, want its content's %s", name, follow, h, want)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("walked %d names; the test repository is not what it was", n)
	}
}

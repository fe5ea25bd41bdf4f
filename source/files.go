package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Files returns the files of commit sha below dir, as a read-only fs.FS
// read straight from the cache's object store: no worktree is checked out,
// so any number of readers of any commits of one repository can read at
// once, while fetches go on. sha is a full commit SHA (from Resolve); a
// commit not in the cache is fetched first. dir "" or "." is the root.
//
// A dir that does not exist, or is not a directory, is an *Error wrapping
// ErrPathNotFound that names the repository, commit and path.
func (c *Cache) Files(ctx context.Context, repoURL, sha, dir string) (*Snapshot, error) {
	r, err := c.repository(repoURL)
	if err != nil {
		return nil, urlError(OpRead, repoURL, sha, err)
	}
	clean := cleanDir(dir)
	commit, err := c.ensureCommit(ctx, r, sha)
	if err != nil {
		return nil, r.errorf(OpRead, sha, clean, err)
	}
	info, err := r.commitInfo(commit)
	if err != nil {
		return nil, r.errorf(OpRead, sha, clean, err)
	}
	s := &Snapshot{r: r, commit: commit.String(), dir: clean, prefix: splitName(clean), root: info.tree, modTime: info.when}
	if clean != "." {
		r.storeMu.Lock()
		defer r.storeMu.Unlock()
		n, err := s.lookupLocked(".")
		if errors.Is(err, fs.ErrNotExist) {
			err = ErrPathNotFound
		} else if err == nil && !n.isDir() {
			err = fmt.Errorf("%w: not a directory", ErrPathNotFound)
		} else if err != nil {
			err = fmt.Errorf("%w: %w", ErrPathNotFound, err)
		}
		if err != nil {
			return nil, r.errorf(OpRead, sha, clean, err)
		}
	}
	return s, nil
}

// ensureCommit returns the commit sha names, fetching it when the cache
// does not hold it.
func (c *Cache) ensureCommit(ctx context.Context, r *repository, sha string) (plumbing.Hash, error) {
	if len(sha) != 40 || !isHex(sha) {
		return plumbing.ZeroHash, fmt.Errorf("%w: %q is not a full commit SHA; resolve it first", ErrRevisionNotFound, sha)
	}
	if commit, ok, err := r.peel(plumbing.NewHash(sha)); err != nil || ok {
		return commit, err
	}
	commit, _, err := c.resolve(ctx, r, strings.ToLower(sha))
	return commit, err
}

// cleanDir turns a caller's path into an fs.FS name: slash-separated,
// relative, no "..", "." for the root.
func cleanDir(dir string) string {
	p := path.Clean("/" + strings.ReplaceAll(dir, "\\", "/"))
	if p == "/" {
		return "."
	}
	return p[1:]
}

// Snapshot is a read-only view of one directory of one commit. It
// implements fs.FS, fs.ReadDirFS, fs.ReadFileFS, fs.StatFS and
// fs.ReadLinkFS, and is safe for concurrent use.
//
// Symbolic links behave as in os.DirFS, except that they never leave the
// repository. Open, Stat and ReadFile follow them, relative to their place
// in the repository (a chart's values.yaml may link to
// ../shared/values.yaml). ReadDir and Lstat report a link as a link, with
// type fs.ModeSymlink, so fs.WalkDir and every other walk built on ReadDir
// does not descend into a linked directory: a repository with a -> . and
// b -> . walks in linear time instead of exploding. A link that leaves the
// repository, dangles or loops does not exist (ReadDir leaves it out), and
// neither do submodules. Files report mode 0444 (0555 if executable), links
// 0777, all with the commit's committer time.
type Snapshot struct {
	r       *repository
	commit  string
	dir     string
	prefix  []string      // dir's elements
	root    plumbing.Hash // the commit's root tree
	modTime time.Time
}

var (
	_ fs.ReadDirFS  = (*Snapshot)(nil)
	_ fs.ReadFileFS = (*Snapshot)(nil)
	_ fs.StatFS     = (*Snapshot)(nil)
	_ fs.ReadLinkFS = (*Snapshot)(nil)
)

// Commit returns the commit SHA the snapshot shows.
func (s *Snapshot) Commit() string { return s.commit }

// Dir returns the directory of the commit the snapshot is rooted at.
func (s *Snapshot) Dir() string { return s.dir }

// node is a resolved tree entry.
type node struct {
	hash plumbing.Hash
	mode filemode.FileMode
}

func (n node) isDir() bool { return n.mode == filemode.Dir }

func (n node) isLink() bool { return n.mode == filemode.Symlink }

// maxSymlinkHops bounds symlink resolution, as the kernel's ELOOP does.
const maxSymlinkHops = 40

// Why a name that names a link does not resolve.
var (
	errSymlinkEscapes = errors.New("symbolic link leaves the repository")
	errSymlinkLoop    = errors.New("too many levels of symbolic links")
)

// lookupLocked resolves an fs.FS name to a tree entry, following symlinks.
// The caller holds r.storeMu.
func (s *Snapshot) lookupLocked(name string) (node, error) {
	parts := append(append([]string{}, s.prefix...), splitName(name)...)
	hops := 0
restart:
	cur := node{hash: s.root, mode: filemode.Dir}
	for i := 0; i < len(parts); i++ {
		if cur.mode != filemode.Dir {
			return node{}, fs.ErrNotExist
		}
		tree, err := s.treeLocked(cur.hash)
		if err != nil {
			return node{}, err
		}
		e, ok := tree.find(parts[i])
		if !ok {
			return node{}, fs.ErrNotExist
		}
		switch e.Mode {
		case filemode.Submodule:
			return node{}, fs.ErrNotExist
		case filemode.Symlink:
			if hops++; hops > maxSymlinkHops {
				return node{}, errSymlinkLoop
			}
			target, err := s.readBlobLocked(e.Hash)
			if err != nil {
				return node{}, err
			}
			t := string(target)
			if path.IsAbs(t) {
				return node{}, errSymlinkEscapes
			}
			joined := path.Join(append(append([]string{}, parts[:i]...), t)...)
			if joined == ".." || strings.HasPrefix(joined, "../") {
				return node{}, errSymlinkEscapes
			}
			parts = append(splitName(joined), parts[i+1:]...)
			goto restart
		}
		cur = node{hash: e.Hash, mode: e.Mode}
	}
	return cur, nil
}

// lstatLocked resolves name as lookupLocked does, except that a link in
// its last element is returned as the link (with its target) rather than
// followed. A link that does not resolve inside the repository does not
// exist. The caller holds r.storeMu.
func (s *Snapshot) lstatLocked(name string) (node, string, error) {
	if name == "." {
		n, err := s.lookupLocked(name)
		return n, "", err
	}
	parent, err := s.lookupLocked(path.Dir(name))
	if err != nil {
		return node{}, "", err
	}
	if !parent.isDir() {
		return node{}, "", fs.ErrNotExist
	}
	tree, err := s.treeLocked(parent.hash)
	if err != nil {
		return node{}, "", err
	}
	e, ok := tree.find(path.Base(name))
	if !ok || e.Mode == filemode.Submodule {
		return node{}, "", fs.ErrNotExist
	}
	n := node{hash: e.Hash, mode: e.Mode}
	if !n.isLink() {
		return n, "", nil
	}
	if _, err := s.lookupLocked(name); err != nil {
		return node{}, "", fs.ErrNotExist
	}
	target, err := s.readBlobLocked(e.Hash)
	if err != nil {
		return node{}, "", err
	}
	return n, string(target), nil
}

// splitName splits an fs.FS name into its elements; "." has none.
func splitName(name string) []string {
	if name == "." || name == "" {
		return nil
	}
	return strings.Split(name, "/")
}

// readBlobLocked reads a whole blob. The caller holds r.storeMu.
func (s *Snapshot) readBlobLocked(h plumbing.Hash) ([]byte, error) {
	blob, err := object.GetBlob(s.r.store, h)
	if err != nil {
		return nil, err
	}
	rd, err := blob.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// infoLocked describes n, named base; a link is described as a link. The
// caller holds r.storeMu.
func (s *Snapshot) infoLocked(base string, n node) (*fileInfo, error) {
	fi := &fileInfo{name: base, modTime: s.modTime}
	switch n.mode {
	case filemode.Dir:
		fi.mode = fs.ModeDir | 0o555
	case filemode.Symlink:
		fi.mode = fs.ModeSymlink | 0o777
	case filemode.Executable:
		fi.mode = 0o555
	default:
		fi.mode = 0o444
	}
	if !n.isDir() {
		obj, err := s.r.store.EncodedObject(plumbing.BlobObject, n.hash)
		if err != nil {
			return nil, err
		}
		fi.size = obj.Size()
	}
	return fi, nil
}

// Open opens the named file or directory.
func (s *Snapshot) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	s.r.storeMu.Lock()
	defer s.r.storeMu.Unlock()
	n, err := s.lookupLocked(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	fi, err := s.infoLocked(path.Base(name), n)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if n.isDir() {
		entries, err := s.readDirLocked(name, n)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &openDir{info: fi, entries: entries}, nil
	}
	data, err := s.readBlobLocked(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &openFile{info: fi, Reader: bytes.NewReader(data)}, nil
}

// ReadFile reads the named file.
func (s *Snapshot) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: fs.ErrInvalid}
	}
	s.r.storeMu.Lock()
	defer s.r.storeMu.Unlock()
	n, err := s.lookupLocked(name)
	if err == nil && n.isDir() {
		err = errors.New("is a directory")
	}
	if err != nil {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: err}
	}
	data, err := s.readBlobLocked(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: err}
	}
	return data, nil
}

// Stat describes the named file or directory.
func (s *Snapshot) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	s.r.storeMu.Lock()
	defer s.r.storeMu.Unlock()
	n, err := s.lookupLocked(name)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	fi, err := s.infoLocked(path.Base(name), n)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return fi, nil
}

// ReadDir lists the named directory, sorted by name.
func (s *Snapshot) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	s.r.storeMu.Lock()
	defer s.r.storeMu.Unlock()
	n, err := s.lookupLocked(name)
	if err == nil && !n.isDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	entries, err := s.readDirLocked(name, n)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return entries, nil
}

// readDirLocked lists directory n, named name, leaving out what does not
// exist in the snapshot. Links are listed as links, and only when they
// resolve inside the repository. The caller holds r.storeMu.
func (s *Snapshot) readDirLocked(name string, n node) ([]fs.DirEntry, error) {
	tree, err := s.treeLocked(n.hash)
	if err != nil {
		return nil, err
	}
	entries := make([]fs.DirEntry, 0, len(tree.entries))
	for _, e := range tree.entries {
		switch e.Mode {
		case filemode.Submodule:
			continue
		case filemode.Symlink:
			if _, err := s.lookupLocked(path.Join(name, e.Name)); err != nil {
				continue
			}
		}
		fi, err := s.infoLocked(e.Name, node{hash: e.Hash, mode: e.Mode})
		if err != nil {
			return nil, err
		}
		entries = append(entries, fs.FileInfoToDirEntry(fi))
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

// ReadLink returns the target of the named symbolic link, as the
// repository records it (relative to the link's directory).
func (s *Snapshot) ReadLink(name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	s.r.storeMu.Lock()
	defer s.r.storeMu.Unlock()
	n, target, err := s.lstatLocked(name)
	if err == nil && !n.isLink() {
		err = fs.ErrInvalid
	}
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return target, nil
}

// Lstat describes the named file or directory without following a link
// in its last element.
func (s *Snapshot) Lstat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrInvalid}
	}
	s.r.storeMu.Lock()
	defer s.r.storeMu.Unlock()
	n, _, err := s.lstatLocked(name)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	fi, err := s.infoLocked(path.Base(name), n)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	return fi, nil
}

// ObjectHash returns the git object hash, in hex, of the named file or
// directory: with follow, of what name resolves to through symbolic links,
// as Stat sees it; without, of the entry itself (a link's hash is that of
// its target's text), as Lstat sees it. A directory's hash is its tree's,
// which covers everything below it, so two snapshots whose hashes of a name
// are equal read the same there. A name that does not exist, a link that
// dangles or leaves the repository and a submodule have the hash "" and no
// error; a link loop followed is an error, as for Stat.
func (s *Snapshot) ObjectHash(name string, follow bool) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: "objecthash", Path: name, Err: fs.ErrInvalid}
	}
	s.r.storeMu.Lock()
	defer s.r.storeMu.Unlock()
	var n node
	var err error
	if follow {
		n, err = s.lookupLocked(name)
	} else {
		n, _, err = s.lstatLocked(name)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errSymlinkEscapes):
		return "", nil
	case err != nil:
		return "", &fs.PathError{Op: "objecthash", Path: name, Err: err}
	}
	return n.hash.String(), nil
}

// WriteDir writes the snapshot's files below dir, creating it, for
// consumers that need real files (a Helm chart loader, a kustomize
// filesystem). A link to a file is written as the file it points to; a
// link to a directory is not followed (the directory is written where it
// is, if it is in the snapshot), so no tree is written twice.
func (s *Snapshot) WriteDir(dir string) error {
	err := fs.WalkDir(s, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		info, err := s.Stat(name) // follows a link
		if err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		data, err := s.ReadFile(name)
		if err != nil {
			return err
		}
		perm := os.FileMode(0o644)
		if info.Mode().Perm()&0o111 != 0 {
			perm = 0o755
		}
		return os.WriteFile(dst, data, perm)
	})
	if err != nil {
		return s.r.errorf(OpRead, s.commit, s.dir, fmt.Errorf("write to %s: %w", dir, err))
	}
	return nil
}

// fileInfo describes a snapshot entry.
type fileInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.size }
func (fi *fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi *fileInfo) ModTime() time.Time { return fi.modTime }
func (fi *fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi *fileInfo) Sys() any           { return nil }

// openFile is an open snapshot file, held in memory.
type openFile struct {
	info *fileInfo
	*bytes.Reader
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *openFile) Close() error               { return nil }

// openDir is an open snapshot directory.
type openDir struct {
	info    *fileInfo
	entries []fs.DirEntry
	offset  int
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *openDir) Close() error               { return nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}

// ReadDir implements fs.ReadDirFile.
func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.offset:]
	if n <= 0 {
		d.offset = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.offset += n
	return rest[:n], nil
}

package render

import (
	"errors"
	"io/fs"
	"path"
	"strings"
	"sync"
)

// maxLinkHops bounds the symbolic links followed to resolve one name, as
// the kernel's ELOOP does.
const maxLinkHops = 40

// Why a name is refused although the underlying fs.FS might open it.
var (
	errLinkLeaves = errors.New("symbolic link leaves the repository")
	errLinkLoop   = errors.New("too many levels of symbolic links")
)

// readFS is the file system every renderer reads through, so that each of
// them is held to the same walls. It keeps reads inside the tree: a name
// whose symbolic links lead out of it is refused even when the underlying
// fs.FS (os.DirFS, say) would follow them. It refuses a file over
// MaxFileBytes by its size, before reading it, and counts every byte read
// (and every name listed) against MaxReadBytes. Once a budget is broken
// every call fails.
type readFS struct {
	fsys  fs.FS
	b     *budget
	links bool // fsys reports symbolic links (implements fs.ReadLinkFS)

	mu   sync.Mutex
	dirs map[string]string // the real path of each directory resolved so far
}

var (
	_ fs.ReadDirFS  = (*readFS)(nil)
	_ fs.ReadFileFS = (*readFS)(nil)
	_ fs.StatFS     = (*readFS)(nil)
	_ fs.ReadLinkFS = (*readFS)(nil)
)

// newReadFS wraps fsys for one render with budget b.
func newReadFS(fsys fs.FS, b *budget) *readFS {
	_, links := fsys.(fs.ReadLinkFS)
	return &readFS{fsys: fsys, b: b, links: links, dirs: map[string]string{}}
}

// Open opens the named file or directory.
func (f *readFS) Open(name string) (fs.File, error) {
	if err := f.check("open", name, true); err != nil {
		return nil, err
	}
	file, err := f.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, err
	}
	if info.IsDir() {
		return &countedDir{File: file, name: name, f: f}, nil
	}
	if err := f.b.checkFile(name, info.Size()); err != nil {
		file.Close()
		return nil, f.pathError("open", name, err)
	}
	return &countedFile{File: file, name: name, f: f}, nil
}

// ReadFile reads the named file, refusing it by its size first.
func (f *readFS) ReadFile(name string) ([]byte, error) {
	if err := f.check("readfile", name, true); err != nil {
		return nil, err
	}
	info, err := fs.Stat(f.fsys, name)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		if err := f.b.checkFile(name, info.Size()); err != nil {
			return nil, f.pathError("readfile", name, err)
		}
	}
	data, err := fs.ReadFile(f.fsys, name)
	if err != nil {
		return nil, err
	}
	if err := f.b.checkFile(name, int64(len(data))); err != nil {
		return nil, f.pathError("readfile", name, err)
	}
	if err := f.b.addRead(name, int64(len(data))); err != nil {
		return nil, f.pathError("readfile", name, err)
	}
	return data, nil
}

// Stat describes the named file or directory, following links.
func (f *readFS) Stat(name string) (fs.FileInfo, error) {
	if err := f.check("stat", name, true); err != nil {
		return nil, err
	}
	return fs.Stat(f.fsys, name)
}

// ReadDir lists the named directory.
func (f *readFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := f.check("readdir", name, true); err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(f.fsys, name)
	if err != nil {
		return nil, err
	}
	if err := f.countNames(name, entries); err != nil {
		return nil, err
	}
	return entries, nil
}

// ReadLink returns the target of the named symbolic link.
func (f *readFS) ReadLink(name string) (string, error) {
	if err := f.check("readlink", name, false); err != nil {
		return "", err
	}
	return fs.ReadLink(f.fsys, name)
}

// Lstat describes the named file or directory without following a link in
// its last element.
func (f *readFS) Lstat(name string) (fs.FileInfo, error) {
	if err := f.check("lstat", name, false); err != nil {
		return nil, err
	}
	return fs.Lstat(f.fsys, name)
}

// check refuses a call once a budget is broken, and a name whose links
// leave the tree: all of them, or (follow false) those of its directory.
func (f *readFS) check(op, name string, follow bool) error {
	if err := f.b.exceeded(); err != nil {
		return f.pathError(op, name, err)
	}
	if !f.links || !fs.ValidPath(name) {
		return nil // the underlying fs.FS refuses invalid names itself
	}
	var err error
	if follow {
		_, err = f.realPath(name)
	} else {
		_, err = f.realDir(path.Dir(name), 0)
	}
	if errors.Is(err, errLinkLeaves) || errors.Is(err, errLinkLoop) {
		return &fs.PathError{Op: op, Path: name, Err: err}
	}
	return nil // other failures are the underlying call's to report
}

// realPath returns name with every symbolic link in it resolved. It fails
// when a link leaves the tree or links nest deeper than maxLinkHops.
func (f *readFS) realPath(name string) (string, error) {
	if !f.links {
		return name, nil
	}
	return f.resolve(name, 0)
}

// resolve is realPath, hops links into the resolution.
func (f *readFS) resolve(name string, hops int) (string, error) {
	if name == "." {
		return name, nil
	}
	dir, err := f.realDir(path.Dir(name), hops)
	if err != nil {
		return "", err
	}
	p := path.Join(dir, path.Base(name))
	info, err := fs.Lstat(f.fsys, p)
	if err != nil {
		return "", err
	}
	if info.Mode()&fs.ModeSymlink == 0 {
		return p, nil
	}
	if hops >= maxLinkHops {
		return "", errLinkLoop
	}
	target, err := fs.ReadLink(f.fsys, p)
	if err != nil {
		return "", err
	}
	next := path.Join(dir, target)
	if path.IsAbs(target) || next == ".." || strings.HasPrefix(next, "../") {
		return "", errLinkLeaves
	}
	return f.resolve(next, hops+1)
}

// realDir is resolve for a directory, remembering the answer.
func (f *readFS) realDir(dir string, hops int) (string, error) {
	f.mu.Lock()
	resolved, ok := f.dirs[dir]
	f.mu.Unlock()
	if ok {
		return resolved, nil
	}
	resolved, err := f.resolve(dir, hops)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	f.dirs[dir] = resolved
	f.mu.Unlock()
	return resolved, nil
}

// countNames counts a directory listing against MaxReadBytes.
func (f *readFS) countNames(name string, entries []fs.DirEntry) error {
	var n int64
	for _, e := range entries {
		n += int64(len(e.Name()))
	}
	if err := f.b.addRead(name, n); err != nil {
		return f.pathError("readdir", name, err)
	}
	return nil
}

// pathError reports a broken budget as the fs.FS error of the call that
// broke it; Render reports the budget itself.
func (f *readFS) pathError(op, name string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		err = e.Err
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// countedFile counts what is read from an open file.
type countedFile struct {
	fs.File
	name string
	f    *readFS
	n    int64
}

// Read reads from the file, failing once a budget is broken.
func (c *countedFile) Read(p []byte) (int, error) {
	n, err := c.File.Read(p)
	if n > 0 {
		c.n += int64(n)
		if berr := c.f.b.checkFile(c.name, c.n); berr != nil {
			return n, c.f.pathError("read", c.name, berr)
		}
		if berr := c.f.b.addRead(c.name, int64(n)); berr != nil {
			return n, c.f.pathError("read", c.name, berr)
		}
	}
	return n, err
}

// countedDir counts the names listed from an open directory.
type countedDir struct {
	fs.File
	name string
	f    *readFS
}

// ReadDir lists the directory, as fs.ReadDirFile does.
func (d *countedDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rd, ok := d.File.(fs.ReadDirFile)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: d.name, Err: errors.New("not implemented")}
	}
	entries, err := rd.ReadDir(n)
	if cerr := d.f.countNames(d.name, entries); cerr != nil {
		return nil, cerr
	}
	return entries, err
}

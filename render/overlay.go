package render

import (
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"
)

// Mount returns a file tree that is base with other trees mounted at
// top-level names: mounts["$values"] answers every name under "$values/",
// and the root lists the mount names beside base's entries (a mount hides
// an entry of base with its name). A mount name is one path element. A nil
// base is an empty directory.
//
// It is how one render reads more than one source: a Helm source's
// "$ref/values.yaml" value file from another repository, and the charts a
// kustomization's helmCharts name, fetched from a chart repository. The
// result implements fs.ReadDirFS, fs.StatFS and fs.ReadLinkFS (ReadLink and
// Lstat answer fs.ErrInvalid for a mount that does not implement it), so
// render's walls hold across it as they hold for one tree.
func Mount(base fs.FS, mounts map[string]fs.FS) fs.FS {
	if base == nil {
		base = emptyDir{}
	}
	if len(mounts) == 0 {
		return base
	}
	return &mountFS{base: base, mounts: mounts}
}

type mountFS struct {
	base   fs.FS
	mounts map[string]fs.FS
}

var (
	_ fs.ReadDirFS  = (*mountFS)(nil)
	_ fs.StatFS     = (*mountFS)(nil)
	_ fs.ReadLinkFS = (*mountFS)(nil)
)

// route returns the tree that holds name and name within it.
func (m *mountFS) route(op, name string) (fs.FS, string, error) {
	if !fs.ValidPath(name) {
		return nil, "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	first, rest, _ := strings.Cut(name, "/")
	if sub, ok := m.mounts[first]; ok {
		if rest == "" {
			rest = "."
		}
		return sub, rest, nil
	}
	return m.base, name, nil
}

// Open opens the named file or directory; the root lists the mounts too.
func (m *mountFS) Open(name string) (fs.File, error) {
	if name == "." {
		f, err := m.base.Open(".")
		if err != nil {
			return nil, err
		}
		return &mountRoot{File: f, m: m}, nil
	}
	fsys, rel, err := m.route("open", name)
	if err != nil {
		return nil, err
	}
	f, err := fsys.Open(rel)
	if err != nil || rel != "." {
		return f, err
	}
	return &mountPoint{File: f, name: name}, nil
}

// mountPoint is an opened mount point: the mounted tree's root, named as
// the mount.
type mountPoint struct {
	fs.File
	name string
}

// Stat describes the mount point.
func (p *mountPoint) Stat() (fs.FileInfo, error) { return mountInfo{name: p.name}, nil }

// ReadDir lists the mounted tree's root.
func (p *mountPoint) ReadDir(n int) ([]fs.DirEntry, error) {
	if d, ok := p.File.(fs.ReadDirFile); ok {
		return d.ReadDir(n)
	}
	return nil, &fs.PathError{Op: "readdir", Path: p.name, Err: fs.ErrInvalid}
}

// Stat describes the named file or directory.
func (m *mountFS) Stat(name string) (fs.FileInfo, error) {
	fsys, rel, err := m.route("stat", name)
	if err != nil {
		return nil, err
	}
	if rel == "." && name != "." {
		return mountInfo{name: name}, nil
	}
	return fs.Stat(fsys, rel)
}

// ReadDir lists the named directory; the root lists the mounts too.
func (m *mountFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name == "." {
		entries, err := fs.ReadDir(m.base, ".")
		if err != nil {
			return nil, err
		}
		return m.rootEntries(entries), nil
	}
	fsys, rel, err := m.route("readdir", name)
	if err != nil {
		return nil, err
	}
	return fs.ReadDir(fsys, rel)
}

// ReadLink returns the target of the named symbolic link.
func (m *mountFS) ReadLink(name string) (string, error) {
	fsys, rel, err := m.route("readlink", name)
	if err != nil {
		return "", err
	}
	if l, ok := fsys.(fs.ReadLinkFS); ok && rel != "." {
		return l.ReadLink(rel)
	}
	return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
}

// Lstat describes the named file without following a link in its last
// element.
func (m *mountFS) Lstat(name string) (fs.FileInfo, error) {
	fsys, rel, err := m.route("lstat", name)
	if err != nil {
		return nil, err
	}
	if l, ok := fsys.(fs.ReadLinkFS); ok && rel != "." {
		return l.Lstat(rel)
	}
	return m.Stat(name)
}

// rootEntries is base's root listing with the mounts in it, sorted.
func (m *mountFS) rootEntries(entries []fs.DirEntry) []fs.DirEntry {
	out := slices.DeleteFunc(slices.Clone(entries), func(e fs.DirEntry) bool { return m.mounts[e.Name()] != nil })
	for name := range m.mounts {
		out = append(out, fs.FileInfoToDirEntry(mountInfo{name: name}))
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// mountRoot is the opened root, whose listing includes the mounts.
type mountRoot struct {
	fs.File
	m    *mountFS
	list []fs.DirEntry
	read bool
}

// ReadDir lists the root as fs.ReadDirFile does.
func (r *mountRoot) ReadDir(n int) ([]fs.DirEntry, error) {
	if !r.read {
		r.read = true
		entries, err := fs.ReadDir(r.m.base, ".")
		if err != nil {
			return nil, err
		}
		r.list = r.m.rootEntries(entries)
	}
	if n <= 0 {
		out := r.list
		r.list = nil
		return out, nil
	}
	if len(r.list) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(r.list))
	out := r.list[:k]
	r.list = r.list[k:]
	return out, nil
}

// mountInfo describes a mount point: a directory named by the mount.
type mountInfo struct{ name string }

func (i mountInfo) Name() string       { return i.name }
func (i mountInfo) IsDir() bool        { return true }
func (i mountInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o555 }
func (i mountInfo) Size() int64        { return 0 }
func (i mountInfo) Sys() any           { return nil }
func (i mountInfo) ModTime() time.Time { return time.Time{} }

// emptyDir is a tree with nothing in it but its root.
type emptyDir struct{}

func (emptyDir) Open(name string) (fs.File, error) {
	if name != "." {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return emptyRoot{}, nil
}

// emptyRoot is emptyDir's opened root.
type emptyRoot struct{}

func (emptyRoot) Stat() (fs.FileInfo, error) { return mountInfo{name: "."}, nil }
func (emptyRoot) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: ".", Err: fs.ErrInvalid}
}
func (emptyRoot) Close() error { return nil }
func (emptyRoot) ReadDir(n int) ([]fs.DirEntry, error) {
	if n > 0 {
		return nil, io.EOF
	}
	return nil, nil
}

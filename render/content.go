package render

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
)

// ObjectHashFS is a file tree that can name the content of each of its
// names, as source.Snapshot does with git object hashes. Cache.RenderContent
// uses it to reuse a render of one commit for another commit whose files
// the render read are the same.
type ObjectHashFS interface {
	fs.FS
	// ObjectHash returns a hash of what name holds: with follow, of what it
	// resolves to through symbolic links, as fs.Stat sees it; without, of
	// the entry itself, as fs.Lstat sees it. A directory's hash covers
	// everything below it. Equal hashes mean equal content, in any tree of
	// the same kind; a name that does not exist has the hash "" and no
	// error. An error means the hash is not known.
	ObjectHash(name string, follow bool) (string, error)
}

// errNoObjectHash is the error of ObjectHash for a name whose tree cannot
// say its hash.
var errNoObjectHash = errors.New("no object hash: the tree does not record one")

// Bounds on what the cache keeps of read sets. A render that reads more
// than maxReadSet names is cached by its revision alone; the read sets
// kept, all renders together, hold at most maxContentReads names (a few
// tens of MiB at worst), the least recently used going first.
const (
	maxReadSet      = 4096
	maxContentReads = 256 << 10
)

// How a render used a name; a name can be used in more than one way.
const (
	// useMeta: it was opened or stat'ed (or lstat'ed, or its link read):
	// the render saw its type, mode and size, and could read its content.
	useMeta uint8 = 1 << iota
	// useContent: its content was read, or its listing.
	useContent
	// useExists: it was listed in a directory as a symbolic link, which a
	// listing shows only when the link resolves.
	useExists
)

// access is a name a render used, following links or not.
type access struct {
	name   string
	follow bool
}

// read is one access of a read set, with what it found as identify says.
type read struct {
	access
	use uint8
	id  string
}

// recorder records the accesses of one render to its file tree. It sits
// in this process, between the tree and the render (the sandbox's workers
// read through it too), so a render cannot hide what it read.
type recorder struct {
	mu       sync.Mutex
	uses     map[access]uint8
	overflow bool // more than maxReadSet names: the set is not kept
}

func newRecorder() *recorder { return &recorder{uses: map[access]uint8{}} }

// note records a use of name. An invalid name is not recorded: every tree
// refuses it, whatever it holds.
func (r *recorder) note(name string, follow bool, use uint8) {
	if !fs.ValidPath(name) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	a := access{name, follow}
	if _, ok := r.uses[a]; !ok && len(r.uses) >= maxReadSet {
		r.overflow = true
		return
	}
	r.uses[a] |= use
}

// wrap returns fsys recording every access to r, implementing what fsys
// implements of fs.ReadLinkFS (render only follows links itself where the
// tree reports them).
func (r *recorder) wrap(fsys fs.FS) fs.FS {
	f := &recordFS{fsys: fsys, rec: r}
	if _, ok := fsys.(fs.ReadLinkFS); ok {
		return &recordLinkFS{f}
	}
	return f
}

// readSet returns what the recorded accesses found in fsys, the tree the
// render read, sorted by name; false when it cannot be kept (too many
// names, or a name whose hash is not known).
func (r *recorder) readSet(fsys ObjectHashFS) ([]read, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.overflow {
		return nil, false
	}
	reads := make([]read, 0, len(r.uses))
	for a, use := range r.uses {
		id, err := identify(fsys, a, use)
		if err != nil {
			return nil, false
		}
		reads = append(reads, read{access: a, use: use, id: id})
	}
	slices.SortFunc(reads, func(a, b read) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if a.follow == b.follow {
			return 0
		}
		if a.follow {
			return 1
		}
		return -1
	})
	return reads, true
}

// identify returns what a render that used a in fsys, as use says, may
// have seen there: two trees with the same identity of every access of a
// read set render alike. "-" is a name that does not exist; otherwise
// listed links count only their existence, content its hash, and a stat
// the type and mode it shows, with the hash of the content behind unless it
// is a directory (whose stat says nothing of what it holds).
func identify(fsys ObjectHashFS, a access, use uint8) (string, error) {
	h, err := fsys.ObjectHash(a.name, a.follow)
	if err != nil {
		return "", err
	}
	if h == "" {
		return "-", nil
	}
	id := "+"
	if use&useContent != 0 {
		id += " " + h
	}
	if use&useMeta != 0 {
		stat := fs.Stat
		if !a.follow {
			stat = fs.Lstat
		}
		info, err := stat(fsys, a.name)
		if err != nil {
			return "", err // it has a hash but no stat: not known
		}
		if info.IsDir() {
			id += " d"
		} else {
			id += " " + info.Mode().String() + " " + h
		}
	}
	return id, nil
}

// sameReads reports whether each access of reads finds in fsys what it
// found when reads were recorded.
func sameReads(fsys ObjectHashFS, reads []read) bool {
	for _, r := range reads {
		id, err := identify(fsys, r.access, r.use)
		if err != nil || id != r.id {
			return false
		}
	}
	return true
}

// recordFS is a file tree that records each access to it. Open, Stat,
// ReadFile and ReadDir follow links.
type recordFS struct {
	fsys fs.FS
	rec  *recorder
}

var (
	_ fs.ReadDirFS  = (*recordFS)(nil)
	_ fs.ReadFileFS = (*recordFS)(nil)
	_ fs.StatFS     = (*recordFS)(nil)
	_ fs.ReadLinkFS = (*recordLinkFS)(nil)
	_ ObjectHashFS  = (*mountFS)(nil)
)

// Open opens the named file or directory; the listing of a directory
// opened counts as its content.
func (f *recordFS) Open(name string) (fs.File, error) {
	f.rec.note(name, true, useMeta)
	file, err := f.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	if d, ok := file.(fs.ReadDirFile); ok {
		return &recordDir{ReadDirFile: d, name: name, rec: f.rec}, nil
	}
	return file, nil
}

// Stat describes the named file or directory.
func (f *recordFS) Stat(name string) (fs.FileInfo, error) {
	f.rec.note(name, true, useMeta)
	return fs.Stat(f.fsys, name)
}

// ReadFile reads the named file.
func (f *recordFS) ReadFile(name string) ([]byte, error) {
	f.rec.note(name, true, useContent)
	return fs.ReadFile(f.fsys, name)
}

// ReadDir lists the named directory.
func (f *recordFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f.rec.note(name, true, useContent)
	entries, err := fs.ReadDir(f.fsys, name)
	f.rec.noteLinks(name, entries)
	return entries, err
}

// noteLinks records the links of a listing of dir: a tree lists a link
// only while it resolves, which the directory's own hash does not cover.
// A link that dangles is not listed, so not recorded: should it come to
// resolve while its directory stays the same, the listing changes unseen
// until the directory changes or a hard refresh (Forget) renders again.
func (r *recorder) noteLinks(dir string, entries []fs.DirEntry) {
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink != 0 {
			r.note(path.Join(dir, e.Name()), true, useExists)
		}
	}
}

// recordLinkFS is a recordFS of a tree that reports links. ReadLink and
// Lstat do not follow a link in the last element.
type recordLinkFS struct{ *recordFS }

// ReadLink returns the target of the named symbolic link.
func (f *recordLinkFS) ReadLink(name string) (string, error) {
	f.rec.note(name, false, useMeta)
	return fs.ReadLink(f.fsys, name)
}

// Lstat describes the named file without following a link in its last
// element.
func (f *recordLinkFS) Lstat(name string) (fs.FileInfo, error) {
	f.rec.note(name, false, useMeta)
	return fs.Lstat(f.fsys, name)
}

// recordDir is an open directory of a recordFS.
type recordDir struct {
	fs.ReadDirFile
	name string
	rec  *recorder
}

// ReadDir lists the directory, as fs.ReadDirFile does.
func (d *recordDir) ReadDir(n int) ([]fs.DirEntry, error) {
	d.rec.note(d.name, true, useContent)
	entries, err := d.ReadDirFile.ReadDir(n)
	d.rec.noteLinks(d.name, entries)
	return entries, err
}

// ObjectHash returns the hash of name in the tree that holds it: a mount's,
// when the mount can say it, else none. The root's hash covers base's and
// every mount's, since its listing shows both.
func (m *mountFS) ObjectHash(name string, follow bool) (string, error) {
	if name == "." {
		return m.rootHash()
	}
	fsys, rel, err := m.route("objecthash", name)
	if err != nil {
		return "", err
	}
	return objectHash(fsys, rel, follow)
}

// rootHash is a hash of the root's hash in base and each mount's name and
// root hash.
func (m *mountFS) rootHash() (string, error) {
	h, err := objectHash(m.base, ".", true)
	if err != nil {
		return "", err
	}
	sum := sha256.New()
	sum.Write([]byte("mount\x00" + h + "\x00"))
	names := make([]string, 0, len(m.mounts))
	for name := range m.mounts {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		h, err := objectHash(m.mounts[name], ".", true)
		if err != nil {
			return "", err
		}
		sum.Write([]byte(name + "=" + h + "\x00"))
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// objectHash is fsys's ObjectHash, or an error for a tree without one.
func objectHash(fsys fs.FS, name string, follow bool) (string, error) {
	if h, ok := fsys.(ObjectHashFS); ok {
		return h.ObjectHash(name, follow)
	}
	return "", &fs.PathError{Op: "objecthash", Path: name, Err: errNoObjectHash}
}

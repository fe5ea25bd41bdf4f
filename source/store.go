package source

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"golang.org/x/sync/singleflight"
)

// repository is the state the Cache shares among every caller of one
// normalised URL: the cached ref listing, the on-disk object store, and what
// the poll loop watches.
//
// go-git's filesystem storage is not safe for concurrent use, so readers go
// through store under storeMu, while a fetch writes through a storage of its
// own on the same directory (fetchSem admits one at a time) and then makes
// the readers' storage re-read the pack index. Readers are never blocked by
// a slow network.
type repository struct {
	key      string // normalised URL: identity, log and metric label
	url      string // what go-git dials: the first spelling seen, without password
	dir      string // bare repository on disk
	interval time.Duration
	now      func() time.Time

	// lastUsed is when a caller last asked for the repository; guarded by
	// Cache.mu. Retain releases repositories idle for IdleTimeout.
	lastUsed time.Time

	mu         sync.Mutex // guards the fields up to the blank line
	listing    *refList   // last ref listing, nil when none or dropped
	listingErr error      // the listing failed; kept until expires like a listing
	expires    time.Time
	inFlight   listFlights                     // ref listings under way; see Cache.refs
	generation uint64                          // bumped by Refresh; a stale flight does not store
	objects    map[plumbing.Hash]plumbing.Hash // object known present → commit it peels to
	short      map[string]plumbing.Hash        // short SHA → commit
	commits    map[plumbing.Hash]commitInfo    // commit → what Files reads of it
	missing    map[string]time.Time            // SHA not found → listing expiry it was missed under
	watched    map[string]*watch               // revision → what the poll loop compares
	authKey    [32]byte
	auth       transport.AuthMethod
	authBuilt  bool
	used       map[plumbing.Hash]time.Time // commit → last time a caller resolved or read it
	// compactedAt and compactedSize are when compact last ran (or the
	// repository was opened) and the store's size then.
	compactedAt   time.Time
	compactedSize int64

	lists singleflight.Group // collapses concurrent ref listings

	requests requestLog // how the last requests went; see status.go

	fetchSem chan struct{} // one fetch at a time

	storeMu sync.Mutex // guards store and every object read through it
	store   *filesystem.Storage
}

// commitInfo is what Files reads of a commit object: without it, every
// look at an unchanged Application decoded its commit from a pack again.
type commitInfo struct {
	tree plumbing.Hash
	when time.Time
}

// commitInfo returns the tree and committer time of commit, which must be
// in the store, remembering them while the commit is in use.
func (r *repository) commitInfo(commit plumbing.Hash) (commitInfo, error) {
	r.mu.Lock()
	info, ok := r.commits[commit]
	r.mu.Unlock()
	if ok {
		return info, nil
	}
	r.storeMu.Lock()
	co, err := object.GetCommit(r.store, commit)
	r.storeMu.Unlock()
	if err != nil {
		return commitInfo{}, err
	}
	info = commitInfo{tree: co.TreeHash, when: co.Committer.When}
	r.mu.Lock()
	r.commits[commit] = info
	r.mu.Unlock()
	return info, nil
}

// watch is one symbolic revision (branch, tag, HEAD) the poll loop checks.
type watch struct {
	want     plumbing.Hash // advertised hash the poll loop last reported (or first resolved)
	lastUsed time.Time     // last Resolve of this revision
}

// openStore opens the bare repository in dir, creating it when missing and
// recreating it when it cannot be opened (a cache can always be refilled).
func openStore(dir string) (*filesystem.Storage, error) {
	if _, err := os.Stat(filepath.Join(dir, "config")); err == nil {
		s := newStorage(dir, openPacks)
		if _, err := gogit.Open(s, nil); err == nil {
			return s, nil
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := newStorage(dir, openPacks)
	if _, err := gogit.Init(s, nil); err != nil && !errors.Is(err, gogit.ErrRepositoryAlreadyExists) {
		return nil, err
	}
	return s, nil
}

// objectCacheSize bounds the decoded objects one storage keeps. Trees
// have a cache of their own (trees.go) and renders are cached by content,
// so blobs are seldom read twice; go-git's default is 96 MiB per storage.
const objectCacheSize = 8 * cache.MiByte

// openPacks is how many pack files the readers' storage of a repository
// (openStore) keeps open. go-git opens a pack for every object it reads
// from it otherwise, and reading an unchanged Application's files reads
// several.
const openPacks = 8

// newStorage opens a go-git storage on dir that keeps up to open pack
// files open (0: none, the storages a fetch or a compaction uses once).
func newStorage(dir string, open int) *filesystem.Storage {
	return filesystem.NewStorageWithOptions(wholeIdxFS{osfs.New(dir)}, cache.NewObjectLRU(objectCacheSize),
		filesystem.Options{MaxOpenDescriptors: open})
}

// deletePacksLocked deletes the packs in drop (but keep) and their
// indexes, closing the packs the storage holds open first, so that a
// deleted pack's space is freed; the storage opens what it reads next
// again. r.storeMu must be held.
func (r *repository) deletePacksLocked(drop []plumbing.Hash, keep plumbing.Hash) error {
	_ = r.store.ObjectStorage.Close()
	for _, h := range drop {
		if h == keep {
			continue
		}
		if err := r.store.ObjectStorage.DeleteOldObjectPackAndIndex(h, time.Time{}); err != nil {
			return err
		}
	}
	return nil
}

// wholeIdxFS reads pack index files into memory in one go when they are
// opened for reading. go-git decodes an index with small unbuffered reads,
// a system call every few bytes: 60 ms for the index of 8,000 objects, and
// a fetch opens every index two or three times.
type wholeIdxFS struct{ billy.Filesystem }

// Open opens name for reading.
func (f wholeIdxFS) Open(name string) (billy.File, error) {
	return f.OpenFile(name, os.O_RDONLY, 0)
}

// OpenFile opens name; an index opened for reading comes from memory.
func (f wholeIdxFS) OpenFile(name string, flag int, perm os.FileMode) (billy.File, error) {
	if flag != os.O_RDONLY || !strings.HasSuffix(name, ".idx") {
		return f.Filesystem.OpenFile(name, flag, perm)
	}
	file, err := f.Filesystem.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	info, err := f.Filesystem.Stat(name)
	if err != nil {
		return nil, err
	}
	data := make([]byte, info.Size())
	if _, err := io.ReadFull(file, data); err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(data), name: file.Name(), info: info}, nil
}

// Chmod keeps go-git's read-only packs read-only.
func (f wholeIdxFS) Chmod(name string, mode os.FileMode) error {
	if c, ok := f.Filesystem.(billy.Chmod); ok {
		return c.Chmod(name, mode)
	}
	return nil
}

// memFile is a read-only billy.File held in memory.
type memFile struct {
	*bytes.Reader
	name string
	info os.FileInfo
}

func (m *memFile) Name() string               { return m.name }
func (m *memFile) Stat() (os.FileInfo, error) { return m.info, nil }
func (m *memFile) Write([]byte) (int, error)  { return 0, os.ErrPermission }
func (m *memFile) Truncate(int64) error       { return os.ErrPermission }
func (m *memFile) Lock() error                { return nil }
func (m *memFile) Unlock() error              { return nil }
func (m *memFile) Close() error               { return nil }

// peel returns the commit h is or points to (through annotated tags), and
// whether h is present locally. Results are memoised: objects never change.
// Every commit found is recorded as used now, which compact reads.
func (r *repository) peel(h plumbing.Hash) (plumbing.Hash, bool, error) {
	r.mu.Lock()
	c, ok := r.objects[h]
	if ok {
		r.used[c] = r.now()
	}
	r.mu.Unlock()
	if ok {
		return c, true, nil
	}
	r.storeMu.Lock()
	c, ok, err := peelIn(r.store, h)
	r.storeMu.Unlock()
	if ok && err == nil {
		r.mu.Lock()
		r.objects[h] = c
		r.used[c] = r.now()
		r.mu.Unlock()
	}
	return c, ok, err
}

// peelIn follows annotated tags from h to a commit in s.
func peelIn(s *filesystem.Storage, h plumbing.Hash) (plumbing.Hash, bool, error) {
	start := h
	for range 16 {
		obj, err := s.EncodedObject(plumbing.AnyObject, h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return plumbing.ZeroHash, false, nil
		}
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		switch obj.Type() {
		case plumbing.CommitObject:
			// A shallow fetch brings the commit with its tree; check the
			// tree too so a half-written object store reads as absent.
			commit, err := object.DecodeCommit(s, obj)
			if err != nil {
				return plumbing.ZeroHash, false, err
			}
			if _, err := s.EncodedObject(plumbing.TreeObject, commit.TreeHash); err != nil {
				return plumbing.ZeroHash, false, nil
			}
			return h, true, nil
		case plumbing.TagObject:
			tag, err := object.DecodeTag(s, obj)
			if err != nil {
				return plumbing.ZeroHash, false, err
			}
			h = tag.Target
		default:
			return plumbing.ZeroHash, true, fmt.Errorf("%w: %s is a %s, not a commit", ErrRevisionNotFound, start, obj.Type())
		}
	}
	return plumbing.ZeroHash, true, fmt.Errorf("%w: %s: tag chain too long", ErrRevisionNotFound, start)
}

// findShort returns the one local commit whose SHA starts with prefix (hex,
// 4 to 39 digits). Ambiguity is an error, as in git.
func (r *repository) findShort(prefix string) (plumbing.Hash, bool, error) {
	prefix = strings.ToLower(prefix)
	r.mu.Lock()
	h, ok := r.short[prefix]
	if ok {
		r.used[h] = r.now()
	}
	r.mu.Unlock()
	if ok {
		return h, true, nil
	}
	even, err := hex.DecodeString(prefix[:len(prefix)&^1])
	if err != nil {
		return plumbing.ZeroHash, false, nil
	}
	r.storeMu.Lock()
	hashes, err := r.store.HashesWithPrefix(even)
	var commits []plumbing.Hash
	for _, c := range hashes {
		if !strings.HasPrefix(c.String(), prefix) {
			continue
		}
		if obj, err := r.store.EncodedObject(plumbing.CommitObject, c); err == nil && obj.Type() == plumbing.CommitObject {
			commits = append(commits, c)
		}
	}
	r.storeMu.Unlock()
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	switch len(commits) {
	case 0:
		return plumbing.ZeroHash, false, nil
	case 1:
		r.mu.Lock()
		r.short[prefix] = commits[0]
		r.used[commits[0]] = r.now()
		r.mu.Unlock()
		return commits[0], true, nil
	}
	return plumbing.ZeroHash, false, fmt.Errorf("short SHA %s is ambiguous: %d commits match", prefix, len(commits))
}

// reindex makes the readers' storage see the packs a fetch just wrote.
func (r *repository) reindex() {
	r.storeMu.Lock()
	r.store.Reindex()
	r.storeMu.Unlock()
}

// localLoader opens the repository a file:// URL or local path names, for
// go-git's in-process upload-pack server: a bare repository, a worktree's
// .git directory, or the directory a .git file ("gitdir: …") points to.
// (go-git's own filesystem loader reads a worktree as if it were bare.)
type localLoader struct {
	// allow is Options.AllowFileURLs.
	allow bool
	// protected is the directory no repository may be read from: the
	// cache's own.
	protected string
}

// check refuses dir when local repositories are not allowed or when dir,
// with symbolic links resolved, is inside the cache.
func (l localLoader) check(dir string) error {
	if !l.allow {
		return fmt.Errorf("%w: file:// repository URLs are not allowed on this agent (gyre serve --allow-file-repos allows them)", ErrLocalRefused)
	}
	rel, err := filepath.Rel(resolvePath(l.protected), resolvePath(dir))
	if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%w: %s is inside gyre's own git cache", ErrLocalRefused, dir)
	}
	return nil
}

// resolvePath returns dir absolute and cleaned, with symbolic links
// resolved as far as the path exists.
func resolvePath(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return filepath.Clean(dir)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	// Resolve the longest existing parent, keep the rest as written.
	parent, rest := filepath.Dir(abs), filepath.Base(abs)
	if parent == abs {
		return abs
	}
	return filepath.Join(resolvePath(parent), rest)
}

// Load implements server.Loader.
func (l localLoader) Load(ep *transport.Endpoint) (storer.Storer, error) {
	dir := filepath.FromSlash(ep.Path)
	if err := l.check(dir); err != nil {
		return nil, err
	}
	dotgit := filepath.Join(dir, ".git")
	if fi, err := os.Stat(dotgit); err == nil {
		dir = dotgit
		if !fi.IsDir() {
			data, err := os.ReadFile(dotgit)
			if err != nil {
				return nil, err
			}
			target, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir:")
			if !ok {
				return nil, transport.ErrRepositoryNotFound
			}
			dir = strings.TrimSpace(target)
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(filepath.Dir(dotgit), dir)
			}
		}
	}
	if err := l.check(dir); err != nil { // where a .git file pointed
		return nil, err
	}
	for _, must := range []string{"HEAD", "objects"} {
		if _, err := os.Stat(filepath.Join(dir, must)); err != nil {
			return nil, transport.ErrRepositoryNotFound
		}
	}
	if alt, err := os.ReadFile(filepath.Join(dir, "objects", "info", "alternates")); err == nil {
		for line := range strings.Lines(string(alt)) {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				if !filepath.IsAbs(line) {
					line = filepath.Join(dir, "objects", line)
				}
				if err := l.check(line); err != nil { // borrowed objects
					return nil, err
				}
			}
		}
	}
	return newStorage(dir, 0), nil
}

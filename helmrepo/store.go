package helmrepo

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// store keeps chart archives on disk, one file per digest:
// <dir>/<hex>.tgz. A registry's manifest digest leads to its archive
// through a small file <dir>/<manifest hex>.oci holding the archive's
// digest. Files are written whole (a temporary file, synced, renamed), and
// an archive is checked against its name whenever it is read, so a torn or
// corrupted file is never served.
type store struct{ dir string }

// Suffixes of the files a store writes.
const (
	archiveSuffix = ".tgz"
	linkSuffix    = ".oci"
	tempPrefix    = ".tmp-"
)

// errCorrupt is read's answer for a file whose content is not its digest.
var errCorrupt = errors.New("archive on disk does not match its digest; removed")

// digestOf returns "sha256:<hex>" of data.
func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// file is where the store keeps the thing with this digest.
func (s store) file(digest, suffix string) string {
	return filepath.Join(s.dir, strings.TrimPrefix(digest, "sha256:")+suffix)
}

// read returns the archive with digest, when the store holds it intact. A
// corrupted one is removed and reported as errCorrupt; a missing one as an
// error satisfying os.IsNotExist.
func (s store) read(digest string) ([]byte, error) {
	if normalizeDigest(digest) != digest {
		return nil, fmt.Errorf("digest %q: %w", digest, os.ErrNotExist)
	}
	name := s.file(digest, archiveSuffix)
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if digestOf(data) != digest {
		_ = os.Remove(name)
		return nil, errCorrupt
	}
	return data, nil
}

// write keeps an archive and returns its digest.
func (s store) write(data []byte) (string, error) {
	digest := digestOf(data)
	return digest, s.writeFile(s.file(digest, archiveSuffix), data)
}

// link records that the manifest with digest manifest holds the archive
// with digest archive.
func (s store) link(manifest, archive string) error {
	if normalizeDigest(manifest) != manifest {
		return fmt.Errorf("manifest digest %q is not a sha256 digest", manifest)
	}
	return s.writeFile(s.file(manifest, linkSuffix), []byte(archive))
}

// readLink returns the digest of the archive in the manifest with digest
// manifest, if the store knows it.
func (s store) readLink(manifest string) (string, bool) {
	if normalizeDigest(manifest) != manifest {
		return "", false
	}
	data, err := os.ReadFile(s.file(manifest, linkSuffix))
	if err != nil {
		return "", false
	}
	d := normalizeDigest(string(data))
	return d, d != ""
}

// writeFile writes name whole or not at all.
func (s store) writeFile(name string, data []byte) error {
	f, err := os.CreateTemp(s.dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync() // the rename survives a crash
		_ = d.Close()
	}
	return nil
}

// digestOfFile returns the digest a store file is named by, and whether it
// is one of the store's files at all.
func digestOfFile(name string) (string, bool) {
	for _, suffix := range []string{archiveSuffix, linkSuffix} {
		if hexPart, ok := strings.CutSuffix(name, suffix); ok {
			d := normalizeDigest(hexPart)
			return d, d != ""
		}
	}
	return "", false
}

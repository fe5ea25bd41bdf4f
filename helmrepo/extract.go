package helmrepo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing/fstest"

	"helm.sh/helm/v3/pkg/chart/loader"
)

// limits bound what an archive may expand to.
type limits struct {
	// total bounds the decompressed stream: file contents and tar headers.
	total int64
	// file bounds each file.
	file int64
}

// limits are the Cache's: ten times MaxChartBytes in all, at most Helm's
// own chart limit, and Helm's file limit.
func (c *Cache) limits() limits {
	return limits{
		total: min(10*c.opts.MaxChartBytes, loader.MaxDecompressedChartSize),
		file:  loader.MaxDecompressedFileSize,
	}
}

// drivePath matches a Windows drive letter path, which is absolute there.
var drivePath = regexp.MustCompile(`^[a-zA-Z]:`)

// extract reads a chart archive, a gzipped tar of one directory, into
// memory, with that directory renamed to name. Every entry must be a
// directory or a regular file inside the one top-level directory; links,
// devices, absolute paths and ".." are refused with ErrBadArchive naming
// the entry, and an archive expanding past lim with ErrTooLarge.
func extract(archive []byte, name string, lim limits) (*chartFS, error) {
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return nil, fmt.Errorf("not a gzip file: %w", ErrBadArchive)
	}
	defer zr.Close()
	stream := &boundedReader{r: zr, left: lim.total}
	tr := tar.NewReader(stream)

	files := fstest.MapFS{}
	var top string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return nil, fmt.Errorf("decompresses to more than %d bytes: %w", lim.total, ErrTooLarge)
			}
			return nil, fmt.Errorf("not a tar archive: %s: %w", err, ErrBadArchive)
		}
		switch hdr.Typeflag {
		case tar.TypeXGlobalHeader, tar.TypeXHeader:
			continue // metadata, not an entry
		case tar.TypeReg, tar.TypeDir:
		default:
			return nil, fmt.Errorf("entry %q is a %s, not a file or directory: %w", hdr.Name, typeName(hdr.Typeflag), ErrBadArchive)
		}
		dir, rel, err := entryPath(hdr.Name)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %s: %w", hdr.Name, err, ErrBadArchive)
		}
		switch {
		case top == "":
			top = dir
		case dir != top:
			return nil, fmt.Errorf("entry %q is outside the chart's directory %q: %w", hdr.Name, top, ErrBadArchive)
		}
		if hdr.Typeflag == tar.TypeDir {
			continue
		}
		if rel == "" {
			return nil, fmt.Errorf("entry %q is a file beside the chart's directory: %w", hdr.Name, ErrBadArchive)
		}
		if hdr.Size > lim.file {
			return nil, fmt.Errorf("entry %q is %d bytes, more than the limit of %d: %w", hdr.Name, hdr.Size, lim.file, ErrTooLarge)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return nil, fmt.Errorf("decompresses to more than %d bytes (at entry %q): %w", lim.total, hdr.Name, ErrTooLarge)
			}
			return nil, fmt.Errorf("entry %q: %s: %w", hdr.Name, err, ErrBadArchive)
		}
		p := path.Join(name, rel)
		if _, dup := files[p]; dup {
			return nil, fmt.Errorf("entry %q appears twice: %w", hdr.Name, ErrBadArchive)
		}
		files[p] = &fstest.MapFile{Data: data, Mode: 0o444, ModTime: hdr.ModTime}
	}
	if top == "" {
		return nil, fmt.Errorf("no files: %w", ErrBadArchive)
	}
	if _, ok := files[path.Join(name, "Chart.yaml")]; !ok {
		return nil, fmt.Errorf("no %s/Chart.yaml: %w", top, ErrBadArchive)
	}
	for p := range files {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, isFile := files[d]; isFile {
				return nil, fmt.Errorf("%q is both a file and a directory: %w", strings.TrimPrefix(d, name+"/"), ErrBadArchive)
			}
		}
	}
	return &chartFS{files: files, archive: digestOf(archive)}, nil
}

// entryPath splits a tar entry name into its top-level directory and the
// clean path below it ("" for the directory itself), refusing names that
// are absolute or step outside.
func entryPath(name string) (top, rel string, err error) {
	n := strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(n, "/") || drivePath.MatchString(n) {
		return "", "", errors.New("absolute path")
	}
	n = strings.TrimSuffix(n, "/")
	for _, elem := range strings.Split(n, "/") {
		if elem == ".." {
			return "", "", errors.New("path leads outside the chart")
		}
	}
	n = path.Clean(n)
	if n == "." || !fs.ValidPath(n) {
		return "", "", errors.New("not a valid path")
	}
	top, rel, _ = strings.Cut(n, "/")
	return top, rel, nil
}

// typeName names a tar entry type for an error message.
func typeName(flag byte) string {
	switch flag {
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	case tar.TypeFifo:
		return "named pipe"
	}
	return fmt.Sprintf("tar entry of type %q", flag)
}

// boundedReader reads at most left bytes, then fails with ErrTooLarge.
type boundedReader struct {
	r    io.Reader
	left int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte tells a stream that ends exactly at the limit
		// from a longer one.
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			return 0, ErrTooLarge
		}
		return b.r.Read(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// chartFS is an extracted chart: a read-only fs.FS shared by every caller
// of Files for the chart.
type chartFS struct {
	files   fstest.MapFS
	archive string // the archive's digest
}

var (
	_ fs.ReadFileFS = (*chartFS)(nil)
	_ fs.ReadDirFS  = (*chartFS)(nil)
	_ fs.StatFS     = (*chartFS)(nil)
)

// Open opens name.
func (c *chartFS) Open(name string) (fs.File, error) { return c.files.Open(name) }

// ReadFile returns a copy of the file name.
func (c *chartFS) ReadFile(name string) ([]byte, error) { return c.files.ReadFile(name) }

// ReadDir lists the directory name.
func (c *chartFS) ReadDir(name string) ([]fs.DirEntry, error) { return c.files.ReadDir(name) }

// Stat describes name.
func (c *chartFS) Stat(name string) (fs.FileInfo, error) { return c.files.Stat(name) }

package helmrepo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/helmrepo/helmrepotest"
)

// FuzzExtract feeds extract arbitrary archives: it must never panic, never
// return a path outside the chart's directory, never exceed its limits, and
// fail only with ErrBadArchive or ErrTooLarge.
func FuzzExtract(f *testing.F) {
	f.Add(helmrepotest.Chart(f, "podinfo", "1.0.0", map[string]string{"templates/cm.yaml": "kind: ConfigMap\n"}))
	chartYAML := fuzzEntry{"podinfo/Chart.yaml", tar.TypeReg, "name: podinfo\n"}
	f.Add(fuzzTar(f, chartYAML, fuzzEntry{"podinfo/../../evil", tar.TypeReg, "x"}))
	f.Add(fuzzTar(f, chartYAML, fuzzEntry{"podinfo/link", tar.TypeSymlink, ""}))
	f.Add(fuzzTar(f, fuzzEntry{"/abs/Chart.yaml", tar.TypeReg, "x"}))
	f.Add(fuzzTar(f, fuzzEntry{"a/Chart.yaml", tar.TypeReg, "x"}, fuzzEntry{"a/Chart.yaml/x", tar.TypeReg, "y"}))
	f.Add([]byte("not a gzip"))
	lim := limits{total: 1 << 20, file: 256 << 10}
	f.Fuzz(func(t *testing.T, archive []byte) {
		fsys, err := extract(archive, "chart", lim)
		if err != nil {
			if !errors.Is(err, ErrBadArchive) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %q is neither ErrBadArchive nor ErrTooLarge", err)
			}
			return
		}
		var total int64
		err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != "." && p != "chart" && !strings.HasPrefix(p, "chart/") {
				t.Fatalf("path %q is outside the chart", p)
			}
			if !fs.ValidPath(p) {
				t.Fatalf("path %q is not valid", p)
			}
			if d.Type().IsRegular() {
				b, err := fs.ReadFile(fsys, p)
				if err != nil {
					return err
				}
				if int64(len(b)) > lim.file {
					t.Fatalf("file %q is %d bytes, over the limit", p, len(b))
				}
				total += int64(len(b))
			} else if !d.IsDir() {
				t.Fatalf("path %q is neither a file nor a directory", p)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk: %v", err)
		}
		if total > lim.total {
			t.Fatalf("extracted %d bytes, over the limit of %d", total, lim.total)
		}
		if _, err := fs.Stat(fsys, "chart/Chart.yaml"); err != nil {
			t.Fatalf("extracted chart has no Chart.yaml: %v", err)
		}
	})
}

// fuzzEntry is one member of a seed archive.
type fuzzEntry struct {
	name string
	typ  byte
	body string
}

// fuzzTar writes a gzipped tar of entries; links point at /etc/passwd.
func fuzzTar(tb testing.TB, entries ...fuzzEntry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		name, typ, body := e.name, e.typ, e.body
		hdr := &tar.Header{Name: name, Typeflag: typ, Mode: 0o644}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(body))
		} else {
			hdr.Linkname = "/etc/passwd"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			tb.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(body)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

package helmrepo_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gyre-cd/gyre/helmrepo"
	"github.com/gyre-cd/gyre/helmrepo/helmrepotest"
)

var cmFiles = map[string]string{
	"values.yaml":       "name: demo\n",
	"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n",
}

// archivesIn lists the archives a cache keeps in dir.
func archivesIn(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFilesDownloadsOnce(t *testing.T) {
	srv := helmrepotest.NewServer(t, helmrepotest.Options{})
	srv.Add("podinfo", "6.5.4", cmFiles)
	path := helmrepotest.ArchivePath("podinfo", "6.5.4")
	e := newCache(t, helmrepo.Options{})
	ctx := context.Background()

	ch := resolve(t, e.cache, srv.URL, "podinfo", "6.*")
	fsys, err := e.cache.Files(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, fsys, "podinfo/templates/cm.yaml"); got != cmFiles["templates/cm.yaml"] {
		t.Errorf("templates/cm.yaml = %q", got)
	}
	if got := readFile(t, fsys, "podinfo/Chart.yaml"); !strings.Contains(got, "version: 6.5.4") {
		t.Errorf("Chart.yaml = %q", got)
	}
	if _, err := e.cache.Files(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(path); n != 1 {
		t.Fatalf("archive downloaded %d times, want 1", n)
	}
	if got := archivesIn(t, e.dir); len(got) != 1 || filepath.Base(got[0]) != strings.TrimPrefix(ch.Digest, "sha256:")+".tgz" {
		t.Fatalf("archives on disk: %v, want one named by %s", got, ch.Digest)
	}

	// A new process on the same directory reads the disk: no index, no
	// download.
	indexRequests := srv.Requests("/index.yaml")
	again := newCache(t, helmrepo.Options{Dir: e.dir})
	fsys, err = again.cache.Files(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	readFile(t, fsys, "podinfo/values.yaml")
	if srv.Requests(path) != 1 || srv.Requests("/index.yaml") != indexRequests {
		t.Errorf("after a restart: %d downloads and %d more index fetches, want none",
			srv.Requests(path)-1, srv.Requests("/index.yaml")-indexRequests)
	}
}

func TestFilesConcurrentCallersShareOneDownload(t *testing.T) {
	srv := helmrepotest.NewServer(t, helmrepotest.Options{})
	srv.Add("podinfo", "1.0.0", cmFiles)
	e := newCache(t, helmrepo.Options{})
	ch := resolve(t, e.cache, srv.URL, "podinfo", "1.0.0")

	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() { _, errs[i] = e.cache.Files(context.Background(), ch) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Requests(helmrepotest.ArchivePath("podinfo", "1.0.0")); n != 1 {
		t.Fatalf("20 concurrent Files downloaded %d times, want 1", n)
	}
}

func TestFilesDigestMismatch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(*helmrepotest.Server)
	}{
		{"index names another digest", func(s *helmrepotest.Server) {
			sum := sha256.Sum256([]byte("another archive"))
			s.SetIndexDigest("podinfo", "1.0.0", hex.EncodeToString(sum[:]))
		}},
		{"archive corrupted in transit", func(s *helmrepotest.Server) { s.Corrupt("podinfo", "1.0.0") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := helmrepotest.NewServer(t, helmrepotest.Options{})
			srv.Add("podinfo", "1.0.0", cmFiles)
			tc.spoil(srv)
			e := newCache(t, helmrepo.Options{})
			ch := resolve(t, e.cache, srv.URL, "podinfo", "1.0.0")
			_, err := e.cache.Files(context.Background(), ch)
			wantErr(t, err, helmrepo.ErrDigestMismatch, `chart "podinfo" version "1.0.0": download:`, ch.Digest)
			if got := archivesIn(t, e.dir); len(got) != 0 {
				t.Errorf("a mismatching archive was kept: %v", got)
			}
		})
	}
}

func TestFilesRedownloadsCorruptedDiskCopy(t *testing.T) {
	srv := helmrepotest.NewServer(t, helmrepotest.Options{})
	srv.Add("podinfo", "1.0.0", cmFiles)
	path := helmrepotest.ArchivePath("podinfo", "1.0.0")
	e := newCache(t, helmrepo.Options{})
	ch := resolve(t, e.cache, srv.URL, "podinfo", "1.0.0")
	if _, err := e.cache.Files(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	kept := archivesIn(t, e.dir)
	if len(kept) != 1 {
		t.Fatalf("archives on disk: %v", kept)
	}
	if err := os.WriteFile(kept[0], []byte("bit rot"), 0o644); err != nil {
		t.Fatal(err)
	}

	again := newCache(t, helmrepo.Options{Dir: e.dir})
	fsys, err := again.cache.Files(context.Background(), ch)
	if err != nil {
		t.Fatal(err)
	}
	readFile(t, fsys, "podinfo/templates/cm.yaml")
	if n := srv.Requests(path); n != 2 {
		t.Errorf("archive downloaded %d times, want 2 (once more for the corrupted copy)", n)
	}
	if data, err := os.ReadFile(kept[0]); err != nil || helmrepotestDigest(data) != ch.Digest {
		t.Errorf("the disk copy was not replaced by a good one (err %v)", err)
	}
}

func helmrepotestDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestResolveWithoutIndexDigest(t *testing.T) {
	srv := helmrepotest.NewServer(t, helmrepotest.Options{})
	srv.Add("podinfo", "1.0.0", cmFiles)
	srv.SetIndexDigest("podinfo", "1.0.0", "")
	path := helmrepotest.ArchivePath("podinfo", "1.0.0")
	e := newCache(t, helmrepo.Options{})

	ch := resolve(t, e.cache, srv.URL, "podinfo", "*")
	if want := srv.Digest("podinfo", "1.0.0"); ch.Digest != want {
		t.Fatalf("Digest = %s, want the archive's %s", ch.Digest, want)
	}
	resolve(t, e.cache, srv.URL, "podinfo", "1.0.0")
	if _, err := e.cache.Files(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(path); n != 1 {
		t.Errorf("archive downloaded %d times, want 1 (Resolve's download is kept)", n)
	}
}

func TestFilesRenamesArchiveDirectory(t *testing.T) {
	srv := helmrepotest.NewServer(t, helmrepotest.Options{})
	srv.AddArchive("podinfo", "1.0.0", tarball(t,
		entry{name: "podinfo-1.0.0/Chart.yaml", body: "apiVersion: v2\nname: podinfo\nversion: 1.0.0\n"},
		entry{name: "podinfo-1.0.0/templates/cm.yaml", body: "kind: ConfigMap\n"},
	))
	e := newCache(t, helmrepo.Options{})
	fsys, err := e.cache.Files(context.Background(), resolve(t, e.cache, srv.URL, "podinfo", "*"))
	if err != nil {
		t.Fatal(err)
	}
	readFile(t, fsys, "podinfo/templates/cm.yaml")
}

func TestFilesRefusesHostileArchives(t *testing.T) {
	chartYAML := entry{name: "podinfo/Chart.yaml", body: "apiVersion: v2\nname: podinfo\nversion: 1.0.0\n"}
	zeros := func(n int) string { return string(make([]byte, n)) }
	for _, tc := range []struct {
		name    string
		archive func(t *testing.T) []byte
		want    error
		mention string
	}{
		{"not gzip", func(*testing.T) []byte { return []byte("<html>not found</html>") }, helmrepo.ErrBadArchive, "not a gzip"},
		{"gzip but not tar", func(t *testing.T) []byte { return gz(t, []byte("hello, this is not a tar archive at all")) }, helmrepo.ErrBadArchive, "not a tar"},
		{"parent directory", func(t *testing.T) []byte {
			return tarball(t, chartYAML, entry{name: "podinfo/../evil", body: "x"})
		}, helmrepo.ErrBadArchive, `"podinfo/../evil"`},
		{"leading parent directory", func(t *testing.T) []byte {
			return tarball(t, entry{name: "../evil", body: "x"}, chartYAML)
		}, helmrepo.ErrBadArchive, `"../evil"`},
		{"absolute path", func(t *testing.T) []byte {
			return tarball(t, chartYAML, entry{name: "/etc/cron.d/evil", body: "x"})
		}, helmrepo.ErrBadArchive, `"/etc/cron.d/evil"`},
		{"windows drive", func(t *testing.T) []byte {
			return tarball(t, chartYAML, entry{name: `C:\evil`, body: "x"})
		}, helmrepo.ErrBadArchive, `C:\\evil`},
		{"symbolic link", func(t *testing.T) []byte {
			return tarball(t, chartYAML, entry{name: "podinfo/templates/passwd.yaml", typ: tar.TypeSymlink, link: "/etc/passwd"})
		}, helmrepo.ErrBadArchive, `"podinfo/templates/passwd.yaml" is a symbolic link`},
		{"hard link", func(t *testing.T) []byte {
			return tarball(t, chartYAML, entry{name: "podinfo/values.yaml", typ: tar.TypeLink, link: "podinfo/Chart.yaml"})
		}, helmrepo.ErrBadArchive, `"podinfo/values.yaml" is a hard link`},
		{"device", func(t *testing.T) []byte {
			return tarball(t, chartYAML, entry{name: "podinfo/null", typ: tar.TypeChar})
		}, helmrepo.ErrBadArchive, `"podinfo/null" is a device`},
		{"two top-level directories", func(t *testing.T) []byte {
			return tarball(t, chartYAML, entry{name: "other/values.yaml", body: "x"})
		}, helmrepo.ErrBadArchive, `"other/values.yaml" is outside`},
		{"file beside the chart", func(t *testing.T) []byte {
			return tarball(t, entry{name: "Chart.yaml", body: "x"})
		}, helmrepo.ErrBadArchive, `"Chart.yaml"`},
		{"no Chart.yaml", func(t *testing.T) []byte {
			return tarball(t, entry{name: "podinfo/values.yaml", body: "x"})
		}, helmrepo.ErrBadArchive, "Chart.yaml"},
		{"one huge file", func(t *testing.T) []byte {
			return tarball(t, chartYAML, entry{name: "podinfo/templates/bomb.yaml", body: zeros(6 << 20)})
		}, helmrepo.ErrTooLarge, `"podinfo/templates/bomb.yaml"`},
		{"gzip bomb", func(t *testing.T) []byte {
			es := []entry{chartYAML}
			for i := range 8 {
				es = append(es, entry{name: "podinfo/templates/bomb" + string(rune('a'+i)) + ".yaml", body: zeros(4 << 20)})
			}
			return tarball(t, es...)
		}, helmrepo.ErrTooLarge, "podinfo/templates/bomb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			archive := tc.archive(t)
			if len(archive) > 1<<20 {
				t.Fatalf("test archive is %d bytes compressed, more than the cache's limit", len(archive))
			}
			srv := helmrepotest.NewServer(t, helmrepotest.Options{})
			srv.AddArchive("podinfo", "1.0.0", archive)
			// 1 MiB compressed, so at most 10 MiB decompressed.
			e := newCache(t, helmrepo.Options{MaxChartBytes: 1 << 20})
			ch := resolve(t, e.cache, srv.URL, "podinfo", "*")
			_, err := e.cache.Files(context.Background(), ch)
			wantErr(t, err, tc.want, "extract:", tc.mention)
		})
	}
}

// entry is one member of a tarball.
type entry struct {
	name, body, link string
	typ              byte
}

// tarball writes a gzipped tar of entries, exactly as given.
func tarball(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Linkname: e.link}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return gz(t, buf.Bytes())
}

// gz compresses b.
func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

package render_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/gyre-cd/gyre/render"
)

// readLog is an fs.FS that records which files were read (opened for
// reading or read whole).
type readLog struct {
	fs.FS
	mu   sync.Mutex
	read map[string]bool
}

func (r *readLog) Open(name string) (fs.File, error) {
	f, err := r.FS.Open(name)
	if err == nil {
		if info, err := f.Stat(); err == nil && !info.IsDir() {
			r.mu.Lock()
			r.read[name] = true
			r.mu.Unlock()
		}
	}
	return f, err
}

func (r *readLog) ReadFile(name string) ([]byte, error) {
	r.mu.Lock()
	r.read[name] = true
	r.mu.Unlock()
	return fs.ReadFile(r.FS, name)
}

func (r *readLog) Stat(name string) (fs.FileInfo, error) { return fs.Stat(r.FS, name) }

// configMaps returns a YAML stream of n ConfigMaps.
func configMaps(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\n", i)
	}
	return b.String()
}

// generators returns a kustomization generating n ConfigMaps.
func generators(n int) string {
	var b strings.Builder
	b.WriteString("configMapGenerator:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: cm-%d\n    literals: [a=b]\n", i)
	}
	return b.String()
}

// tgz returns a gzipped tar of files.
func tgz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLimits breaks each budget with each source type and expects an
// *render.Error wrapping ErrBudgetExceeded, naming the budget and the file.
func TestLimits(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: " + strings.Repeat("x", 2000) + "\n"
	tests := []struct {
		name     string
		fsys     fstest.MapFS
		path     string
		limits   render.Limits
		file     string
		contains string
	}{
		{
			name: "file size, directory",
			fsys: fstest.MapFS{"d/big.yaml": file(cm), "d/small.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n")},
			path: "d", limits: render.Limits{MaxFileBytes: 1000},
			file: "d/big.yaml", contains: "more than MaxFileBytes (1000 bytes)",
		},
		{
			name: "file size, kustomize resource",
			fsys: fstest.MapFS{"k/kustomization.yaml": file("resources: [cm.yaml]\n"), "k/cm.yaml": file(cm)},
			path: "k", limits: render.Limits{MaxFileBytes: 1000},
			file: "k/cm.yaml", contains: "more than MaxFileBytes (1000 bytes)",
		},
		{
			name: "file size, helm template",
			fsys: fstest.MapFS{"c/Chart.yaml": file(chartYAML), "c/templates/cm.yaml": file(cm)},
			path: "c", limits: render.Limits{MaxFileBytes: 1000},
			file: "c/templates/cm.yaml", contains: "more than MaxFileBytes (1000 bytes)",
		},
		{
			name: "file size, helm value file",
			fsys: fstest.MapFS{"c/Chart.yaml": file(chartYAML), "values/big.yaml": file("x: " + strings.Repeat("y", 2000) + "\n")},
			path: "c", limits: render.Limits{MaxFileBytes: 1000},
			file: "values/big.yaml", contains: "more than MaxFileBytes (1000 bytes)",
		},
		{
			name: "read bytes, directory",
			fsys: fstest.MapFS{"d/a.yaml": file(cm), "d/b.yaml": file(cm), "d/c.yaml": file(cm)},
			path: "d", limits: render.Limits{MaxReadBytes: 5000},
			file: "d/c.yaml", contains: "past MaxReadBytes (5000 bytes)",
		},
		{
			name: "read bytes, kustomize",
			fsys: fstest.MapFS{
				"k/kustomization.yaml": file("resources: [a.yaml, b.yaml, c.yaml]\n"),
				"k/a.yaml":             file(cm),
				"k/b.yaml":             file(strings.Replace(cm, "name: a", "name: b", 1)),
				"k/c.yaml":             file(strings.Replace(cm, "name: a", "name: c", 1)),
			},
			path: "k", limits: render.Limits{MaxReadBytes: 5000},
			contains: "past MaxReadBytes (5000 bytes)",
		},
		{
			name: "read bytes, helm archived subchart counts decompressed",
			fsys: fstest.MapFS{
				"c/Chart.yaml": file(chartYAML),
				"c/charts/sub-0.1.0.tgz": {Data: tgz(t, map[string]string{
					"sub/Chart.yaml":          "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
					"sub/templates/cm.yaml":   cm,
					"sub/templates/cm2.yaml":  strings.Replace(cm, "name: a", "name: b", 1),
					"sub/templates/cm3.yaml":  strings.Replace(cm, "name: a", "name: c", 1),
					"sub/files/padding.txt":   strings.Repeat("z", 3000),
					"sub/files/padding2.txt":  strings.Repeat("z", 3000),
					"sub/files/padding3.txt":  strings.Repeat("z", 3000),
					"sub/files/padding4.txt":  strings.Repeat("z", 3000),
					"sub/files/padding5.txt":  strings.Repeat("z", 3000),
					"sub/files/padding6.txt":  strings.Repeat("z", 3000),
					"sub/values.yaml":         "a: 1\n",
					"sub/templates/NOTES.txt": "hi\n",
				})},
			},
			path: "c", limits: render.Limits{MaxReadBytes: 10000},
			contains: "c/charts/sub-0.1.0.tgz: sub/", // the member that crossed the line
		},
		{
			name: "objects, directory",
			fsys: fstest.MapFS{"d/many.yaml": file(configMaps(101))},
			path: "d", limits: render.Limits{MaxObjects: 100},
			file: "d/many.yaml", contains: "the render makes more than MaxObjects (100) objects",
		},
		{
			name: "objects, kustomize resources, before the build",
			fsys: fstest.MapFS{"k/kustomization.yaml": file("resources: [many.yaml]\n"), "k/many.yaml": file(configMaps(101))},
			path: "k", limits: render.Limits{MaxObjects: 100},
			file: "k/many.yaml", contains: "the render makes more than MaxObjects (100) objects",
		},
		{
			name: "objects, kustomize generators",
			fsys: fstest.MapFS{"k/kustomization.yaml": file(generators(11))},
			path: "k", limits: render.Limits{MaxObjects: 10},
			file: "k/kustomization.yaml", contains: "the render makes more than MaxObjects (10) objects",
		},
		{
			name: "objects, helm",
			fsys: fstest.MapFS{"c/Chart.yaml": file(chartYAML), "c/templates/many.yaml": file(`{{ range until 101 }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm-{{ . }}
{{ end }}`)},
			path: "c", limits: render.Limits{MaxObjects: 100},
			file: "api/templates/many.yaml", contains: "the render makes more than MaxObjects (100) objects",
		},
		{
			name: "output, helm template text",
			fsys: fstest.MapFS{"c/Chart.yaml": file(chartYAML), "c/templates/big.yaml": file(`# {{ repeat 5000 "x" }}`)},
			path: "c", limits: render.Limits{MaxOutputBytes: 4000},
			file: "api/templates/big.yaml", contains: "the templates render 5002 bytes, more than MaxOutputBytes (4000 bytes)",
		},
		{
			name: "output, directory",
			fsys: fstest.MapFS{"d/a.yaml": file(cm), "d/b.yaml": file(cm)},
			path: "d", limits: render.Limits{MaxOutputBytes: 3000},
			file: "d/b.yaml", contains: "the rendered objects come to more than MaxOutputBytes (3000 bytes)",
		},
		{
			name: "output, kustomize",
			fsys: fstest.MapFS{"k/kustomization.yaml": file("resources: [a.yaml]\nnameSuffix: -x\n"), "k/a.yaml": file(cm + "---\n" + strings.Replace(cm, "name: a", "name: b", 1))},
			path: "k", limits: render.Limits{MaxOutputBytes: 3000},
			file: "k/kustomization.yaml", contains: "the rendered objects come to more than MaxOutputBytes (3000 bytes)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := render.Options{Limits: tc.limits}
			if strings.Contains(tc.name, "value file") {
				opts.Helm.ValueFiles = []string{"../values/big.yaml"}
			}
			res, err := render.Render(tc.fsys, tc.path, opts)
			if err == nil {
				t.Fatalf("rendered %d objects, want a budget error", len(res.Objects))
			}
			var e *render.Error
			if !errors.As(err, &e) || !errors.Is(err, render.ErrBudgetExceeded) {
				t.Fatalf("error %v, want an *render.Error wrapping ErrBudgetExceeded", err)
			}
			if tc.file != "" && e.File != tc.file {
				t.Errorf("Error.File = %q, want %q (%v)", e.File, tc.file, err)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not contain %q", err, tc.contains)
			}
			// The same input renders under the default limits.
			if _, err := render.Render(tc.fsys, tc.path, render.Options{Helm: opts.Helm}); err != nil {
				t.Errorf("under the default limits: %v", err)
			}
		})
	}
}

// TestFileRefusedBeforeRead: a file over MaxFileBytes is refused by its size;
// its content is never read.
func TestFileRefusedBeforeRead(t *testing.T) {
	log := &readLog{FS: fstest.MapFS{
		"d/big.yaml":   file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n# " + strings.Repeat("x", 100) + "\n"),
		"d/small.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n"),
	}, read: map[string]bool{}}
	_, err := render.Render(log, "d", render.Options{Limits: render.Limits{MaxFileBytes: 100}})
	if !errors.Is(err, render.ErrBudgetExceeded) {
		t.Fatalf("Render = %v, want a budget error", err)
	}
	if log.read["d/big.yaml"] {
		t.Error("d/big.yaml was read although its size was over the limit")
	}
}

// TestLimitsInCacheKey: a result rendered under larger limits is not served
// to a render held to smaller ones, and limits that mean the defaults do
// not change the key.
func TestLimitsInCacheKey(t *testing.T) {
	fsys := fstest.MapFS{"d/many.yaml": file(configMaps(20))}
	small := render.Options{Limits: render.Limits{MaxObjects: 10}}
	c := render.NewCache(render.CacheOptions{})
	if _, err := c.Render("rev", fsys, "d", render.Options{}); err != nil {
		t.Fatal(err)
	}
	if res, err := c.Render("rev", fsys, "d", small); !errors.Is(err, render.ErrBudgetExceeded) {
		t.Fatalf("cached render with MaxObjects 10 = %v objects, %v; want a budget error", res, err)
	}
	if (render.Options{}).Hash() != (render.Options{Limits: render.DefaultLimits()}).Hash() {
		t.Error("DefaultLimits spelled out changes the options hash")
	}
	if (render.Options{}).Hash() != (render.Options{Limits: render.Limits{MaxObjects: render.DefaultMaxObjects}}).Hash() {
		t.Error("a default spelled out changes the options hash")
	}
	if (render.Options{}).Hash() == small.Hash() {
		t.Error("smaller limits hash like the defaults")
	}
}

package render

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
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/ignore"
)

// loadChart loads the chart at dir from fsys, honouring its .helmignore.
// Subcharts vendored under charts/ (directories or .tgz archives) load with
// it; a dependency that is not vendored but has a "file://" repository is
// loaded from that path, relative to the chart, within fsys. Any other
// missing dependency is an error: render never fetches charts. stack holds
// the charts being loaded, by their real paths (symbolic links resolved), to
// refuse dependency cycles.
func loadChart(fsys fs.FS, dir string, stack []string, b *budget) (*chart.Chart, error) {
	resolved := dir
	if r, ok := fsys.(linkResolver); ok {
		if p, err := r.realPath(dir); err == nil {
			resolved = p
		}
	}
	if slices.Contains(stack, resolved) {
		return nil, fmt.Errorf("chart dependency cycle: %s -> %s", strings.Join(stack, " -> "), resolved)
	}
	if !fileExists(fsys, path.Join(dir, "Chart.yaml")) {
		return nil, &Error{File: path.Join(dir, "Chart.yaml"), Err: fmt.Errorf("no chart: %w", ErrNotFound)}
	}
	files, err := chartFiles(fsys, dir, b)
	if err != nil {
		return nil, err
	}
	c, err := loader.LoadFiles(files)
	if err != nil {
		return nil, chartLoadError(dir, err)
	}
	for _, dep := range c.Metadata.Dependencies {
		if hasDependency(c, dep.Name) {
			continue
		}
		repo, isLocal := strings.CutPrefix(dep.Repository, "file://")
		if !isLocal {
			return nil, &Error{File: path.Join(dir, "Chart.yaml"), Err: fmt.Errorf(
				"dependency %q (repository %q) is not vendored under charts/: %w: render never fetches charts; run `helm dependency build` and commit charts/",
				dep.Name, dep.Repository, ErrRemoteDisabled)}
		}
		sub := path.Join(dir, repo)
		if path.IsAbs(repo) || !fs.ValidPath(sub) {
			return nil, &Error{File: path.Join(dir, "Chart.yaml"), Err: fmt.Errorf("dependency %q: repository %q is outside the repository", dep.Name, dep.Repository)}
		}
		subChart, err := loadChart(fsys, sub, append(stack, resolved), b)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && errors.Is(err, ErrNotFound) && e.File == path.Join(sub, "Chart.yaml") {
				return nil, &Error{File: path.Join(dir, "Chart.yaml"), Err: fmt.Errorf("dependency %q: no chart at %s: %w", dep.Name, sub, ErrNotFound)}
			}
			return nil, err
		}
		c.AddDependency(subChart)
	}
	return c, nil
}

// hasDependency reports whether a subchart named name is loaded into c.
func hasDependency(c *chart.Chart, name string) bool {
	for _, d := range c.Dependencies() {
		if d.Name() == name {
			return true
		}
	}
	return false
}

// chartFiles reads the files of the chart at dir, as loader.LoadDir would
// from disk: names relative to the chart, .helmignore (and Helm's default
// ignores) applied, byte-order marks dropped. A symbolic link to a file is
// read as the file (a template may link to a shared one, as Helm allows); a
// link to a directory is not followed, unlike Helm's loader, so that a link
// back up the tree cannot make the chart endless. Archived subcharts count
// against the read budget by their decompressed size.
func chartFiles(fsys fs.FS, dir string, b *budget) ([]*loader.BufferedFile, error) {
	rules := ignore.Empty()
	if data, err := fs.ReadFile(fsys, path.Join(dir, ignore.HelmIgnore)); err == nil {
		r, err := ignore.Parse(bytes.NewReader(data))
		if err != nil {
			return nil, &Error{File: path.Join(dir, ignore.HelmIgnore), Err: err}
		}
		rules = r
	}
	rules.AddDefaults()

	var files []*loader.BufferedFile
	err := fs.WalkDir(fsys, dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == dir {
			return nil
		}
		rel := relPath(dir, name)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rules.Ignore(rel, info) {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if info, err = fs.Stat(fsys, name); err != nil {
				return err
			}
			if info.IsDir() {
				return nil // not followed
			}
		}
		if rules.Ignore(rel, info) || !info.Mode().IsRegular() {
			return nil
		}
		if info.Size() > loader.MaxDecompressedFileSize {
			return &Error{File: name, Err: fmt.Errorf("%d bytes, more than Helm allows in a chart file (%d bytes)", info.Size(), loader.MaxDecompressedFileSize)}
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		if isSubchartArchive(rel) {
			if err := chargeArchive(b, name, data); err != nil {
				return err
			}
		}
		files = append(files, &loader.BufferedFile{Name: rel, Data: bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))})
		return nil
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, fmt.Errorf("reading chart %s: %w", dir, err)
	}
	return files, nil
}

// isSubchartArchive reports whether a chart file, named relative to the
// chart, is one Helm's loader decompresses as a subchart: charts/<name>.tgz,
// at any depth of charts/ directories.
func isSubchartArchive(rel string) bool {
	dir, base := path.Split(rel)
	return strings.HasSuffix(base, ".tgz") && path.Base(path.Clean("/"+dir)) == "charts"
}

// chargeArchive counts the decompressed content of a subchart archive, and
// of the archives inside it, against the read budget before Helm's loader
// decompresses it: gzip lets a small file stand for a great deal of memory.
// Each file in it is held to MaxFileBytes.
func chargeArchive(b *budget, name string, data []byte) error {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil // not gzip: Helm's loader reports it
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return nil // the end, or a broken archive Helm's loader reports
		}
		member := name + ": " + hdr.Name
		if hdr.Size > b.limits.MaxFileBytes {
			return b.checkFile(member, hdr.Size)
		}
		content, err := io.ReadAll(io.LimitReader(tr, b.limits.MaxFileBytes+1))
		if err != nil {
			return nil
		}
		if err := b.checkFile(member, int64(len(content))); err != nil {
			return err
		}
		if err := b.addRead(member, int64(len(content))); err != nil {
			return err
		}
		if isSubchartArchive(hdr.Name) {
			if err := chargeArchive(b, member, content); err != nil {
				return err
			}
		}
	}
}

// loadErrorFileRE finds the file a chart loader error is about
// ("cannot load values.yaml: error converting YAML to JSON: yaml: line 3: …").
var loadErrorFileRE = regexp.MustCompile(`cannot load ([^:\s]+):`)

// chartLoadError turns a loader error into an *Error naming the file and
// line when the message tells them.
func chartLoadError(dir string, err error) error {
	msg := err.Error()
	m := loadErrorFileRE.FindStringSubmatchIndex(msg)
	if m == nil {
		return &Error{File: path.Join(dir, "Chart.yaml"), Err: err}
	}
	name := msg[m[2]:m[3]]
	cause := yamlMessageRE.ReplaceAllString(strings.TrimSpace(msg[m[1]:]), "")
	what := "invalid YAML"
	if name == "values.yaml" {
		what = "invalid values"
	}
	return &Error{File: path.Join(dir, name), Line: yamlErrorLine(err), Err: fmt.Errorf("%s: %s", what, cause)}
}

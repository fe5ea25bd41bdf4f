package render

import (
	"bytes"
	"errors"
	"fmt"
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
// the charts being loaded, to refuse dependency cycles.
func loadChart(fsys fs.FS, dir string, stack []string) (*chart.Chart, error) {
	if slices.Contains(stack, dir) {
		return nil, fmt.Errorf("chart dependency cycle: %s -> %s", strings.Join(stack, " -> "), dir)
	}
	if !fileExists(fsys, path.Join(dir, "Chart.yaml")) {
		return nil, &Error{File: path.Join(dir, "Chart.yaml"), Err: fmt.Errorf("no chart: %w", ErrNotFound)}
	}
	files, err := chartFiles(fsys, dir)
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
		subChart, err := loadChart(fsys, sub, append(stack, dir))
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
// ignores) applied, byte-order marks dropped.
func chartFiles(fsys fs.FS, dir string) ([]*loader.BufferedFile, error) {
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
		if rules.Ignore(rel, info) || !info.Mode().IsRegular() {
			return nil
		}
		if info.Size() > loader.MaxDecompressedFileSize {
			return fmt.Errorf("chart file %s is larger than %d bytes", name, loader.MaxDecompressedFileSize)
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		files = append(files, &loader.BufferedFile{Name: rel, Data: bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading chart %s: %w", dir, err)
	}
	return files, nil
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

package appset

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/gyre-cd/gyre/source"
	"sigs.k8s.io/yaml"
)

// Bounds of git generators.
const (
	// maxGitEntries is the most directory entries one git generator
	// walks.
	maxGitEntries = 100_000
	// maxGitFileBytes is the largest file a files generator reads.
	maxGitFileBytes = 1 << 20
)

// gitParams resolves the revision through the shared cache and yields one
// set per matching directory or file.
func (g *generation) gitParams(gg *GitGenerator) ([]map[string]any, error) {
	if g.in.Git == nil {
		return nil, errors.New("git: no repository cache to read it with")
	}
	switch {
	case gg.RepoURL == "":
		return nil, errors.New("git.repoURL is empty")
	case len(gg.Directories) > 0 && len(gg.Files) > 0:
		return nil, errors.New("git: set directories or files, not both")
	case len(gg.Directories) == 0 && len(gg.Files) == 0:
		return nil, errors.New("git: set directories or files")
	}
	key, err := normalizeRepo(gg.RepoURL)
	if err != nil {
		return nil, fmt.Errorf("git.repoURL: %w", err)
	}
	revision := gg.Revision
	if revision == "" {
		revision = "HEAD"
	}
	// The read is recorded before it may fail, so that a push that
	// fixes the repository re-evaluates the set.
	read := RepoRead{Repo: key, URL: gg.RepoURL, Revision: revision}
	sha, err := g.in.Git.Resolve(g.ctx, gg.RepoURL, revision)
	if err != nil {
		g.reads = append(g.reads, read)
		return nil, err
	}
	read.Commit = sha
	g.reads = append(g.reads, read)
	snap, err := g.in.Git.Files(g.ctx, gg.RepoURL, sha, "")
	if err != nil {
		return nil, err
	}
	var params []map[string]any
	if len(gg.Directories) > 0 {
		params, err = gitDirectories(snap, gg.Directories, gg.PathParamPrefix)
	} else {
		params, err = gitFiles(snap, gg.Files, gg.PathParamPrefix)
	}
	if err != nil {
		return nil, fmt.Errorf("git %s at %s (%s): %w", source.Redact(gg.RepoURL), revision, shortSHA(sha), err)
	}
	for _, p := range params {
		if err := g.addValues(p, gg.Values, "git.values"); err != nil {
			return nil, err
		}
	}
	return params, nil
}

// normalizeRepo is a repository's identity, as the source cache and
// webhooks name it.
func normalizeRepo(repoURL string) (string, error) { return source.NormalizeURL(repoURL) }

func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// globs splits items into the patterns that include and those that
// exclude, checking each.
func globs[T GitDirectory | GitFile](items []T) (include, exclude []string, err error) {
	for i, it := range items {
		p, ex := string(GitDirectory(it).Path), GitDirectory(it).Exclude
		p = strings.Trim(p, "/")
		if p == "" {
			return nil, nil, fmt.Errorf("item %d: path is empty", i)
		}
		if err := checkGlob(p); err != nil {
			return nil, nil, fmt.Errorf("item %d: path %q: %w", i, p, err)
		}
		if ex {
			exclude = append(exclude, p)
		} else {
			include = append(include, p)
		}
	}
	if len(include) == 0 {
		return nil, nil, errors.New("every item excludes: add one that includes")
	}
	return include, exclude, nil
}

// checkGlob reports a pattern path.Match cannot read.
func checkGlob(p string) error {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return err
		}
	}
	return nil
}

// matchGlob matches a slash-separated name against pattern, segment by
// segment with path.Match; a "**" segment matches any number of segments,
// none included.
func matchGlob(pattern, name string) bool {
	return matchSegments(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return true
			}
			for i := range len(name) + 1 {
				if matchSegments(pat, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// matchAny reports whether name matches one of patterns.
func matchAny(patterns []string, name string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return matchGlob(p, name) })
}

// depthOf is how many segments the deepest name patterns can match has,
// or -1 when a "**" makes it unbounded.
func depthOf(patterns []string) int {
	depth := 0
	for _, p := range patterns {
		segs := strings.Split(p, "/")
		if slices.Contains(segs, "**") {
			return -1
		}
		depth = max(depth, len(segs))
	}
	return depth
}

// walk calls visit for every entry of fsys below the root, skipping
// hidden entries (".git", ".github") and never descending deeper than
// depth segments (-1: no limit), at most maxGitEntries entries.
func walk(fsys fs.FS, depth int, visit func(name string, d fs.DirEntry) error) error {
	seen := 0
	return fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		if seen++; seen > maxGitEntries {
			return fmt.Errorf("more than %d files and directories to walk; narrow the paths", maxGitEntries)
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if err := visit(name, d); err != nil {
			return err
		}
		if d.IsDir() && depth >= 0 && strings.Count(name, "/")+1 >= depth {
			return fs.SkipDir
		}
		return nil
	})
}

// gitDirectories yields one set per directory that matches an including
// pattern and no excluding one, by path.
func gitDirectories(fsys fs.FS, items []GitDirectory, prefix string) ([]map[string]any, error) {
	include, exclude, err := globs(items)
	if err != nil {
		return nil, fmt.Errorf("directories: %w", err)
	}
	var out []map[string]any
	err = walk(fsys, depthOf(include), func(name string, d fs.DirEntry) error {
		if d.IsDir() && matchAny(include, name) && !matchAny(exclude, name) {
			out = append(out, withPathParams(map[string]any{}, prefix, pathParams(name, "")))
		}
		return nil
	})
	return out, err
}

// gitFiles yields the objects of every JSON or YAML file that matches an
// including pattern and no excluding one: a file holding an object is one
// set, a file holding a list one set per element.
func gitFiles(fsys fs.FS, items []GitFile, prefix string) ([]map[string]any, error) {
	include, exclude, err := globs(items)
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	var out []map[string]any
	err = walk(fsys, depthOf(include), func(name string, d fs.DirEntry) error {
		if d.IsDir() || !matchAny(include, name) || matchAny(exclude, name) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxGitFileBytes {
			return fmt.Errorf("file %s: %d bytes, more than %d", name, info.Size(), maxGitFileBytes)
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sets, err := ParseFile(data)
		if err != nil {
			return fmt.Errorf("file %s: %w", name, err)
		}
		pp := pathParams(path.Dir(name), path.Base(name))
		for _, s := range sets {
			out = append(out, withPathParams(s, prefix, pp))
		}
		if len(out) > MaxApplications {
			return fmt.Errorf("files yield more than %d parameter sets", MaxApplications)
		}
		return nil
	})
	return out, err
}

// ParseFile reads a git files generator's file: JSON or YAML holding an
// object (one parameter set) or a list of objects (one set each). An empty
// file yields none.
func ParseFile(data []byte) ([]map[string]any, error) {
	if len(data) > maxGitFileBytes {
		return nil, fmt.Errorf("%d bytes, more than %d", len(data), maxGitFileBytes)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("not JSON or YAML: %w", err)
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return []map[string]any{x}, nil
	case []any:
		out := make([]map[string]any, 0, len(x))
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("element %d is a %s, not an object", i, kindOf(e))
			}
			out = append(out, m)
		}
		return out, nil
	}
	return nil, fmt.Errorf("holds a %s, not an object or a list of objects", kindOf(v))
}

func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64, int64, int:
		return "number"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// pathParams are Argo CD's path parameters of a directory dir ("." for the
// root) and, for a file, its name: path, basename, basenameNormalized,
// segments, and filename, filenameNormalized.
func pathParams(dir, file string) map[string]any {
	segs := []any{}
	if dir != "." && dir != "" {
		for s := range strings.SplitSeq(dir, "/") {
			segs = append(segs, s)
		}
	}
	base := path.Base(dir)
	p := map[string]any{
		"path":               dir,
		"basename":           base,
		"basenameNormalized": normalize(base),
		"segments":           segs,
	}
	if file != "" {
		p["filename"] = file
		p["filenameNormalized"] = normalize(file)
	}
	return p
}

// withPathParams stores pp at p["path"], or p[prefix]["path"] with a
// prefix, and returns p.
func withPathParams(p map[string]any, prefix string, pp map[string]any) map[string]any {
	if prefix == "" {
		p["path"] = pp
		return p
	}
	outer, _ := p[prefix].(map[string]any)
	if outer == nil {
		outer = map[string]any{}
	}
	outer["path"] = pp
	p[prefix] = outer
	return p
}

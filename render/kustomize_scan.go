package render

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// scpRE matches an SCP-style git address ("git@host:org/repo").
var scpRE = regexp.MustCompile(`^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:`)

// isRemote reports whether a kustomization reference is one kustomize would
// fetch: a URL, a go-getter "git::" address, an SCP-style address, or a
// scheme-less github.com path.
func isRemote(ref string) bool {
	lower := strings.ToLower(ref)
	return strings.Contains(ref, "://") ||
		strings.HasPrefix(lower, "git::") ||
		strings.HasPrefix(lower, "github.com/") || strings.HasPrefix(lower, "github.com:") ||
		scpRE.MatchString(ref)
}

// kustomizeScan is what a walk of a kustomization graph found.
type kustomizeScan struct {
	// roots are the directories of every kustomization (and other directory
	// reference) reached, sorted.
	roots []string
	// setsSchema records that a kustomization has an openapi field, which
	// changes kyaml's process-wide schema.
	setsSchema bool
}

// scanKustomizations walks the kustomization graph from dir. It fails on the
// first remote reference: render fetches nothing, and kustomize would
// otherwise clone or download it during the build.
func scanKustomizations(fsys fs.FS, dir string) (kustomizeScan, error) {
	var scan kustomizeScan
	seen := map[string]bool{}
	var walk func(dir string) error
	walk = func(dir string) error {
		if seen[dir] {
			return nil
		}
		seen[dir] = true
		kname := kustomizationFile(fsys, dir)
		if kname == "" {
			return nil // kustomize reports a directory without a kustomization
		}
		kpath := path.Join(dir, kname)
		data, err := fs.ReadFile(fsys, kpath)
		if err != nil {
			return &Error{File: kpath, Err: err}
		}
		var k types.Kustomization
		if err := yaml.Unmarshal(data, &k); err != nil {
			return &Error{File: kpath, Line: yamlErrorLine(err), Err: fmt.Errorf("invalid kustomization: %s", yamlMessageRE.ReplaceAllString(err.Error(), ""))}
		}
		if len(k.OpenAPI) > 0 {
			scan.setsSchema = true
		}
		check := func(field, ref string) (string, error) {
			if ref == "" || strings.Contains(ref, "\n") { // inline content, not a reference
				return "", nil
			}
			if isRemote(ref) {
				return "", &Error{File: kpath, Err: fmt.Errorf("%s %q: %w: render never fetches; vendor it into the repository", field, ref, ErrRemoteDisabled)}
			}
			p := path.Join(dir, ref)
			if path.IsAbs(ref) || !fs.ValidPath(p) {
				return "", &Error{File: kpath, Err: fmt.Errorf("%s %q is outside the repository", field, ref)}
			}
			return p, nil
		}
		// References that may name another kustomization directory.
		for _, f := range []struct {
			name string
			refs []string
		}{
			{"resources", k.Resources}, {"bases", k.Bases}, {"components", k.Components},
			{"generators", k.Generators}, {"transformers", k.Transformers}, {"validators", k.Validators},
		} {
			for _, ref := range f.refs {
				p, err := check(f.name, ref)
				if err != nil {
					return err
				}
				if p == "" {
					continue
				}
				if info, err := fs.Stat(fsys, p); err == nil && info.IsDir() {
					if err := walk(p); err != nil {
						return err
					}
				}
			}
		}
		// References that can only be files.
		files := map[string][]string{
			"crds":           k.Crds,
			"configurations": k.Configurations,
			"openapi":        {k.OpenAPI["path"]},
		}
		for _, p := range k.PatchesStrategicMerge {
			files["patchesStrategicMerge"] = append(files["patchesStrategicMerge"], string(p))
		}
		for _, p := range k.Patches {
			files["patches"] = append(files["patches"], p.Path)
		}
		for _, p := range k.PatchesJson6902 {
			files["patchesJson6902"] = append(files["patchesJson6902"], p.Path)
		}
		for _, r := range k.Replacements {
			files["replacements"] = append(files["replacements"], r.Path)
		}
		gen := func(field string, s types.KvPairSources) {
			for _, f := range s.FileSources {
				if _, p, ok := strings.Cut(f, "="); ok {
					f = p
				}
				files[field] = append(files[field], f)
			}
			files[field] = append(files[field], s.EnvSources...)
			files[field] = append(files[field], s.EnvSource)
		}
		for _, g := range k.ConfigMapGenerator {
			gen("configMapGenerator", g.KvPairSources)
		}
		for _, g := range k.SecretGenerator {
			gen("secretGenerator", g.KvPairSources)
		}
		fields := make([]string, 0, len(files))
		for f := range files {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			for _, ref := range files[f] {
				if _, err := check(f, ref); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(dir); err != nil {
		return kustomizeScan{}, err
	}
	for d := range seen {
		scan.roots = append(scan.roots, d)
	}
	sort.Strings(scan.roots)
	return scan, nil
}

// copyTrees copies the files below each root (outermost roots only) from
// fsys into the in-memory file system, at "/" + their fsys path. Every
// file a kustomization may load lies below its root (the build runs with
// root-only load restrictions), so the copy holds all the build can read.
func copyTrees(fsys fs.FS, roots []string, mem filesys.FileSystem) error {
	var done []string
	for _, root := range roots {
		covered := false
		for _, d := range done {
			if d == "." || root == d || strings.HasPrefix(root, d+"/") {
				covered = true
				break
			}
		}
		if covered {
			continue
		}
		done = append(done, root)
		err := fs.WalkDir(fsys, root, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == ".git" {
					return fs.SkipDir
				}
				if name == "." {
					return nil
				}
				return mem.MkdirAll("/" + name)
			}
			if !d.Type().IsRegular() {
				return nil
			}
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				return err
			}
			return mem.WriteFile("/"+name, data)
		})
		if err != nil {
			return fmt.Errorf("reading %s: %w", root, err)
		}
	}
	return nil
}

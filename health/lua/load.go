package lua

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// The ConfigMap keys Argo CD reads health scripts from.
const (
	// KeyPrefix starts a key holding one script:
	// resource.customizations.health.<group>_<kind>, or
	// resource.customizations.health.<kind> for the core group.
	KeyPrefix = "resource.customizations.health."
	// CustomizationsKey holds YAML of "<group>/<kind>:" (or "<kind>:")
	// entries, each with its script under health.lua.
	CustomizationsKey = "resource.customizations"
	// ScriptFile is the name of a script in a directory of scripts.
	ScriptFile = "health.lua"
)

// LoadError is a script that could not be loaded: where it is and why.
type LoadError struct {
	// Origin is where the script is: a ConfigMap and key, or a file path.
	Origin string
	Err    error
}

func (e *LoadError) Error() string { return e.Origin + ": " + e.Err.Error() }

func (e *LoadError) Unwrap() error { return e.Err }

// FromConfigMap returns the scripts of a ConfigMap's data in Argo CD's
// keys, in the order of their keys, the entries of the
// resource.customizations YAML first so that a
// resource.customizations.health.* key wins over them. cm names the
// ConfigMap in origins and errors. A script that does not compile, or a key
// that does not parse, is a *LoadError; the others still load.
func FromConfigMap(cm string, data map[string]string) ([]Entry, []error) {
	var entries []Entry
	var errs []error
	if y, ok := data[CustomizationsKey]; ok {
		var nested map[string]struct {
			HealthLua string `json:"health.lua"`
		}
		if err := yaml.Unmarshal([]byte(y), &nested); err != nil {
			errs = append(errs, &LoadError{Origin: cm + " " + CustomizationsKey, Err: err})
		}
		for _, key := range sortedKeys(nested) {
			if nested[key].HealthLua == "" {
				continue
			}
			origin := cm + " " + CustomizationsKey + " " + key
			group, kind, found := strings.Cut(key, "/")
			if !found {
				group, kind = "", key
			}
			e, err := entry(origin, group, kind, nested[key].HealthLua)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			entries = append(entries, e)
		}
	}
	for _, key := range sortedKeys(data) {
		gk, ok := strings.CutPrefix(key, KeyPrefix)
		if !ok {
			continue
		}
		origin := cm + " " + key
		var group, kind string
		switch parts := strings.Split(gk, "_"); len(parts) {
		case 1:
			kind = parts[0]
		case 2:
			group, kind = parts[0], parts[1]
		}
		if kind == "" {
			errs = append(errs, &LoadError{Origin: origin, Err: errors.New("the key is not resource.customizations.health.<group>_<kind> or resource.customizations.health.<kind>")})
			continue
		}
		e, err := entry(origin, group, kind, data[key])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		entries = append(entries, e)
	}
	return entries, errs
}

// FromDir returns the scripts of a directory laid out like Argo CD's
// resource_customizations: <group>/<kind>/health.lua, and <kind>/health.lua
// for the core group, a _ in a directory name standing for the wildcard *.
// Entries are in the order of their paths. A script that does not compile
// or does not sit at one of those depths is a *LoadError; the others still
// load. A directory that cannot be read is one error.
func FromDir(dir string) ([]Entry, []error) {
	scripts, err := findScripts(os.DirFS(dir))
	if err != nil {
		return nil, []error{fmt.Errorf("health scripts %s: %w", dir, err)}
	}
	var entries []Entry
	var errs []error
	for _, sc := range scripts {
		origin := filepath.Join(dir, filepath.FromSlash(sc.path))
		if sc.err != nil {
			errs = append(errs, &LoadError{Origin: origin, Err: sc.err})
			continue
		}
		src, err := os.ReadFile(origin)
		if err != nil {
			errs = append(errs, &LoadError{Origin: origin, Err: err})
			continue
		}
		e, err := entry(origin, sc.group, sc.kind, string(src))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		entries = append(entries, e)
	}
	return entries, errs
}

// scriptPath is a health.lua found in a directory of scripts.
type scriptPath struct {
	// path is the slash-separated path below the directory.
	path string
	// dir is the path of the directory holding it, as Argo CD names the
	// check: <group>/<kind> or <kind>.
	dir string
	// group and kind are the patterns it checks, _ turned to *.
	group, kind string
	// err says why the path is not a script's.
	err error
}

// findScripts lists the health.lua files of fsys in path order.
func findScripts(fsys fs.FS) ([]scriptPath, error) {
	var out []scriptPath
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != ScriptFile {
			return nil
		}
		sp := scriptPath{path: p, dir: path.Dir(p)}
		switch parts := strings.Split(sp.dir, "/"); {
		case sp.dir == ".":
			sp.err = errors.New("a script must be in <group>/<kind>/ or, for the core group, <kind>/")
		case len(parts) == 1:
			sp.kind = wildcards(parts[0])
		case len(parts) == 2:
			sp.group, sp.kind = wildcards(parts[0]), wildcards(parts[1])
		default:
			sp.err = errors.New("a script must be in <group>/<kind>/ or, for the core group, <kind>/")
		}
		out = append(out, sp)
		return nil
	})
	return out, err
}

// wildcards turns the _ of a directory name into the wildcard *.
func wildcards(name string) string { return strings.ReplaceAll(name, "_", "*") }

// entry compiles one script for group and kind.
func entry(origin, group, kind, src string) (Entry, error) {
	for _, p := range []string{group, kind} {
		if _, err := path.Match(p, ""); err != nil {
			return Entry{}, &LoadError{Origin: origin, Err: fmt.Errorf("pattern %q: %w", p, err)}
		}
	}
	sc, err := Compile(origin, src)
	if err != nil {
		return Entry{}, &LoadError{Origin: origin, Err: err}
	}
	return Entry{Group: group, Kind: kind, Script: sc}, nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

package render

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// renderDirectory reads the manifests of a plain directory: .yaml, .yml and
// .json files, in lexical walk order, subdirectories only with Recurse.
// Other files are ignored; a manifest file that does not parse into
// Kubernetes objects is an error naming the file and line. A symbolic link
// to a file is read as the file; a link to a directory is not followed, so
// a link back up the tree cannot make the walk endless.
func renderDirectory(fsys fs.FS, dir string, opts DirectoryOptions, b *budget) ([]Object, error) {
	include, err := compilePatterns(opts.Include)
	if err != nil {
		return nil, fmt.Errorf("directory include: %w", err)
	}
	exclude, err := compilePatterns(opts.Exclude)
	if err != nil {
		return nil, fmt.Errorf("directory exclude: %w", err)
	}
	var objs []Object
	err = fs.WalkDir(fsys, dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		if d.IsDir() {
			if name != dir && !opts.Recurse {
				return fs.SkipDir
			}
			return nil
		}
		ext := strings.ToLower(path.Ext(name))
		if ext != ".yaml" && ext != ".yml" && ext != ".json" {
			return nil
		}
		rel := relPath(dir, name)
		if (len(include) > 0 && !matchAny(include, rel)) || matchAny(exclude, rel) {
			return nil
		}
		if isFile, err := linkedFile(fsys, name, d); err != nil || !isFile {
			return err
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		var got []Object
		if ext == ".json" {
			got, err = decodeJSON(name, data, b)
		} else {
			got, err = decodeYAML(name, data, b)
		}
		if err != nil {
			return err
		}
		objs = append(objs, got...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return objs, nil
}

// relPath returns name relative to dir; both are clean fs.FS paths and name
// lies below dir.
func relPath(dir, name string) string {
	if dir == "." {
		return name
	}
	return strings.TrimPrefix(name, dir+"/")
}

// linkedFile reports whether a walked entry that is not a directory is a
// file to read: a regular file, or a symbolic link to one. A link to a
// directory is not followed; a link that cannot be resolved is an error.
func linkedFile(fsys fs.FS, name string, d fs.DirEntry) (bool, error) {
	if d.Type()&fs.ModeSymlink == 0 {
		return d.Type().IsRegular(), nil
	}
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", name, err)
	}
	return info.Mode().IsRegular(), nil
}

package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Result is what one source path renders to.
type Result struct {
	// Type is the source type that was rendered (the detected one when
	// Options.Type was Auto).
	Type Type
	// Objects are the rendered objects in a deterministic order: for a
	// Directory, files in lexical walk order and documents in file order; for
	// Helm, CRDs first, then templates by name, documents in template order;
	// for Kustomize, kustomize's own (legacy kind) order.
	Objects []Object
}

// Object is one rendered object and where it came from. Obj carries no
// render bookkeeping: it is exactly what git declares, ready to apply.
type Object struct {
	// Obj is the object.
	Obj *unstructured.Unstructured
	// Origin is the file (or template) that declared it.
	Origin Origin
}

// Origin locates the declaration of a rendered object, for messages and the UI.
type Origin struct {
	// File is the file relative to the repository root; for a Helm chart it
	// is the template name as `helm template` prints it in "# Source:"
	// ("api/templates/deployment.yaml", "api/crds/crd.yaml").
	File string
	// Doc is the 1-based index of the document within File, counting
	// non-empty documents; 0 when not known (kustomize).
	Doc int
	// Line is the 1-based line where the document starts in File; 0 when not
	// known (rendered templates, kustomize).
	Line int
	// Generator is the kustomize generator that made the object
	// ("ConfigMapGenerator"); File is then the kustomization that configured it.
	Generator string
}

// String returns "file:line", "file#doc" or "file (Generator)".
func (o Origin) String() string {
	s := o.File
	switch {
	case o.Line > 0:
		s += ":" + strconv.Itoa(o.Line)
	case o.Doc > 0:
		s += "#" + strconv.Itoa(o.Doc)
	}
	if o.Generator != "" {
		s += " (" + o.Generator + ")"
	}
	return s
}

// Unstructured returns the objects without their origins.
func (r *Result) Unstructured() []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(r.Objects))
	for i, o := range r.Objects {
		out[i] = o.Obj
	}
	return out
}

// DeepCopy returns a copy of r that shares nothing with it.
func (r *Result) DeepCopy() *Result {
	out := &Result{Type: r.Type, Objects: make([]Object, len(r.Objects))}
	for i, o := range r.Objects {
		out.Objects[i] = Object{Obj: o.Obj.DeepCopy(), Origin: o.Origin}
	}
	return out
}

// Render renders the source at dir inside fsys, the file tree of one commit
// rooted at the repository root. dir is slash-separated and relative ("" or
// "." for the root). Render reads fsys and nothing else: no disk, network or
// cluster; it reads it within opts.Limits, and never through a symbolic
// link that leaves it. Bad input returns an *Error; Render does not panic.
func Render(fsys fs.FS, dir string, opts Options) (res *Result, err error) {
	dir = cleanDir(dir)
	t := opts.Type
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, &Error{Type: t, Path: dir, Err: fmt.Errorf("internal error: %v", r)}
		}
	}()
	if _, err := ParseType(string(t)); err != nil {
		return nil, &Error{Path: dir, Err: err}
	}
	if !fs.ValidPath(dir) {
		return nil, &Error{Type: t, Path: dir, Err: fmt.Errorf("path leaves the repository: %w", ErrNotFound)}
	}
	b := newBudget(opts.Limits)
	rfs := newReadFS(fsys, b)
	info, err := fs.Stat(rfs, dir)
	if err != nil || !info.IsDir() {
		return nil, &Error{Type: t, Path: dir, Err: fmt.Errorf("no such directory: %w", ErrNotFound)}
	}
	if t == Auto {
		t = Detect(rfs, dir)
	}
	var objs []Object
	switch t {
	case Directory:
		objs, err = renderDirectory(rfs, dir, opts.Directory, b)
	case Kustomize:
		objs, err = renderKustomize(rfs, dir, opts.Kustomize, opts.Capabilities, b)
	case Helm:
		objs, err = renderHelm(rfs, dir, opts.Helm, opts.Capabilities, b)
	}
	if broken := b.exceeded(); broken != nil {
		// The budget, not what a library made of the failed read.
		return nil, withSource(broken, t, dir)
	}
	if err != nil {
		return nil, withSource(err, t, dir)
	}
	return &Result{Type: t, Objects: objs}, nil
}

// Detect returns the source type of dir: Helm when it holds Chart.yaml,
// Kustomize when it holds kustomization.yaml, kustomization.yml or
// Kustomization, else Directory.
func Detect(fsys fs.FS, dir string) Type {
	dir = cleanDir(dir)
	if fileExists(fsys, path.Join(dir, "Chart.yaml")) {
		return Helm
	}
	if kustomizationFile(fsys, dir) != "" {
		return Kustomize
	}
	return Directory
}

// withSource fills in the source type and path of an *Error, or wraps err in
// one.
func withSource(err error, t Type, dir string) error {
	var e *Error
	if errors.As(err, &e) {
		e.Type, e.Path = t, dir
		return e
	}
	return &Error{Type: t, Path: dir, Err: err}
}

// cleanDir normalises a source path: slash-separated, cleaned, no leading
// "/", "." for the root. A path that climbs out of the root keeps its ".."
// so that fs.ValidPath rejects it.
func cleanDir(dir string) string {
	dir = strings.TrimLeft(path.Clean(strings.ReplaceAll(dir, "\\", "/")), "/")
	if dir == "" {
		return "."
	}
	return dir
}

// fileExists reports whether name is a regular file in fsys.
func fileExists(fsys fs.FS, name string) bool {
	info, err := fs.Stat(fsys, name)
	return err == nil && info.Mode().IsRegular()
}

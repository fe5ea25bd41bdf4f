package render

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// Sentinel causes a caller may branch on with errors.Is; each arrives
// wrapped in an *Error that names the source path.
var (
	// ErrUnknownType is the cause when Options.Type names no source type.
	ErrUnknownType = errors.New("unknown source type")
	// ErrNotFound is the cause when the source path, or a file the options
	// name, does not exist.
	ErrNotFound = errors.New("not found")
	// ErrRemoteDisabled is the cause when a kustomization refers to
	// anything but a plain path inside the repository (a remote base, a
	// URL, a git address), a chart to a dependency that is not vendored, or
	// a values schema to another document: render never fetches anything.
	ErrRemoteDisabled = errors.New("remote bases are disabled")
	// ErrBudgetExceeded is the cause when a render breaks one of its
	// Limits; the message names the limit and, where there is one, Error.File
	// the file.
	ErrBudgetExceeded = errors.New("render budget exceeded")
	// ErrNotObject is the cause when a manifest document is not a Kubernetes
	// object (no apiVersion or kind, or a YAML list that is not a List kind).
	ErrNotObject = errors.New("not a Kubernetes object")
)

// Error is a render failure with the place it comes from. Path is the source
// path that was rendered, File the file at fault (relative to the repository
// root; for a Helm template or values schema, the name Helm gives it, such
// as "api/templates/deploy.yaml"), Line the 1-based line within File when
// known. Err is the cause; Error unwraps to it.
type Error struct {
	// Type is the source type being rendered.
	Type Type
	// Path is the source path inside the repository.
	Path string
	// File is the file at fault, if one is.
	File string
	// Line is the 1-based line in File, or 0 when not known.
	Line int
	// Err is the cause.
	Err error
}

// Error returns `render <type> "<path>": <file> line <n>: <cause>`.
func (e *Error) Error() string {
	s := "render"
	switch e.Type {
	case Helm:
		s += " helm chart"
	case Kustomize:
		s += " kustomization"
	case Directory:
		s += " directory"
	}
	s += fmt.Sprintf(" %q: ", displayPath(e.Path))
	if e.File != "" {
		s += e.File
		if e.Line > 0 {
			s += " line " + strconv.Itoa(e.Line)
		}
		s += ": "
	}
	return s + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// displayPath shows the repository root as "." rather than "".
func displayPath(p string) string {
	if p == "" {
		return "."
	}
	return p
}

// yamlLineRE finds the line number in the errors of the YAML libraries
// ("yaml: line 3: mapping values are not allowed in this context").
var yamlLineRE = regexp.MustCompile(`\bline (\d+)\b`)

// yamlErrorLine returns the 1-based line a YAML error names, or 0.
func yamlErrorLine(err error) int {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

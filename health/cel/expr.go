package cel

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// Key is the key of gyre-cm that holds the expressions, a YAML list of
// Expr, as Flux's Kustomization holds them in .spec.healthCheckExprs.
const Key = "healthCheckExprs"

// Expr is one entry of a healthCheckExprs list: the CEL expressions that
// judge the objects of one kind, in the shape of Flux's
// kustomize-controller.
type Expr struct {
	// APIVersion is the kind's API version, group/version ("v1" for the
	// core group). Only its group counts: the expressions judge the kind's
	// objects of every version, as Flux's do.
	APIVersion string `json:"apiVersion"`
	// Kind is the kind of object the expressions judge.
	Kind string `json:"kind"`
	// Current is true when the object is healthy. Required.
	Current string `json:"current"`
	// InProgress, if given, is true while the object is still being
	// reconciled. It is tried first.
	InProgress string `json:"inProgress,omitempty"`
	// Failed, if given, is true when the object failed. It is tried after
	// InProgress and before Current.
	Failed string `json:"failed,omitempty"`
}

// Error is an expression, or an entry of a list of them, that could not be
// loaded.
type Error struct {
	// Origin is where the list came from: a ConfigMap and key, or a file.
	Origin string
	// Index is the entry's place in the list, from 0; -1 when the list
	// itself does not parse.
	Index int
	// APIVersion and Kind are the entry's, as written.
	APIVersion, Kind string
	// Field is the expression's field (current, inProgress, failed), empty
	// when the error is the entry's.
	Field string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Origin != "" {
		b.WriteString(e.Origin)
		b.WriteString(": ")
	}
	if e.Index >= 0 {
		fmt.Fprintf(&b, "entry %d", e.Index)
		if e.APIVersion != "" || e.Kind != "" {
			fmt.Fprintf(&b, " (%s %s)", e.APIVersion, e.Kind)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Parse reads a YAML or JSON list of Expr. origin names the list in
// errors. An entry that does not parse, or has a field Expr does not know
// (a misspelt inProgress, say), is an *Error naming its index, and the
// others are returned; a list that does not parse at all is one *Error.
func Parse(origin string, data []byte) ([]Expr, []error) {
	exprs, _, errs := parse(origin, data)
	return exprs, errs
}

// parse is Parse that also returns, for each Expr, its index in the list.
func parse(origin string, data []byte) (exprs []Expr, index []int, errs []error) {
	var raw []json.RawMessage
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, nil, []error{&Error{Origin: origin, Index: -1, Err: fmt.Errorf("not a list of {apiVersion, kind, current, inProgress, failed}: %w", err)}}
	}
	for i, r := range raw {
		var e Expr
		if err := yaml.UnmarshalStrict(r, &e); err != nil {
			_ = yaml.Unmarshal(r, &e) // to name the entry as well as it can
			errs = append(errs, &Error{Origin: origin, Index: i, APIVersion: e.APIVersion, Kind: e.Kind, Err: err})
			continue
		}
		exprs = append(exprs, e)
		index = append(index, i)
	}
	return exprs, index, errs
}

// Load parses a list of expressions (Parse) and compiles them (Compile),
// for a ConfigMap's value or a file's content. The errors of both are
// *Error naming origin and the entry's index in the list; the entries that
// load still apply.
func Load(origin string, data []byte, opts Options) (*Set, []error) {
	exprs, index, errs := parse(origin, data)
	set, cerrs := Compile(exprs, opts)
	for _, err := range cerrs {
		if e, ok := errors.AsType[*Error](err); ok {
			e.Origin = origin
			if e.Index >= 0 && e.Index < len(index) {
				e.Index = index[e.Index]
			}
		}
		errs = append(errs, err)
	}
	return set, errs
}

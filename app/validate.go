package app

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/types"
)

// Validate reports what the CRD schema cannot: a destination with both
// server and name, source and sources both set or neither, more than one
// source type, a chart with a path or a Kustomize or Directory block, refs
// that are not unique names or that a "$ref/…" value file does not find, sync options gyre does not
// know or support (see SyncOptions.Check) or bad backoff durations. Each
// problem leads with its field path; all are joined in a *SpecError. The
// reconciler reports a failure as an InvalidSpecError condition and does not
// sync.
func (a *Application) Validate() error {
	var errs []error
	s := &a.Spec
	if s.Destination.Server != "" && s.Destination.Name != "" {
		errs = append(errs, errors.New("spec.destination: set server or name, not both"))
	}
	errs = append(errs, validateSources(s)...)
	if p := s.SyncPolicy; p != nil {
		for i, o := range p.SyncOptions {
			if err := (SyncOptions{o}).Check(ScopeApplication); err != nil {
				errs = append(errs, fmt.Errorf("spec.syncPolicy.syncOptions[%d] %w", i, err))
			}
		}
		if _, err := p.Retry.Delay(0); err != nil {
			errs = append(errs, fmt.Errorf("spec.syncPolicy.%w", err))
		}
	}
	if s.RevisionHistoryLimit != nil && *s.RevisionHistoryLimit < 0 {
		errs = append(errs, fmt.Errorf("spec.revisionHistoryLimit %d: must not be negative", *s.RevisionHistoryLimit))
	}
	errs = append(errs, validateDependsOn(a)...)
	if len(errs) == 0 {
		return nil
	}
	return &SpecError{Problems: errs}
}

// SpecError is what Validate returns: the problems of an Application's spec
// that the CRD schema cannot catch. The reconciler tells it from other
// errors to report it as an InvalidSpecError condition.
// +k8s:deepcopy-gen=false
type SpecError struct {
	// Problems each lead with the field they concern.
	Problems []error
}

// Error joins the problems with "; ".
func (e *SpecError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return SpecErrorPrefix + strings.Join(msgs, "; ")
}

// SpecErrorPrefix begins the message of every SpecError, and so of the
// InvalidSpecError condition the reconciler sets for one.
const SpecErrorPrefix = "invalid spec: "

// Unwrap returns the problems.
func (e *SpecError) Unwrap() []error { return e.Problems }

// refNameRE is what a source's ref may be: it is written "$<ref>/…".
var refNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// validateSources checks spec.source or spec.sources.
func validateSources(s *Spec) []error {
	var errs []error
	multi := len(s.Sources) > 0
	switch {
	case multi && !reflect.DeepEqual(s.Source, Source{}):
		return []error{errors.New("spec.source and spec.sources are both set; set one")}
	}
	refs := map[string]bool{}
	rendered := 0
	for i, src := range s.SourceList() {
		field := "spec.source"
		if multi {
			field = fmt.Sprintf("spec.sources[%d]", i)
		}
		errs = append(errs, validateSource(field, &src)...)
		if src.Rendered() {
			rendered++
		}
		switch {
		case src.Ref == "":
		case !multi:
			errs = append(errs, fmt.Errorf("%s.ref: a ref names a source for the others in spec.sources; a single source has no others", field))
		case !refNameRE.MatchString(src.Ref):
			errs = append(errs, fmt.Errorf("%s.ref %q: use letters, digits, '-' and '_' only", field, src.Ref))
		case refs[src.Ref]:
			errs = append(errs, fmt.Errorf("%s.ref %q: another source has this ref", field, src.Ref))
		case src.IsChart():
			errs = append(errs, fmt.Errorf("%s.ref %q: a ref must be a git source, not a chart", field, src.Ref))
		default:
			refs[src.Ref] = true
		}
	}
	if multi && rendered == 0 {
		errs = append(errs, errors.New("spec.sources: every source is a ref without a path, so nothing is rendered"))
	}
	for i, src := range s.SourceList() {
		if src.Helm == nil {
			continue
		}
		for j, f := range src.Helm.ValueFiles {
			ref, ok := ValueFileRef(f)
			if !ok {
				continue
			}
			field := fmt.Sprintf("spec.source.helm.valueFiles[%d]", j)
			if multi {
				field = fmt.Sprintf("spec.sources[%d].helm.valueFiles[%d]", i, j)
			}
			if !refs[ref] {
				errs = append(errs, fmt.Errorf("%s %q: no source in spec.sources has ref %q", field, f, ref))
			}
		}
	}
	return errs
}

// ValueFileRef returns the ref a Helm value file names when it is written
// "$<ref>/path" (a file of the source with that ref).
func ValueFileRef(file string) (ref string, ok bool) {
	rest, ok := strings.CutPrefix(file, "$")
	if !ok {
		return "", false
	}
	ref, _, _ = strings.Cut(rest, "/")
	return ref, true
}

// validateSource checks one source.
func validateSource(field string, src *Source) []error {
	var errs []error
	var types []string
	if src.Helm != nil {
		types = append(types, "helm")
	}
	if src.Kustomize != nil {
		types = append(types, "kustomize")
	}
	if src.Directory != nil {
		types = append(types, "directory")
	}
	if len(types) > 1 {
		errs = append(errs, fmt.Errorf("%s: %s are all set; set at most one", field, strings.Join(types, ", ")))
	}
	if src.IsChart() {
		if src.Path != "" {
			errs = append(errs, fmt.Errorf("%s.path %q: a chart from a Helm repository or OCI registry has no path; remove it", field, src.Path))
		}
		if src.Kustomize != nil || src.Directory != nil {
			errs = append(errs, fmt.Errorf("%s: a chart is rendered with Helm; remove the kustomize or directory options", field))
		}
	}
	return errs
}

// validateDependsOn checks spec.dependsOn: each entry names an Application,
// not this one, and only once. Cycles through other Applications and
// Applications that do not exist are the reconciler's to find (it sees
// them all): it reports them as a DependencyError condition.
func validateDependsOn(a *Application) []error {
	var errs []error
	seen := map[types.NamespacedName]bool{}
	for i, key := range a.Dependencies() {
		field := fmt.Sprintf("spec.dependsOn[%d]", i)
		switch {
		case key.Name == "":
			errs = append(errs, fmt.Errorf("%s.name: name the Application this one depends on", field))
		case key == a.Key():
			errs = append(errs, fmt.Errorf("%s %s: an Application cannot depend on itself", field, key))
		case seen[key]:
			errs = append(errs, fmt.Errorf("%s %s: listed twice", field, key))
		}
		seen[key] = true
	}
	return errs
}

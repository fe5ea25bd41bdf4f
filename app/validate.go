package app

import (
	"fmt"
	"strings"
)

// Validate reports what the CRD schema cannot: a destination server other
// than this cluster, more than one source type, sync options gyre does not
// know or support (see SyncOptions.Check) or bad backoff durations. Each
// problem leads with its field path; all are joined in a *SpecError. The
// reconciler reports a failure as an InvalidSpecError condition and does not
// sync.
func (a *Application) Validate() error {
	var errs []error
	s := &a.Spec
	if srv := s.Destination.Server; srv != "" && srv != InClusterServer {
		errs = append(errs, fmt.Errorf("spec.destination.server %q: only this cluster (%q or empty) is supported", srv, InClusterServer))
	}
	var types []string
	if s.Source.Helm != nil {
		types = append(types, "helm")
	}
	if s.Source.Kustomize != nil {
		types = append(types, "kustomize")
	}
	if s.Source.Directory != nil {
		types = append(types, "directory")
	}
	if len(types) > 1 {
		errs = append(errs, fmt.Errorf("spec.source: %s are all set; set at most one", strings.Join(types, ", ")))
	}
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
	if len(errs) == 0 {
		return nil
	}
	return &SpecError{Problems: errs}
}

// SpecError is what Validate returns: the problems of an Application's spec
// that the CRD schema cannot catch. The reconciler tells it from other
// errors to report it as an InvalidSpecError condition.
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

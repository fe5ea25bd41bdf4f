package app

import (
	"errors"
	"fmt"
	"strings"
)

// Validate reports what the CRD schema cannot: a destination server other
// than this cluster, more than one source type, malformed sync options or
// backoff durations. Each problem leads with its field path; all are joined.
// The reconciler reports a failure as an InvalidSpecError condition and does
// not sync.
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
			if k, _, ok := strings.Cut(o, "="); !ok || strings.TrimSpace(k) == "" {
				errs = append(errs, fmt.Errorf("spec.syncPolicy.syncOptions[%d] %q: want Name=value", i, o))
			}
		}
		if _, err := p.Retry.Delay(0); err != nil {
			errs = append(errs, fmt.Errorf("spec.syncPolicy.%w", err))
		}
	}
	if s.RevisionHistoryLimit != nil && *s.RevisionHistoryLimit < 0 {
		errs = append(errs, fmt.Errorf("spec.revisionHistoryLimit %d: must not be negative", *s.RevisionHistoryLimit))
	}
	return errors.Join(errs...)
}

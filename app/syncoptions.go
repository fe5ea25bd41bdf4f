package app

import "strings"

// SyncOptionName names a sync option, the part before "=" in
// "CreateNamespace=true".
type SyncOptionName string

// The sync options gyre knows. The first group is read from
// spec.syncPolicy.syncOptions; the second from an object's
// gyre.dev/sync-options annotation (or its Argo CD alias). Unknown options are
// kept and ignored.
const (
	// OptionCreateNamespace=true creates spec.destination.namespace if it does
	// not exist.
	OptionCreateNamespace SyncOptionName = "CreateNamespace"
	// OptionPruneLast=true prunes only after every wave is healthy.
	OptionPruneLast SyncOptionName = "PruneLast"
	// OptionApplyOutOfSyncOnly=true applies only objects that differ.
	OptionApplyOutOfSyncOnly SyncOptionName = "ApplyOutOfSyncOnly"
	// OptionPrunePropagationPolicy=foreground|background|orphan is the
	// deletion propagation used when pruning (default foreground).
	OptionPrunePropagationPolicy SyncOptionName = "PrunePropagationPolicy"
	// OptionRespectIgnoreDifferences=true keeps ignored fields at their live
	// values when applying, instead of only hiding them from the diff.
	OptionRespectIgnoreDifferences SyncOptionName = "RespectIgnoreDifferences"
	// OptionFailOnSharedResource=true fails a sync that would apply an object
	// another Application tracks.
	OptionFailOnSharedResource SyncOptionName = "FailOnSharedResource"

	// OptionPrune=false on an object keeps it when git no longer declares it.
	OptionPrune SyncOptionName = "Prune"
	// OptionDelete=false on an object keeps it when the Application is
	// deleted.
	OptionDelete SyncOptionName = "Delete"
	// OptionReplace=true replaces the object instead of applying it.
	OptionReplace SyncOptionName = "Replace"
	// OptionServerSideApplyForce=true takes ownership of conflicting fields.
	OptionServerSideApplyForce SyncOptionName = "Force"
	// OptionSkipDryRunOnMissingResource=true applies an object whose kind is
	// not yet known (its CRD comes in the same sync) without a dry run.
	OptionSkipDryRunOnMissingResource SyncOptionName = "SkipDryRunOnMissingResource"
)

// SyncOptions is a list of "Name=value" sync options.
type SyncOptions []string

// ParseSyncOptions splits the comma-separated value of a sync-options
// annotation, e.g. "Prune=false,Replace=true", trimming spaces and dropping
// empty entries.
func ParseSyncOptions(annotation string) SyncOptions {
	var opts SyncOptions
	for o := range strings.SplitSeq(annotation, ",") {
		if o = strings.TrimSpace(o); o != "" {
			opts = append(opts, o)
		}
	}
	return opts
}

// Get returns the value of option name and whether it is set. Names match
// exactly; an entry without "=" has the value "". A later entry overrides an
// earlier one.
func (o SyncOptions) Get(name SyncOptionName) (value string, ok bool) {
	for _, opt := range o {
		k, v, _ := strings.Cut(opt, "=")
		if strings.TrimSpace(k) == string(name) {
			value, ok = strings.TrimSpace(v), true
		}
	}
	return value, ok
}

// True reports whether option name is set to "true" (case-insensitive).
func (o SyncOptions) True(name SyncOptionName) bool {
	v, ok := o.Get(name)
	return ok && strings.EqualFold(v, "true")
}

// False reports whether option name is explicitly set to "false"
// (case-insensitive), as in "Prune=false".
func (o SyncOptions) False(name SyncOptionName) bool {
	v, ok := o.Get(name)
	return ok && strings.EqualFold(v, "false")
}

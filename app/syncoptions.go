package app

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// SyncOptionName names a sync option, the part before "=" in
// "CreateNamespace=true".
type SyncOptionName string

// The sync options gyre knows: Argo CD's, with Argo CD's meaning. Some are
// read from spec.syncPolicy.syncOptions (or an operation's syncOptions),
// some from an object's gyre.dev/sync-options annotation (or its Argo CD
// alias), some from both; KnownSyncOptions says which. An option gyre does
// not know, a value it does not support, or an option given where it has no
// effect is refused (see SyncOptions.Check), never ignored.
const (
	// OptionCreateNamespace=true creates spec.destination.namespace if it does
	// not exist.
	OptionCreateNamespace SyncOptionName = "CreateNamespace"
	// OptionPruneLast=true prunes after every Sync wave is applied and
	// healthy, in a final wave of its own, instead of in the object's wave.
	OptionPruneLast SyncOptionName = "PruneLast"
	// OptionApplyOutOfSyncOnly=true applies only objects that differ.
	OptionApplyOutOfSyncOnly SyncOptionName = "ApplyOutOfSyncOnly"
	// OptionPrunePropagationPolicy=foreground|background|orphan is the
	// deletion propagation used when pruning (default foreground).
	OptionPrunePropagationPolicy SyncOptionName = "PrunePropagationPolicy"
	// OptionRespectIgnoreDifferences=true keeps the fields that
	// spec.ignoreDifferences names at their live values when applying,
	// instead of only hiding them from the diff.
	OptionRespectIgnoreDifferences SyncOptionName = "RespectIgnoreDifferences"
	// OptionFailOnSharedResource=true fails a sync that would apply an object
	// another Application tracks. gyre always does so; the option is
	// accepted for Argo CD compatibility and changes nothing.
	OptionFailOnSharedResource SyncOptionName = "FailOnSharedResource"

	// OptionPrune=false on an object keeps it when git no longer declares it.
	OptionPrune SyncOptionName = "Prune"
	// OptionDelete=false on an object keeps it when the Application is
	// deleted.
	OptionDelete SyncOptionName = "Delete"
	// OptionReplace=true replaces the object (an update of the whole object,
	// or a create when it does not exist, as kubectl replace and create do)
	// instead of server-side applying it: fields git does not declare are
	// removed, whoever set them.
	OptionReplace SyncOptionName = "Replace"
	// OptionServerSideApplyForce=false makes an apply fail on a field another
	// field manager owns instead of taking the field over (gyre's default,
	// Force=true).
	OptionServerSideApplyForce SyncOptionName = "Force"
	// OptionSkipDryRunOnMissingResource=true applies an object whose kind is
	// not yet known (its CRD comes in the same sync) without a dry run.
	OptionSkipDryRunOnMissingResource SyncOptionName = "SkipDryRunOnMissingResource"
	// OptionServerSideApply=true is gyre's only way of applying; the option
	// is accepted for Argo CD compatibility, and "false" is refused.
	OptionServerSideApply SyncOptionName = "ServerSideApply"
	// OptionValidate=true is gyre's only mode: every write asks the API
	// server for strict field validation (as kubectl does), so a field the
	// schema does not declare fails the sync instead of being dropped.
	// "false" is refused: server-side apply rejects undeclared fields
	// whatever the validation setting, so gyre cannot honour it.
	OptionValidate SyncOptionName = "Validate"
)

// SyncOptionScope says where a sync option may be given.
type SyncOptionScope int

// The places a sync option may be given.
const (
	// ScopeApplication: spec.syncPolicy.syncOptions, or the syncOptions of
	// an operation.
	ScopeApplication SyncOptionScope = 1 << iota
	// ScopeObject: an object's gyre.dev/sync-options or
	// argocd.argoproj.io/sync-options annotation.
	ScopeObject
)

// String names the scope as a message does.
func (s SyncOptionScope) String() string {
	switch s {
	case ScopeApplication:
		return "spec.syncPolicy.syncOptions"
	case ScopeObject:
		return "an object's sync-options annotation"
	}
	return "anywhere"
}

// KnownSyncOption describes one sync option gyre accepts.
//
// +k8s:deepcopy-gen=false
type KnownSyncOption struct {
	// Name is the option's name.
	Name SyncOptionName
	// Values are the values gyre accepts, compared case-insensitively.
	Values []string
	// Scope is where the option may be given (a bit set of
	// ScopeApplication and ScopeObject).
	Scope SyncOptionScope
}

// KnownSyncOptions lists every sync option gyre accepts, with the values it
// supports and where: everything else is refused by SyncOptions.Check.
func KnownSyncOptions() []KnownSyncOption {
	boolean := []string{"true", "false"}
	both := ScopeApplication | ScopeObject
	return []KnownSyncOption{
		{OptionCreateNamespace, boolean, ScopeApplication},
		{OptionPruneLast, boolean, both},
		{OptionApplyOutOfSyncOnly, boolean, ScopeApplication},
		{OptionPrunePropagationPolicy, []string{"foreground", "background", "orphan"}, ScopeApplication},
		{OptionRespectIgnoreDifferences, boolean, ScopeApplication},
		{OptionFailOnSharedResource, boolean, ScopeApplication},
		{OptionPrune, boolean, ScopeObject},
		{OptionDelete, boolean, ScopeObject},
		{OptionReplace, boolean, both},
		{OptionServerSideApplyForce, boolean, both},
		{OptionSkipDryRunOnMissingResource, boolean, both},
		{OptionServerSideApply, []string{"true"}, both},
		{OptionValidate, []string{"true"}, both},
	}
}

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

// Check refuses every entry that gyre would not act on as written: one
// without "=", an unknown name, an unsupported value (Prune=confirm,
// ServerSideApply=false…) or an option that has no effect in scope (Prune
// in spec.syncPolicy.syncOptions, say), and Argo CD's Force=true with
// Replace=true (delete and re-create), which gyre does not do. Each problem
// names the entry; all are joined.
func (o SyncOptions) Check(scope SyncOptionScope) error {
	var errs []error
	for _, entry := range o {
		if err := checkSyncOption(entry, scope); err != nil {
			errs = append(errs, fmt.Errorf("%q: %w", entry, err))
		}
	}
	if o.True(OptionReplace) && o.True(OptionServerSideApplyForce) {
		errs = append(errs, errors.New("Force=true with Replace=true: Argo CD deletes and re-creates the object; gyre does not, and refuses the pair (gyre takes over conflicting fields by default; drop Force=true)"))
	}
	return errors.Join(errs...)
}

// checkSyncOption checks one "Name=value" entry given in scope.
func checkSyncOption(entry string, scope SyncOptionScope) error {
	k, v, ok := strings.Cut(entry, "=")
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if !ok || k == "" {
		return errors.New("want Name=value")
	}
	known := KnownSyncOptions()
	i := slices.IndexFunc(known, func(o KnownSyncOption) bool { return string(o.Name) == k })
	if i < 0 {
		return fmt.Errorf("unknown sync option %s (gyre knows %s)", k, knownNames(known))
	}
	opt := known[i]
	if opt.Scope&scope == 0 {
		other := ScopeObject
		if scope == ScopeObject {
			other = ScopeApplication
		}
		return fmt.Errorf("%s has no effect in %s; give it in %s", k, scope, other)
	}
	switch name := SyncOptionName(k); {
	case (name == OptionPrune || name == OptionDelete) && strings.EqualFold(v, "confirm"):
		return fmt.Errorf("%s=confirm is not supported: gyre does not ask for confirmation; use %s=false to keep the object", k, k)
	case name == OptionServerSideApply && strings.EqualFold(v, "false"):
		return errors.New("gyre always uses server-side apply; ServerSideApply=false is not supported (use Replace=true to replace objects instead)")
	case name == OptionValidate && strings.EqualFold(v, "false"):
		return errors.New("Validate=false is not supported: gyre writes with server-side apply, which refuses fields the schema does not declare whatever the validation setting; remove or correct the field instead")
	}
	if !slices.ContainsFunc(opt.Values, func(want string) bool { return strings.EqualFold(v, want) }) {
		return fmt.Errorf("%s=%s: want %s", k, v, strings.Join(opt.Values, " or "))
	}
	return nil
}

// knownNames lists the option names, for a message.
func knownNames(known []KnownSyncOption) string {
	names := make([]string, len(known))
	for i, o := range known {
		names[i] = string(o.Name)
	}
	return strings.Join(names, ", ")
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

package diff

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gyre-cd/gyre/app"
)

// Status is the outcome of comparing one object.
type Status string

// The outcomes of comparing one object.
const (
	// InSync: applying the desired object would not change the live one.
	InSync Status = "InSync"
	// OutOfSync: applying the desired object would change the live one.
	OutOfSync Status = "OutOfSync"
	// Missing: the object is desired but does not exist.
	Missing Status = "Missing"
	// Extraneous: the object exists and is tracked, but is no longer desired.
	Extraneous Status = "Extraneous"
	// Unknown: the comparison could not be made (the dry run failed); see
	// Result.Message.
	Unknown Status = "Unknown"
)

// DefaultFieldManager is the server-side apply field manager gyre applies
// with; its Apply entry in the live object's managedFields is what the fast
// path reads.
const DefaultFieldManager = "gyre"

// DefaultConcurrency is how many objects Compare works on at once.
const DefaultConcurrency = 8

// DryRunner asks the API server what a server-side apply would produce.
// DryRunApply applies desired with dry-run, field manager "gyre" and forced
// conflicts, and returns the object the server would store. It receives a
// copy of desired that it may modify. sync supplies the implementation;
// tests supply a fake.
type DryRunner interface {
	DryRunApply(ctx context.Context, desired *unstructured.Unstructured) (*unstructured.Unstructured, error)
}

// DryRunFunc adapts a function to a DryRunner.
type DryRunFunc func(ctx context.Context, desired *unstructured.Unstructured) (*unstructured.Unstructured, error)

// DryRunApply calls f.
func (f DryRunFunc) DryRunApply(ctx context.Context, desired *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return f(ctx, desired)
}

// Pair is one object to compare: what git declares and what the cluster
// holds. Desired is nil for an extraneous object (tracked by the app, no
// longer declared); Live is nil for a missing one. When both are set they
// must have the same app.ResourceKey, and Desired must be the object exactly
// as sync will apply it (tracking annotation and label included).
type Pair struct {
	Desired *unstructured.Unstructured
	Live    *unstructured.Unstructured
}

// Result is the comparison of one object. Desired, Live and Predicted are
// normalised copies (server-owned fields dropped, ignoreDifferences removed,
// Secret values masked): safe to show, not to apply. Predicted is the live
// object as it would be after the apply.
type Result struct {
	Key    app.ResourceKey `json:"key"`
	Status Status          `json:"status"`
	// Ignored is set on an Extraneous result whose live object carries the
	// IgnoreExtraneous compare option: it is still extraneous (prune may
	// delete it) but does not make the Application OutOfSync.
	Ignored bool `json:"ignored,omitempty"`
	// DryRun reports whether the result needed a server-side dry run; false
	// when the fast path proved the object in sync or nothing was compared.
	DryRun    bool                       `json:"dryRun,omitempty"`
	Desired   *unstructured.Unstructured `json:"desired,omitempty"`
	Live      *unstructured.Unstructured `json:"live,omitempty"`
	Predicted *unstructured.Unstructured `json:"predicted,omitempty"`
	// Diff is a unified diff of the live object's YAML ("--- live") against
	// the predicted one ("+++ desired"), 3 lines of context; empty when in
	// sync.
	Diff string `json:"diff,omitempty"`
	// Message explains an Unknown status, starting with the object key.
	Message string `json:"message,omitempty"`
	// Err is the error behind an Unknown status, for callers that branch on
	// it (errors.As); Message carries its text.
	Err error `json:"-"`
}

// SyncStatus is r's contribution to its Application's sync status.
func (r Result) SyncStatus() app.SyncStatus {
	switch r.Status {
	case InSync:
		return app.Synced
	case Extraneous:
		if r.Ignored {
			return app.Synced
		}
		return app.OutOfSync
	case OutOfSync, Missing:
		return app.OutOfSync
	}
	return app.SyncUnknown
}

// SyncStatus aggregates results into an Application's sync status: OutOfSync
// if any object is, otherwise Unknown if any comparison failed, otherwise
// Synced (also for no results).
func SyncStatus(results []Result) app.SyncStatus {
	status := app.Synced
	for _, r := range results {
		switch r.SyncStatus() {
		case app.OutOfSync:
			return app.OutOfSync
		case app.SyncUnknown:
			status = app.SyncUnknown
		}
	}
	return status
}

// Options tunes Compare. The zero value means DefaultOptions.
type Options struct {
	// Ignore lists the Application's ignoreDifferences rules.
	Ignore []app.IgnoreDifference `json:"ignore,omitempty"`
	// FieldManager is the field manager gyre applies with; default "gyre".
	FieldManager string `json:"fieldManager,omitempty"`
	// Concurrency bounds how many objects are compared (and dry-run) at
	// once; default 8.
	Concurrency int `json:"concurrency,omitempty"`
	// DisableFastPath makes every existing object go through the dry run,
	// for debugging a suspected fast-path disagreement and for benchmarks.
	DisableFastPath bool `json:"disableFastPath,omitempty"`
}

// DefaultOptions returns the options Compare uses when given the zero value.
func DefaultOptions() Options {
	return Options{FieldManager: DefaultFieldManager, Concurrency: DefaultConcurrency}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.FieldManager == "" {
		o.FieldManager = d.FieldManager
	}
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	return o
}

// Compare compares every pair and returns one Result per pair, in order.
// A failing dry run is a per-object Unknown result, not an error; Compare
// fails only for invalid ignore rules, a pair with neither object, or a
// cancelled ctx. runner may be nil when no API server is reachable: objects
// the fast path cannot prove in sync are then Unknown.
func Compare(ctx context.Context, runner DryRunner, pairs []Pair, opts Options) ([]Result, error) {
	opts = opts.withDefaults()
	ignores, err := compileIgnores(opts.Ignore)
	if err != nil {
		return nil, err
	}
	c := &comparer{runner: runner, ignores: ignores, manager: opts.FieldManager, fastPath: !opts.DisableFastPath}
	for i, p := range pairs {
		if p.Desired == nil && p.Live == nil {
			return nil, fmt.Errorf("diff pair %d: neither desired nor live object", i)
		}
	}

	results := make([]Result, len(pairs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for i, p := range pairs {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			r, err := c.compare(gctx, p)
			results[i] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, nil
}

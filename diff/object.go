package diff

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gyre-cd/gyre/app"
)

// comparer compares one pair at a time; it is shared read-only by Compare's
// goroutines.
type comparer struct {
	runner   DryRunner
	ignores  []compiledIgnore
	manager  string
	fastPath bool
}

// compare compares one pair. The error is non-nil only when ctx is done;
// every other failure is an Unknown result.
func (c *comparer) compare(ctx context.Context, p Pair) (Result, error) {
	switch {
	case p.Live == nil:
		return c.missing(ctx, p.Desired), nil
	case p.Desired == nil:
		return c.extraneous(ctx, p.Live), nil
	}

	key := app.KeyOf(p.Desired)
	if lk := app.KeyOf(p.Live); lk != key {
		return unknown(key, fmt.Errorf("%s: live object is %s, not the desired object", key, lk)), nil
	}
	desired, err := normalize(p.Desired)
	if err != nil {
		return unknown(key, fmt.Errorf("%s desired object: %w", key, err)), nil
	}
	live, err := normalize(p.Live)
	if err != nil {
		return unknown(key, fmt.Errorf("%s live object: %w", key, err)), nil
	}
	rules := c.matching(key)
	owned, err := managedBy(p.Live, rules)
	if err != nil {
		return unknown(key, fmt.Errorf("%s live managedFields: %w", key, err)), nil
	}
	if err := c.ignore(ctx, rules, owned, desired, live); err != nil {
		return c.failed(ctx, key, fmt.Errorf("%s: %w", key, err), desired, live, false)
	}

	predicted, dryRun, err := c.predict(ctx, p, live)
	if err != nil {
		return c.failed(ctx, key, err, desired, live, dryRun)
	}
	if err := c.ignore(ctx, rules, owned, predicted); err != nil {
		return c.failed(ctx, key, fmt.Errorf("%s: %w", key, err), desired, live, dryRun)
	}

	r := Result{Key: key, Status: InSync, DryRun: dryRun}
	if dryRun && !equal(live.Object, predicted.Object) {
		r.Status = OutOfSync
	}
	maskSecret(key, live, predicted, desired)
	r.Desired, r.Live, r.Predicted = desired, live, predicted
	if r.Status == OutOfSync {
		r.Diff = unified(key, live, predicted)
	}
	return r, nil
}

// predict returns the normalised live object as the apply would leave it: a
// copy of live when the fast path proves the apply a no-op, otherwise the
// API server's dry-run answer (dryRun is then true, even when it failed).
func (c *comparer) predict(ctx context.Context, p Pair, live *unstructured.Unstructured) (predicted *unstructured.Unstructured, dryRun bool, err error) {
	key := app.KeyOf(p.Desired)
	if c.fastPath && provablyInSync(p.Desired, p.Live, c.manager) {
		v, err := copyValue(live.Object)
		if err != nil {
			return nil, false, fmt.Errorf("%s live object: %w", key, err)
		}
		return &unstructured.Unstructured{Object: v.(map[string]any)}, false, nil
	}
	if c.runner == nil {
		return nil, false, fmt.Errorf("%s: not provably in sync and no dry runner to ask the API server", key)
	}
	out, err := c.runner.DryRunApply(ctx, p.Desired.DeepCopy())
	if err != nil {
		return nil, true, fmt.Errorf("%s dry-run apply: %w", key, err)
	}
	if out == nil {
		return nil, true, fmt.Errorf("%s dry-run apply: no object returned", key)
	}
	if predicted, err = normalize(out); err != nil {
		return nil, true, fmt.Errorf("%s dry-run object: %w", key, err)
	}
	return predicted, true, nil
}

// ignore applies the ignoreDifferences rules to each of objs.
func (c *comparer) ignore(ctx context.Context, rules []compiledIgnore, owned []*fieldNode, objs ...*unstructured.Unstructured) error {
	for _, obj := range objs {
		if err := applyIgnores(ctx, obj, rules, owned); err != nil {
			return err
		}
	}
	return nil
}

// failed is the Unknown result of a comparison that could not be made (err
// starts with the key), carrying the masked desired and live objects for
// display; when ctx is done it is ctx's error instead.
func (c *comparer) failed(ctx context.Context, key app.ResourceKey, err error, desired, live *unstructured.Unstructured, dryRun bool) (Result, error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return Result{}, ctxErr
	}
	r := unknown(key, err)
	r.DryRun = dryRun
	maskSecret(key, live, desired)
	r.Desired, r.Live = desired, live
	return r, nil
}

// missing is the result for a desired object that does not exist yet. It
// needs no dry run: creating it is a change whatever the server defaults.
func (c *comparer) missing(ctx context.Context, obj *unstructured.Unstructured) Result {
	key := app.KeyOf(obj)
	desired, err := normalize(obj)
	if err != nil {
		return unknown(key, fmt.Errorf("%s desired object: %w", key, err))
	}
	if err := applyIgnores(ctx, desired, c.matching(key), nil); err != nil {
		return unknown(key, fmt.Errorf("%s: %w", key, err))
	}
	maskSecret(key, desired)
	return Result{Key: key, Status: Missing, Desired: desired, Diff: unified(key, nil, desired)}
}

// extraneous is the result for a tracked live object git no longer declares.
func (c *comparer) extraneous(ctx context.Context, obj *unstructured.Unstructured) Result {
	key := app.KeyOf(obj)
	live, err := normalize(obj)
	if err != nil {
		return unknown(key, fmt.Errorf("%s live object: %w", key, err))
	}
	owned, err := managedBy(obj, c.matching(key))
	if err == nil {
		err = applyIgnores(ctx, live, c.matching(key), owned)
	}
	if err != nil {
		return unknown(key, fmt.Errorf("%s: %w", key, err))
	}
	maskSecret(key, live)
	return Result{
		Key:     key,
		Status:  Extraneous,
		Ignored: HasCompareOption(obj, IgnoreExtraneous),
		Live:    live,
		Diff:    unified(key, live, nil),
	}
}

// unknown is the result for an object that could not be compared.
func unknown(key app.ResourceKey, err error) Result {
	return Result{Key: key, Status: Unknown, Message: err.Error(), Err: err}
}

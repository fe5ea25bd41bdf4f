package sync

import (
	"context"
	"fmt"
	"sort"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// DiffObjects compares the Application key with objs, a render made
// elsewhere (of a local checkout, say), instead of git's: the objects are
// placed and marked as a sync would apply them, paired with the live ones,
// put to the Application's policy and diffed with server-side dry runs and
// its ignoreDifferences. Nothing is written and objs are not modified.
//
// The results are those of Diff: objects to create (diff.Missing), to
// change (diff.OutOfSync), tracked live objects objs no longer declare
// (diff.Extraneous, which a sync with prune deletes), and objects the
// policy refuses (diff.Unknown, Err an *admit.Violation; never dry-run).
// Secret values are masked.
func (r *Reconciler) DiffObjects(ctx context.Context, key types.NamespacedName, objs []*unstructured.Unstructured) ([]diff.Result, error) {
	a, ok := r.Application(key)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	cmp := r.newComparison(a, a.Spec.SourceList())
	if cmp.err != nil {
		return nil, cmp.err
	}
	own := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		own[i] = o.DeepCopy() // prepare places and marks them in place
	}
	r.compareObjects(ctx, a, cmp, own)
	if cmp.err != nil {
		return nil, cmp.err
	}
	return cmp.diffResults()
}

// diffResults returns the per-object results of the comparison with one
// more for each object the policy refused: Unknown, its message the
// refusal's, Err the *admit.Violation. A refusal of the Application as a
// whole is an error.
func (cmp *comparison) diffResults() ([]diff.Result, error) {
	out := cmp.results
	var refused []diff.Result
	for k, v := range cmp.violations {
		if k == (app.ResourceKey{}) {
			return nil, v
		}
		refused = append(refused, diff.Result{Key: k, Status: diff.Unknown, Message: v.Error(), Err: v})
	}
	sort.Slice(refused, func(i, j int) bool { return refused[i].Key.String() < refused[j].Key.String() })
	return append(out[:len(out):len(out)], refused...), nil
}

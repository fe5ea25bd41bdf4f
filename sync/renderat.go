package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	"github.com/gyre-cd/gyre/render"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// This file holds the looks at an Application at a revision other than its
// targetRevision — a pull request's branch, say — that write nothing:
// RenderAt and DiffAt. Both go the loop's own way (resolve → render →
// pair → diff) with the revision pinned, as `gyre app sync --revision`
// pins it, so a preview shows what a sync of that revision would do.

// RenderAt renders the Application key at revision, with its own options,
// and returns the objects as render made them (not yet placed in the
// destination namespace nor marked for tracking) and the revision they
// come from, joined as status records it (app.JoinRevisions).
//
// revision is a branch, tag, full ref name (refs/pull/7/head) or commit of
// the Application's repository; empty means its targetRevision. An
// Application with several sources needs one revision per source, in
// source order, joined by commas, as a sync's revision is; an empty one
// keeps that source's targetRevision. The ref listings of the sources are
// dropped first, so a branch pushed a moment ago resolves. The
// Application's Project must still allow every source.
func (r *Reconciler) RenderAt(ctx context.Context, key types.NamespacedName, revision string) ([]*unstructured.Unstructured, string, error) {
	a, srcs, pinned, err := r.atRevision(key, revision)
	if err != nil {
		return nil, "", err
	}
	if cmp := r.newComparison(a, srcs); cmp.err != nil {
		return nil, "", cmp.err
	}
	rs, err := r.resolveSources(ctx, srcs, pinned)
	if err != nil {
		return nil, "", err
	}
	res, err := r.renderSources(ctx, a, rs)
	if err != nil {
		return nil, revisionOf(rs), err
	}
	return res.Unstructured(), revisionOf(rs), nil
}

// DiffAt compares the Application key with its render at revision (see
// RenderAt for what revision may be) and returns what DiffObjects returns
// for that render, and the revision compared. Nothing is written; the
// comparison uses server-side dry runs.
func (r *Reconciler) DiffAt(ctx context.Context, key types.NamespacedName, revision string) ([]diff.Result, string, error) {
	a, srcs, pinned, err := r.atRevision(key, revision)
	if err != nil {
		return nil, "", err
	}
	cmp := r.compare(ctx, a, srcs, pinned)
	if cmp.err != nil {
		return nil, cmp.revision, cmp.err
	}
	results, err := cmp.diffResults()
	return results, cmp.revision, err
}

// atRevision looks up the Application key and checks revision against its
// sources, returning them and the revision to pin them to. The sources'
// ref listings are dropped, so that what resolves is what the repository
// holds now.
func (r *Reconciler) atRevision(key types.NamespacedName, revision string) (*app.Application, []app.Source, string, error) {
	a, ok := r.Application(key)
	if !ok {
		return nil, nil, "", fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	srcs := a.Spec.SourceList()
	revision = strings.TrimSpace(revision)
	if n := len(srcs); n > 1 && revision != "" && strings.Count(revision, ",")+1 != n {
		return nil, nil, "", &RevisionError{App: key, Revision: revision, Sources: n}
	}
	r.refreshSources(srcs)
	return a, srcs, revision, nil
}

// RevisionError is the error of RenderAt and DiffAt for a revision that
// does not say which of an Application's sources it is for.
type RevisionError struct {
	// App is the Application, Revision the revision asked for, Sources
	// how many sources the Application has.
	App      types.NamespacedName
	Revision string
	Sources  int
}

// Error says what to give instead.
func (e *RevisionError) Error() string {
	return fmt.Sprintf("application %s has %d sources: revision %q must name one revision per source, in source order, joined by commas (empty keeps a source's targetRevision, e.g. \",%s\")",
		e.App, e.Sources, e.Revision, e.Revision)
}

// RefreshHardValue is the value of RefreshAnnotation that asks for a hard
// refresh: the comparison that follows resolves the Application's
// revision again and renders it afresh instead of from the render cache,
// for a render whose inputs gyre cannot see change (a remote base, the
// cluster's API versions). `kubectl annotate application NAME
// gyre.dev/refresh=hard` asks for one too.
const RefreshHardValue = "hard"

// RefreshHard asks for a hard refresh of the Application key (see
// RefreshHardValue). It goes through the annotation on every replica, the
// working one included: the comparison it asks for runs in the loop,
// which reads the annotation.
func (r *Reconciler) RefreshHard(key types.NamespacedName) {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{RefreshAnnotation: RefreshHardValue}}})
	ctx, cancel := context.WithTimeout(context.Background(), annotateTimeout)
	defer cancel()
	_, err := r.dyn.Resource(app.GroupVersionResource()).Namespace(key.Namespace).Patch(ctx, key.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: r.opts.FieldManager})
	if err != nil {
		r.log.Warn("could not ask for a hard refresh", "app", key, "err", err)
	}
}

// hardRefreshKey marks the context of a comparison that a hard refresh
// asked for.
type hardRefreshKey struct{}

// hardRefreshContext returns ctx marked as a hard refresh's when a's
// RefreshAnnotation asks for one. The loop calls it before
// takeRefreshRequest removes the annotation, and compares with the
// context it returns.
func hardRefreshContext(ctx context.Context, a *app.Application) context.Context {
	if a.Annotations[RefreshAnnotation] != RefreshHardValue {
		return ctx
	}
	return context.WithValue(ctx, hardRefreshKey{}, true)
}

// cachedRender returns the cached render of k, unless ctx is a hard
// refresh's: then the cached one is dropped, with the renders of other
// commits that could stand for it, and the caller renders again.
func (r *Reconciler) cachedRender(ctx context.Context, k render.Key) (*render.Result, bool) {
	if isHardRefresh(ctx) {
		r.renders.Forget(k)
		return nil, false
	}
	return r.renders.Get(k)
}

// isHardRefresh reports whether ctx is a hard refresh's (see
// hardRefreshContext): its renders skip the render cache.
func isHardRefresh(ctx context.Context) bool {
	hard, _ := ctx.Value(hardRefreshKey{}).(bool)
	return hard
}

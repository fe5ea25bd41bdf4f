package sync

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	gosync "sync"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// resourceFor returns the dynamic client for obj's resource, in its
// namespace when the kind is namespaced.
func (r *Reconciler) resourceFor(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	m, err := r.live.Mapping(gvk)
	if meta.IsNoMatchError(err) {
		r.live.ResetMapping()
		m, err = r.live.Mapping(gvk)
	}
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return r.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
	}
	return r.dyn.Resource(m.Resource), nil
}

// applyOptions say how one object is applied.
type applyOptions struct {
	DryRun bool
	// Force takes over fields another manager owns; gyre's default.
	Force bool
}

// apply server-side applies obj with gyre's field manager. An object with
// only generateName (a hook) is created instead.
func (r *Reconciler) apply(ctx context.Context, obj *unstructured.Unstructured, o applyOptions) (*unstructured.Unstructured, error) {
	ri, err := r.resourceFor(obj)
	if err != nil {
		return nil, err
	}
	var dryRun []string
	if o.DryRun {
		dryRun = []string{metav1.DryRunAll}
	}
	if obj.GetName() == "" {
		return ri.Create(ctx, obj, metav1.CreateOptions{FieldManager: r.opts.FieldManager, DryRun: dryRun})
	}
	return ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: r.opts.FieldManager, Force: o.Force, DryRun: dryRun})
}

// dryRunMemo remembers server-side dry-run answers by the desired object's
// content and the live object's resourceVersion: while neither changes, the
// answer cannot either, so a periodic comparison of an unchanged app makes no
// dry-run request even where diff's fast path cannot decide.
type dryRunMemo struct {
	mu      gosync.Mutex
	answers map[memoKey]*unstructured.Unstructured
}

type memoKey struct {
	key         app.ResourceKey
	desired     [sha256.Size]byte
	liveVersion string
}

// memoLimit bounds the memo; past it, it starts afresh.
const memoLimit = 20000

func newDryRunMemo() *dryRunMemo {
	return &dryRunMemo{answers: map[memoKey]*unstructured.Unstructured{}}
}

// runner returns the DryRunner diff uses for r.
func (m *dryRunMemo) runner(r *Reconciler) diff.DryRunner {
	return diff.DryRunFunc(func(ctx context.Context, desired *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		data, err := json.Marshal(desired.Object)
		if err != nil {
			return nil, err
		}
		k := memoKey{key: app.KeyOf(desired), desired: sha256.Sum256(data)}
		if live, ok := r.live.Get(k.key); ok {
			k.liveVersion = live.GetResourceVersion()
		}
		m.mu.Lock()
		answer, ok := m.answers[k]
		m.mu.Unlock()
		if ok {
			return answer.DeepCopy(), nil
		}
		answer, err = r.apply(ctx, desired, applyOptions{DryRun: true, Force: true})
		if err != nil {
			return nil, fmt.Errorf("dry run: %w", err)
		}
		if k.liveVersion != "" {
			m.mu.Lock()
			if len(m.answers) >= memoLimit {
				m.answers = map[memoKey]*unstructured.Unstructured{}
			}
			m.answers[k] = answer.DeepCopy()
			m.mu.Unlock()
		}
		return answer, nil
	})
}

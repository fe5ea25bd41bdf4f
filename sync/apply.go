package sync

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	gosync "sync"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// applyOptions say how one object is written.
type applyOptions struct {
	DryRun bool
	// Force takes over fields another manager owns; gyre's default.
	Force bool
	// Replace writes the whole object with an update carrying the live
	// resourceVersion (a create when it does not exist), as kubectl
	// replace does, instead of applying it.
	Replace bool
	// FieldValidation is the API server's field validation: Strict, Warn or
	// Ignore; empty leaves it to the server (Warn).
	FieldValidation string
}

// validationStrict is the field validation gyre asks for on every write, as
// kubectl does: server-side apply refuses undeclared fields anyway, and a
// replace or a create must not drop them silently either.
const validationStrict = "Strict"

// writeOptions are what a sync works out once and uses for every object it
// writes: the Application's and the operation's sync options, and the
// Application's ignoreDifferences rules.
type writeOptions struct {
	Options app.SyncOptions
	Ignore  []app.IgnoreDifference
	// dst is the cluster written to.
	dst *target
}

// forTask returns the object to write for task t and how to write it. The
// object's own sync options win over the Application's and the operation's.
// With RespectIgnoreDifferences the object is given the live values of the
// fields the ignoreDifferences rules name (see diff.KeepIgnored); an object
// that does not exist yet is written as git declares it.
func (r *Reconciler) forTask(ctx context.Context, t Task, w writeOptions) (*unstructured.Unstructured, applyOptions, error) {
	opts := append(append(app.SyncOptions{}, w.Options...), t.Policy.Options...)
	o := applyOptions{
		Force:           !opts.False(app.OptionServerSideApplyForce),
		Replace:         opts.True(app.OptionReplace),
		FieldValidation: validationStrict,
	}
	obj := t.Desired
	if t.Action != TaskApply || !w.Options.True(app.OptionRespectIgnoreDifferences) || len(w.Ignore) == 0 {
		return obj, o, nil
	}
	live, ok := w.dst.live.Get(t.Key)
	if !ok {
		live = t.Live
	}
	obj, err := diff.KeepIgnored(ctx, obj, live, w.Ignore)
	if err != nil {
		return nil, o, fmt.Errorf("RespectIgnoreDifferences: %w", err)
	}
	return obj, o, nil
}

// apply writes obj to dst with gyre's field manager: server-side apply, or with
// o.Replace a replace. An object with only generateName (a hook) is created
// instead.
func (r *Reconciler) apply(ctx context.Context, dst *target, obj *unstructured.Unstructured, o applyOptions) (*unstructured.Unstructured, error) {
	ri, err := dst.resourceFor(obj)
	if err != nil {
		return nil, err
	}
	var dryRun []string
	if o.DryRun {
		dryRun = []string{metav1.DryRunAll}
	}
	create := metav1.CreateOptions{FieldManager: r.opts.FieldManager, DryRun: dryRun, FieldValidation: o.FieldValidation}
	if obj.GetName() == "" {
		return ri.Create(ctx, obj, create)
	}
	if o.Replace {
		current, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return ri.Create(ctx, obj, create)
		}
		if err != nil {
			return nil, err
		}
		whole := obj.DeepCopy()
		whole.SetResourceVersion(current.GetResourceVersion())
		return ri.Update(ctx, whole, metav1.UpdateOptions{FieldManager: r.opts.FieldManager, DryRun: dryRun, FieldValidation: o.FieldValidation})
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, err
	}
	return ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
		FieldManager: r.opts.FieldManager, Force: &o.Force, DryRun: dryRun, FieldValidation: o.FieldValidation,
	})
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
	server      string
	key         app.ResourceKey
	desired     [sha256.Size]byte
	liveVersion string
}

// memoLimit bounds the memo; past it, it starts afresh.
const memoLimit = 20000

func newDryRunMemo() *dryRunMemo {
	return &dryRunMemo{answers: map[memoKey]*unstructured.Unstructured{}}
}

// runner returns the DryRunner diff uses for r's writes to dst.
func (m *dryRunMemo) runner(r *Reconciler, dst *target) diff.DryRunner {
	return diff.DryRunFunc(func(ctx context.Context, desired *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		data, err := json.Marshal(desired.Object)
		if err != nil {
			return nil, err
		}
		k := memoKey{server: dst.server, key: app.KeyOf(desired), desired: sha256.Sum256(data)}
		k.liveVersion, _ = dst.live.Version(k.key)
		m.mu.Lock()
		answer, ok := m.answers[k]
		m.mu.Unlock()
		if ok {
			return answer.DeepCopy(), nil
		}
		answer, err = r.apply(ctx, dst, desired, applyOptions{DryRun: true, Force: true})
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

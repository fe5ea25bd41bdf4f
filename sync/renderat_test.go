package sync

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	"github.com/gyre-cd/gyre/source"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// branch commits files on a new branch name of r, starting from the
// current commit of main, and returns to main: main does not move. It
// returns the branch's commit.
func (r *repo) branch(name string, files map[string]*string) string {
	r.t.Helper()
	wt, err := r.git.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(name), Create: true}); err != nil {
		r.t.Fatal(err)
	}
	sha := r.commit(files)
	if err := wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName("main"), Force: true}); err != nil {
		r.t.Fatal(err)
	}
	return sha
}

// setRef points the ref name (refs/pull/7/head, say) at sha.
func (r *repo) setRef(name, sha string) {
	r.t.Helper()
	if err := r.git.Storer.SetReference(plumbing.NewHashReference(plumbing.ReferenceName(name), plumbing.NewHash(sha))); err != nil {
		r.t.Fatal(err)
	}
}

// TestRenderAtAndDiffAt: a synced Application compared with a branch that
// changes, adds and removes an object shows the change, the create and the
// prune, by branch name and by a pull request's ref; the cluster is left
// as it was; RenderAt returns the branch's objects; an unknown ref is a
// clear error; an Application with two sources refuses a revision that
// does not say which source it is for.
func TestRenderAtAndDiffAt(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	base := r.commit(map[string]*string{
		"app/keep.yaml":   s(configMap("keep", "1")),
		"app/change.yaml": s(configMap("change", "1")),
		"app/gone.yaml":   s(configMap("gone", "1")),
		"other/cm.yaml":   s(configMap("other", "1")),
	})
	key := newApp(t, ns, "at", r, "app", nil)
	syncedAt(t, key, base)
	head := r.branch("feature", map[string]*string{
		"app/change.yaml": s(configMap("change", "2")),
		"app/fresh.yaml":  s(configMap("fresh", "1")),
		"app/gone.yaml":   nil,
	})
	r.setRef("refs/pull/7/head", head)

	for _, ref := range []string{"feature", "refs/pull/7/head", head[:12]} {
		t.Run("diff "+ref, func(t *testing.T) {
			results, rev, err := reconciler.DiffAt(ctx, key, ref)
			if err != nil {
				t.Fatal(err)
			}
			if rev != head {
				t.Errorf("compared revision %s, want the branch's %s", rev, head)
			}
			got := map[string]diff.Result{}
			for _, res := range results {
				got[res.Key.Name] = res
			}
			want := map[string]diff.Status{"keep": diff.InSync, "change": diff.OutOfSync, "fresh": diff.Missing, "gone": diff.Extraneous}
			if len(got) != len(want) {
				t.Errorf("results for %d objects, want %d: %+v", len(got), len(want), results)
			}
			for name, status := range want {
				if got[name].Status != status {
					t.Errorf("ConfigMap %s: %q (%s), want %s", name, got[name].Status, got[name].Message, status)
				}
			}
			if d := got["change"].Diff; !strings.Contains(d, `-  value: "1"`) || !strings.Contains(d, `+  value: "2"`) {
				t.Errorf("diff of the changed ConfigMap:\n%s", d)
			}
		})
	}

	// Dry runs only: the cluster and the Application are as they were.
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	if _, err := cms.Get(ctx, "fresh", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap fresh: %v, want not found", err)
	}
	if cm, err := cms.Get(ctx, "change", metav1.GetOptions{}); err != nil || cm.Data["value"] != "1" {
		t.Errorf("ConfigMap change: %v, %v; want value 1", err, cm.Data)
	}
	if _, err := cms.Get(ctx, "gone", metav1.GetOptions{}); err != nil {
		t.Errorf("ConfigMap gone: %v", err)
	}
	if a := getApp(t, key); a.Status.Sync.Revision != base {
		t.Errorf("the Application's revision moved to %s; a preview must not sync", a.Status.Sync.Revision)
	}

	t.Run("render", func(t *testing.T) {
		objs, rev, err := reconciler.RenderAt(ctx, key, "feature")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, o := range objs {
			names = append(names, o.GetKind()+"/"+o.GetName())
			if o.GetName() == "change" {
				if v, _, _ := unstructured.NestedString(o.Object, "data", "value"); v != "2" {
					t.Errorf("ConfigMap change renders value %q, want the branch's 2", v)
				}
			}
		}
		if rev != head || strings.Join(names, " ") != "ConfigMap/change ConfigMap/fresh ConfigMap/keep" {
			t.Errorf("RenderAt: %s at %s; want ConfigMap/change ConfigMap/fresh ConfigMap/keep at %s", names, rev, head)
		}
		if _, rev, err := reconciler.RenderAt(ctx, key, ""); err != nil || rev != base {
			t.Errorf("RenderAt with no revision: %s, %v; want the targetRevision's %s", rev, err, base)
		}
	})

	t.Run("unknown ref", func(t *testing.T) {
		_, _, err := reconciler.DiffAt(ctx, key, "no-such-branch")
		if !errors.Is(err, source.ErrRevisionNotFound) || !strings.Contains(err.Error(), "no-such-branch") {
			t.Errorf("err %v, want ErrRevisionNotFound naming no-such-branch", err)
		}
		if _, _, err := reconciler.RenderAt(ctx, key, "refs/pull/8/head"); !errors.Is(err, source.ErrRevisionNotFound) {
			t.Errorf("RenderAt of an unknown ref: err %v, want ErrRevisionNotFound", err)
		}
	})

	t.Run("two sources", func(t *testing.T) {
		two := newApp(t, ns, "two", r, "", func(a *app.Application) {
			a.Spec.Source = app.Source{}
			a.Spec.Sources = []app.Source{{RepoURL: r.dir, TargetRevision: "main", Path: "app"}, {RepoURL: r.dir, TargetRevision: "main", Path: "other"}}
			a.Spec.SyncPolicy = nil
		})
		clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
			_, ok := reconciler.Application(two)
			return ok, "the reconciler does not see the Application yet"
		})
		var re *RevisionError
		if _, _, err := reconciler.DiffAt(ctx, two, "feature"); !errors.As(err, &re) || !strings.Contains(err.Error(), "one revision per source") {
			t.Errorf("one revision for two sources: err %v, want a RevisionError", err)
		}
		_, rev, err := reconciler.RenderAt(ctx, two, "feature,")
		if err != nil || rev != head+","+base {
			t.Errorf("RenderAt feature,: %s, %v; want %s,%s", rev, err, head, base)
		}
	})

	t.Run("unknown application", func(t *testing.T) {
		if _, _, err := reconciler.DiffAt(ctx, types.NamespacedName{Namespace: ns, Name: "nope"}, "feature"); !errors.Is(err, ErrNotFound) {
			t.Errorf("err %v, want ErrNotFound", err)
		}
	})
}

// TestRefreshHardRenders: a chart whose render differs each time (a random
// token) is rendered once and then served from the render cache: a plain
// refresh compares the cached render and finds the Application Synced; a
// hard refresh (RefreshHard, the annotation gyre.dev/refresh=hard) renders
// again and finds the new token, so OutOfSync; the annotation is removed.
func TestRefreshHardRenders(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"chart/Chart.yaml":           s("apiVersion: v2\nname: random\nversion: 0.1.0\n"),
		"chart/templates/token.yaml": s("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: token\ndata:\n  token: {{ randAlphaNum 16 | quote }}\n"),
	})
	key := newApp(t, ns, "hard", r, "chart", func(a *app.Application) { a.Spec.SyncPolicy = nil })
	request(t, key, app.Operation{Sync: &app.SyncOperation{}})
	syncedAt(t, key, sha)

	refresh := func(value string) {
		t.Helper()
		before, _ := observed.counts(key)
		updateApp(t, key, func(a *app.Application) {
			if a.Annotations == nil {
				a.Annotations = map[string]string{}
			}
			a.Annotations[RefreshAnnotation] = value
		})
		clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
			n, _ := observed.counts(key)
			_, pending := getApp(t, key).Annotations[RefreshAnnotation]
			return n > before && !pending, fmt.Sprintf("refresh %q not taken: %d reconciles since, annotation still there %v", value, n-before, pending)
		})
	}
	refresh(time.Now().UTC().Format(time.RFC3339Nano))
	if a := getApp(t, key); a.Status.Sync.Status != app.Synced {
		t.Fatalf("after a plain refresh: %s; the cached render should still match what was applied", a.Status.Sync.Status)
	}
	refresh(RefreshHardValue)
	waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Status == app.OutOfSync, "a hard refresh did not render the random token again"
	})
}

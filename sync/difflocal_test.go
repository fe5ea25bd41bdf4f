package sync

import (
	"errors"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/admit"
	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	sigsyaml "sigs.k8s.io/yaml"
)

// secret is a Secret manifest whose key password holds the base64 value b64.
func secret(name, b64 string) string {
	return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + name + "\ntype: Opaque\ndata:\n  password: " + b64 + "\n"
}

// objects decodes manifests as a local render hands them to DiffObjects.
func objects(t testing.TB, manifests ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, m := range manifests {
		u := &unstructured.Unstructured{}
		if err := sigsyaml.Unmarshal([]byte(m), &u.Object); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// TestDiffObjects: a local render compared with a synced Application shows
// what a sync of it would create, change and prune, leaves alone what only
// ignoreDifferences fields separate, masks Secret values, reports an object
// the Project refuses as refused without a dry run of it, and writes
// nothing.
func TestDiffObjects(t *testing.T) {
	t.Parallel()
	ns, other := cluster.Namespace(t), cluster.Namespace(t)
	proj := "p-" + ns
	createProject(t, proj, app.ProjectSpec{
		SourceRepos:      []string{"*"},
		Destinations:     []app.ProjectDestination{{Server: "*", Namespace: ns}},
		SourceNamespaces: []string{ns},
	})
	const oldPass, newPass = "b2xkLXBhNTU=", "bmV3LXBhNTU=" // old-pa55, new-pa55
	keep := configMap("keep", "1")
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"app/keep.yaml":   s(keep),
		"app/change.yaml": s(configMap("change", "1")),
		"app/gone.yaml":   s(configMap("gone", "1")),
		"app/creds.yaml":  s(secret("creds", oldPass)),
	})
	key := newApp(t, ns, "local", r, "app", func(a *app.Application) {
		a.Spec.Project = proj
		a.Spec.IgnoreDifferences = []app.IgnoreDifference{{Kind: "ConfigMap", JSONPointers: []string{"/data/note"}}}
	})
	syncedAt(t, key, sha)

	t.Run("no change", func(t *testing.T) {
		objs := objects(t, keep, configMap("change", "1"), configMap("gone", "1"), secret("creds", oldPass))
		results, err := reconciler.DiffObjects(ctx, key, objs)
		if err != nil {
			t.Fatal(err)
		}
		if len(results) != 4 {
			t.Errorf("%d results, want 4: %+v", len(results), results)
		}
		for _, res := range results {
			if res.Status != diff.InSync {
				t.Errorf("%s: %s %s, want InSync\n%s", res.Key, res.Status, res.Message, res.Diff)
			}
		}
		if objs[0].GetNamespace() != "" || objs[0].GetAnnotations()[app.TrackingAnnotation] != "" {
			t.Errorf("DiffObjects modified its input: %v", objs[0].Object["metadata"])
		}
	})

	t.Run("changes", func(t *testing.T) {
		ignoredOnly := keep + "  note: only an ignored field differs\n"
		objs := objects(t,
			ignoredOnly,
			configMap("change", "2"),
			configMap("fresh", "1"),
			secret("creds", newPass),
			configMapIn("elsewhere", other),
		)
		results, err := reconciler.DiffObjects(ctx, key, objs)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]diff.Result{}
		for _, res := range results {
			got[res.Key.Kind+"/"+res.Key.Name] = res
		}
		want := map[string]diff.Status{
			"ConfigMap/keep": diff.InSync, "ConfigMap/change": diff.OutOfSync, "ConfigMap/fresh": diff.Missing,
			"ConfigMap/gone": diff.Extraneous, "Secret/creds": diff.OutOfSync, "ConfigMap/elsewhere": diff.Unknown,
		}
		if len(got) != len(want) {
			t.Errorf("results for %d objects, want %d: %+v", len(got), len(want), results)
		}
		for k, status := range want {
			if got[k].Status != status {
				t.Errorf("%s: %q (%s), want %s", k, got[k].Status, got[k].Message, status)
			}
		}
		if d := got["ConfigMap/change"].Diff; !strings.Contains(d, `-  value: "1"`) || !strings.Contains(d, `+  value: "2"`) {
			t.Errorf("diff of the changed ConfigMap:\n%s", d)
		}
		d := got["Secret/creds"].Diff
		for _, leak := range []string{oldPass, newPass, "old-pa55", "new-pa55"} {
			if strings.Contains(d, leak) {
				t.Errorf("the Secret's diff shows %q:\n%s", leak, d)
			}
		}
		if !strings.Contains(d, "++++++++") {
			t.Errorf("the Secret's diff shows no masked change:\n%s", d)
		}

		refused := got["ConfigMap/elsewhere"]
		var v *admit.Violation
		if !errors.As(refused.Err, &v) || v.Rule != admit.RuleDestinations || !strings.Contains(refused.Message, "(destinations)") {
			t.Errorf("the object outside the Project's destinations: err %v, message %q; want a destinations refusal", refused.Err, refused.Message)
		}
		if refused.DryRun || refused.Predicted != nil || refused.Diff != "" {
			t.Errorf("the refused object was dry-run: %+v", refused)
		}

		// Dry runs only: nothing was created, changed or deleted.
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
		if _, err := cluster.Client.CoreV1().ConfigMaps(other).Get(ctx, "elsewhere", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("ConfigMap elsewhere: %v, want not found", err)
		}
	})

	t.Run("unknown application", func(t *testing.T) {
		_, err := reconciler.DiffObjects(ctx, types.NamespacedName{Namespace: ns, Name: "nope"}, nil)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("err %v, want ErrNotFound", err)
		}
	})
}

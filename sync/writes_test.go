package sync

import (
	"fmt"
	"testing"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func serviceAccount(name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: %s\n", name)
}

// TestFirstSyncRequests counts what a new automated Application of four
// objects, deploying to a namespace it creates, costs the API server: the
// comparison rides on the sync's first status write and the comparison
// after the sync on its last, made once the Deployment's controller has
// observed it (no write of its own, no health write after it, and no read
// of the Application back); the objects of a namespace that does not exist yet
// are not read one by one; each object is dry-run once and applied once.
// Then a look at the synced, unchanged Application writes nothing and
// dry-runs nothing.
func TestFirstSyncRequests(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	dst := ns + "-dst"
	t.Cleanup(func() { cluster.Client.CoreV1().Namespaces().Delete(ctx, dst, metav1.DeleteOptions{}) })
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"app/sa.yaml":     s(serviceAccount("web")),
		"app/svc.yaml":    s(service("web")),
		"app/cm.yaml":     s(configMap("web", "1")),
		"app/deploy.yaml": s(deployment("web", "nginx", 0)),
	})
	key := newApp(t, ns, "first", r, "app", func(a *app.Application) {
		automated("CreateNamespace=true")(a)
		a.Spec.Destination.Namespace = dst
	})
	a := syncedAt(t, key, sha)

	own, objs := requests.inNamespace(ns), requests.inNamespace(dst)
	// Running (with the comparison), and Succeeded with the comparison
	// after the sync, made once the Deployment's controller had observed
	// it: Healthy, with no write of its own to follow.
	if n := own["STATUS"]; n != 2 {
		t.Errorf("%d status writes, want 2 (requests %v)", n, own)
	}
	if own["GET"] != 0 {
		t.Errorf("the Application was read back %d times (requests %v)", own["GET"], own)
	}
	if objs["GET"] != 1 {
		t.Errorf("%d reads in the new namespace, want one, of the namespace (requests %v)", objs["GET"], objs)
	}
	if objs["DRYRUN"] != 4 || objs["PATCH"] != 5 {
		t.Errorf("%d dry runs and %d applies, want 4 and 5: the objects and the namespace (requests %v)", objs["DRYRUN"], objs["PATCH"], objs)
	}
	if h := a.Status.History; len(h) != 1 || h[0].Revision != sha {
		t.Errorf("history %+v, want one sync of %s", h, app.ShortRevision(sha))
	}

	// Three looks at the unchanged Application, as resyncs make them,
	// write nothing and request nothing of its objects.
	before := requests.inNamespace(dst)
	for range 3 {
		if _, err := reconciler.reconcile(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	after := requests.inNamespace(dst)
	for _, kind := range []string{"DRYRUN", "PATCH", "PUT", "POST", "DELETE", "GET", "STATUS"} {
		if after[kind] != before[kind] {
			t.Errorf("three looks at an unchanged app made %d %s requests", after[kind]-before[kind], kind)
		}
	}
	if n := requests.inNamespace(ns)["STATUS"] - own["STATUS"]; n != 0 {
		t.Errorf("%d status writes after the sync, want none", n)
	}
}

// TestWaveAppliesTiersInOrder syncs one wave of many objects of several
// kinds, which are applied a tier at a time (see applyTier): a RoleBinding
// comes after the Role it grants, and the change set keeps the plan's kind
// order whatever order the concurrent writes finished in.
func TestWaveAppliesTiersInOrder(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	r := newRepo(t)
	files := map[string]*string{
		"app/role.yaml": s("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: reader\nrules:\n- apiGroups: ['']\n  resources: [configmaps]\n  verbs: [get]\n"),
		"app/binding.yaml": s("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: reader\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}\n" +
			"subjects:\n- {kind: ServiceAccount, name: web}\n"),
		"app/sa.yaml":  s(serviceAccount("web")),
		"app/svc.yaml": s(service("web")),
	}
	for i := range 12 {
		files[fmt.Sprintf("app/cm-%02d.yaml", i)] = s(configMap(fmt.Sprintf("cm-%02d", i), "1"))
	}
	sha := r.commit(files)
	key := newApp(t, ns, "tiers", r, "app", nil)
	a := syncedAt(t, key, sha)
	var kinds []string
	for _, c := range a.Status.OperationState.SyncResult.Resources {
		if c.Action != app.ActionCreated {
			t.Errorf("%s/%s: %s %s", c.Kind, c.Name, c.Action, c.Message)
		}
		if len(kinds) == 0 || kinds[len(kinds)-1] != c.Kind {
			kinds = append(kinds, c.Kind)
		}
	}
	want := []string{"ServiceAccount", "ConfigMap", "Role", "RoleBinding", "Service"}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("change set in kind order %v, want %v", kinds, want)
	}
}

func TestApplyTiers(t *testing.T) {
	tier := func(group, kind string) int {
		return applyTier(Task{Key: app.ResourceKey{Group: group, Kind: kind}})
	}
	// Each kind must come in a later tier than the one it may depend on.
	for _, pair := range [][2]schema.GroupKind{
		{{Kind: "Namespace"}, {Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}},
		{{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}, {Kind: "ConfigMap"}},
		{{Group: "rbac.authorization.k8s.io", Kind: "Role"}, {Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}},
		{{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}, {Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}},
		{{Kind: "ServiceAccount"}, {Group: "apps", Kind: "Deployment"}},
		{{Group: "example.com", Kind: "Gadget"}, {Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}},
		{{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"}, {Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"}},
	} {
		if a, b := tier(pair[0].Group, pair[0].Kind), tier(pair[1].Group, pair[1].Kind); a >= b {
			t.Errorf("%s is in tier %d, not before %s in tier %d", pair[0], a, pair[1], b)
		}
	}
	// Kinds without a dependency between them share a tier.
	if tier("", "Service") != tier("apps", "Deployment") || tier("", "ConfigMap") != tier("", "Secret") {
		t.Error("independent kinds are in different tiers")
	}
}

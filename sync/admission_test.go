package sync

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// createProject creates a Project in gyre's own namespace (the Reconciler's
// SystemNamespace) and removes it when the test ends.
func createProject(t testing.TB, name string, spec app.ProjectSpec) {
	t.Helper()
	ns := reconciler.opts.SystemNamespace
	_, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	p := &app.Project{TypeMeta: metav1.TypeMeta{APIVersion: app.SchemeGroupVersion().String(), Kind: app.ProjectKind}, ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(p)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	projects := cluster.Dynamic.Resource(app.ProjectGroupVersionResource()).Namespace(ns)
	if _, err := projects.Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { projects.Delete(ctx, name, metav1.DeleteOptions{}) })
	// The watch must have it before an Application is compared against it.
	clustertest.Eventually(t, 10*time.Second, func() (bool, string) {
		_, ok := reconciler.Project(name)
		return ok, "project not seen by the reconciler"
	})
}

// updateProject replaces a Project's spec.
func updateProject(t testing.TB, name string, spec app.ProjectSpec) {
	t.Helper()
	projects := cluster.Dynamic.Resource(app.ProjectGroupVersionResource()).Namespace(reconciler.opts.SystemNamespace)
	u, err := projects.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&spec)
	if err != nil {
		t.Fatal(err)
	}
	u.Object["spec"] = m
	if _, err := projects.Update(ctx, u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// condition returns the message of a's condition of type ct, or "".
func condition(a *app.Application, ct app.ConditionType) string {
	for _, c := range a.Status.Conditions {
		if c.Type == ct {
			return c.Message
		}
	}
	return ""
}

// hasCondition waits until a condition of type ct whose message holds every
// one of parts is on the Application.
func hasCondition(t testing.TB, key types.NamespacedName, ct app.ConditionType, parts ...string) *app.Application {
	t.Helper()
	return waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		msg := condition(a, ct)
		if msg == "" {
			return false, fmt.Sprintf("no %s condition", ct)
		}
		for _, p := range parts {
			if !strings.Contains(msg, p) {
				return false, fmt.Sprintf("%s condition %q lacks %q", ct, msg, p)
			}
		}
		return true, ""
	})
}

func configMapIn(name, namespace string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  a: b\n", name, namespace)
}

const clusterRole = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: %s
rules: []
`

// TestProjectRefusesTheWholeSync: a render with one object outside the
// Project's destinations and one cluster-scoped kind it does not list
// writes nothing at all, says which object broke which rule, and is never
// Synced; once the Project allows both, the same commit syncs without a
// restart.
func TestProjectRefusesTheWholeSync(t *testing.T) {
	t.Parallel()
	ns, other := cluster.Namespace(t), cluster.Namespace(t)
	proj := "p-" + ns
	role := "gyre-test-" + ns
	spec := app.ProjectSpec{
		SourceRepos:      []string{"*"},
		Destinations:     []app.ProjectDestination{{Server: "*", Namespace: ns}},
		SourceNamespaces: []string{ns},
	}
	createProject(t, proj, spec)
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"app/ok.yaml":    s(configMap("ok", "1")),
		"app/other.yaml": s(configMapIn("elsewhere", other)),
		"app/role.yaml":  s(fmt.Sprintf(clusterRole, role)),
	})
	key := newApp(t, ns, "tenant", r, "app", func(a *app.Application) { a.Spec.Project = proj })
	a := hasCondition(t, key, app.ConditionPermissionDeniedError,
		"ConfigMap/"+other+"/elsewhere", "(destinations)", "ClusterRole", "(clusterResourceWhitelist)")
	if a.Status.Sync.Status == app.Synced {
		t.Fatal("an app with refused objects is reported Synced")
	}
	var messages []string
	for _, res := range a.Status.Resources {
		if res.Message != "" {
			messages = append(messages, res.Kind+"/"+res.Name+": "+res.Message)
		}
	}
	if len(messages) != 2 {
		t.Errorf("resources with a refusal: %q, want the ConfigMap elsewhere and the ClusterRole", messages)
	}
	// A manual sync is refused too, and records why.
	request(t, key, app.Operation{Sync: &app.SyncOperation{}, InitiatedBy: app.InitiatedBy{Username: "test"}})
	a = waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		op := a.Status.OperationState
		return op != nil && op.Phase == app.OperationFailed && strings.Contains(op.Message, "nothing was applied"), "manual sync not refused"
	})
	for _, get := range []func() error{
		func() error {
			_, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "ok", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := cluster.Client.CoreV1().ConfigMaps(other).Get(ctx, "elsewhere", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := cluster.Client.RbacV1().ClusterRoles().Get(ctx, role, metav1.GetOptions{})
			return err
		},
	} {
		if err := get(); !apierrors.IsNotFound(err) {
			t.Errorf("an object of a refused sync was written (get: %v)", err)
		}
	}

	// The Project changes; the app syncs the same commit, no restart.
	spec.Destinations = append(spec.Destinations, app.ProjectDestination{Name: "in-cluster", Namespace: other})
	spec.ClusterResourceWhitelist = []app.GroupKind{{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}}
	updateProject(t, proj, spec)
	t.Cleanup(func() { cluster.Client.RbacV1().ClusterRoles().Delete(ctx, role, metav1.DeleteOptions{}) })
	waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		return condition(a, app.ConditionPermissionDeniedError) == "", "refusal still shown after the Project changed"
	})
	// The failed manual sync stands until someone syncs again.
	request(t, key, app.Operation{Sync: &app.SyncOperation{}, InitiatedBy: app.InitiatedBy{Username: "test"}})
	a = syncedAt(t, key, sha)
	if msg := condition(a, app.ConditionPermissionDeniedError); msg != "" {
		t.Errorf("condition left behind: %s", msg)
	}
}

// TestProjectGuardsTheApplication: a Project that does not exist, a
// repository the Project does not list, a destination it does not allow and
// an Application namespace not in its sourceNamespaces each leave the app
// refused with a condition naming the rule, and nothing written.
func TestProjectGuardsTheApplication(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	proj := "g-" + ns
	createProject(t, proj, app.ProjectSpec{
		SourceRepos:      []string{"https://git.example.com/allowed/*"},
		Destinations:     []app.ProjectDestination{{Server: "*", Namespace: "*"}},
		SourceNamespaces: []string{"not-" + ns},
	})
	r := newRepo(t)
	r.commit(map[string]*string{"app/c.yaml": s(configMap("c", "1"))})
	tests := []struct {
		name    string
		project string
		want    string
	}{
		{"missing", "no-such-project-" + ns, "does not exist (project)"},
		{"namespace", proj, "(sourceNamespaces)"},
	}
	for _, tt := range tests {
		key := newApp(t, ns, tt.name, r, "app", func(a *app.Application) { a.Spec.Project = tt.project })
		a := hasCondition(t, key, app.ConditionPermissionDeniedError, tt.want)
		if a.Status.Sync.Status == app.Synced {
			t.Errorf("%s: refused app reported Synced", tt.name)
		}
	}
	// In gyre's own namespace the sourceNamespaces rule does not apply, so
	// the repository rule is the one that refuses.
	sys := reconciler.opts.SystemNamespace
	key := newApp(t, sys, "repo-"+ns, r, "app", func(a *app.Application) { a.Spec.Project = proj; a.Spec.Destination.Namespace = ns })
	t.Cleanup(func() {
		cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(sys).Delete(ctx, key.Name, metav1.DeleteOptions{})
	})
	hasCondition(t, key, app.ConditionPermissionDeniedError, "does not allow repository", "(sourceRepos)")
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "c", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a refused app wrote its ConfigMap (get: %v)", err)
	}
}

// TestObjectsGyreNeverWrites: whatever the repository says and whatever
// the (default, allow-all) Project allows, an Application never writes
// gyre's own CRDs, never puts anything but Applications and Projects in
// gyre's own namespace, and never replaces an object another Application
// tracks — neither by applying it nor as a hook.
func TestObjectsGyreNeverWrites(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	crdBefore, err := cluster.Dynamic.Resource(crdResource).Get(ctx, "applications.gyre.dev", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := newRepo(t)
	owned := r.commit(map[string]*string{"owner/c.yaml": s(configMap("owned", "mine"))})
	owner := newApp(t, ns, "owner", r, "owner", nil)
	syncedAt(t, owner, owned)
	cmBefore, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "owned", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	hostileCRD := strings.Replace(string(app.CRD()), "shortNames: [gapp, gyreapp]", "shortNames: [gapp, gyreapp, pwned]", 1)
	hookAnnotations := "  annotations:\n    argocd.argoproj.io/hook: PreSync\n    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation\n"
	tests := []struct {
		name  string
		files map[string]*string
		want  []string
	}{
		{"crd", map[string]*string{"crd/crd.yaml": s(hostileCRD), "crd/c.yaml": s(configMap("x", "1"))}, []string{"applications.gyre.dev", "(gyre-crd)"}},
		{"crd-hook", map[string]*string{"crd-hook/crd.yaml": s(strings.Replace(hostileCRD, "  name: applications.gyre.dev\n", "  name: applications.gyre.dev\n"+hookAnnotations, 1))}, []string{"applications.gyre.dev", "(gyre-crd)"}},
		{"system-namespace", map[string]*string{"system-namespace/s.yaml": s(fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: tokens-%s\n  namespace: %s\nstringData:\n  admin.evil: x\n", ns, reconciler.opts.SystemNamespace))}, []string{"(gyre-namespace)"}},
		{"other-app", map[string]*string{"other-app/c.yaml": s(configMap("owned", "stolen"))}, []string{"tracked by Application " + ns + "/owner"}},
		{"other-app-hook", map[string]*string{"other-app-hook/plain.yaml": s(configMap("plain-"+ns, "1")), "other-app-hook/c.yaml": s("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\n" + hookAnnotations + "data:\n  value: stolen\n")}, []string{"tracked by Application " + ns + "/owner"}},
	}
	all := map[string]*string{}
	for _, tt := range tests {
		for k, v := range tt.files {
			all[k] = v
		}
	}
	r.commit(all)
	r.push()
	for _, tt := range tests {
		key := newApp(t, ns, tt.name, r, tt.name, nil)
		ct := app.ConditionPermissionDeniedError
		if strings.HasPrefix(tt.name, "other-app") && tt.name != "other-app-hook" {
			ct = app.ConditionSharedResourceWarning
		}
		if tt.name == "other-app-hook" {
			// A hook is checked when a sync is about to run it.
			waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
				op := a.Status.OperationState
				return op != nil && op.Phase == app.OperationFailed && strings.Contains(op.Message, tt.want[0]), "hook not refused"
			})
			continue
		}
		a := hasCondition(t, key, ct, tt.want...)
		if a.Status.Sync.Status == app.Synced {
			t.Errorf("%s: reported Synced", tt.name)
		}
	}
	crdAfter, err := cluster.Dynamic.Resource(crdResource).Get(ctx, "applications.gyre.dev", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if crdAfter.GetUID() != crdBefore.GetUID() || strings.Contains(fmt.Sprint(crdAfter.Object["spec"]), "pwned") {
		t.Error("the Application CRD was replaced or changed by an Application")
	}
	if _, err := cluster.Client.CoreV1().Secrets(reconciler.opts.SystemNamespace).Get(ctx, "tokens-"+ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Secret was written into gyre's own namespace (get: %v)", err)
	}
	cmAfter, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "owned", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cmAfter.UID != cmBefore.UID || cmAfter.Data["value"] != "mine" || cmAfter.Annotations[app.TrackingAnnotation] != cmBefore.Annotations[app.TrackingAnnotation] {
		t.Errorf("another app's ConfigMap was replaced or changed: uid %s→%s data %v tracking %q", cmBefore.UID, cmAfter.UID, cmAfter.Data, cmAfter.Annotations[app.TrackingAnnotation])
	}
}

// TestHookNeverReplacesAnUntrackedObject: a hook named like an object that
// a person made (no tracking id) does not delete and recreate it.
func TestHookNeverReplacesAnUntrackedObject(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	byHand, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "precious"}, Data: map[string]string{"v": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := newRepo(t)
	r.commit(map[string]*string{
		"app/hook.yaml": s("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: precious\n  annotations:\n    helm.sh/hook: pre-install\ndata:\n  v: replaced\n"),
		"app/c.yaml":    s(configMap("c", "1")),
	})
	key := newApp(t, ns, "hooker", r, "app", nil)
	waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		op := a.Status.OperationState
		return op != nil && op.Phase == app.OperationFailed && strings.Contains(op.Message, "not a previous run of this hook"), "hook not refused"
	})
	got, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "precious", metav1.GetOptions{})
	if err != nil || got.UID != byHand.UID || got.Data["v"] != "1" {
		t.Fatalf("the hand-made object was replaced: %v %v", got, err)
	}
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "c", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the sync went on after refusing the hook (get: %v)", err)
	}
}

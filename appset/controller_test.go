package appset

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/source"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// wait is how long a test waits for the controller and the API server.
const waitTimeout = 30 * time.Second

// startController runs a Controller over namespace ns until the test ends.
func startController(t *testing.T, ns string, opts Options) *Controller {
	t.Helper()
	opts.Namespace = ns
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := New(kube.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := c.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { c.Work(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	t.Cleanup(func() { releaseApps(ns) }) // runs first: the namespace can go
	return c
}

// releaseApps drops the finalizers of the Applications in ns, which no
// reconcile loop runs here to honour.
func releaseApps(ns string) {
	ctx := context.Background()
	apps := kube.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns)
	list, err := apps.List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, a := range list.Items {
		if len(a.GetFinalizers()) > 0 {
			apps.Patch(ctx, a.GetName(), types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		}
	}
}

// applySet creates or replaces the ApplicationSet of manifest (YAML) in ns.
func applySet(t *testing.T, ns, manifest string) {
	t.Helper()
	applyManifest(t, ns, manifest)
}

// applyManifest is applySet for any test or benchmark.
func applyManifest(t testing.TB, ns, manifest string) {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &obj.Object); err != nil {
		t.Fatal(err)
	}
	obj.SetNamespace(ns)
	sets := kube.Dynamic.Resource(GroupVersionResource()).Namespace(ns)
	if _, err := sets.Apply(context.Background(), obj.GetName(), obj, metav1.ApplyOptions{FieldManager: "test", Force: true}); err != nil {
		t.Fatalf("apply ApplicationSet %s: %v", obj.GetName(), err)
	}
}

// apps returns the Applications in ns by name.
func apps(t *testing.T, ns string) map[string]*app.Application {
	t.Helper()
	list, err := kube.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*app.Application{}
	for i := range list.Items {
		a, err := app.FromUnstructured(&list.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		out[a.Name] = a
	}
	return out
}

// names lists the Applications in ns that are not being deleted.
func names(t *testing.T, ns string) []string {
	t.Helper()
	var out []string
	for n, a := range apps(t, ns) {
		if a.DeletionTimestamp == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// waitNames waits until the Applications in ns not being deleted are want.
func waitNames(t *testing.T, ns string, want ...string) time.Duration {
	t.Helper()
	return testsupport.Eventually(t, waitTimeout, func() (bool, string) {
		got := names(t, ns)
		return slices.Equal(got, want), fmt.Sprintf("Applications %v, want %v", got, want)
	})
}

// getSet reads an ApplicationSet.
func getSet(t *testing.T, ns, name string) *ApplicationSet {
	t.Helper()
	u, err := kube.Dynamic.Resource(GroupVersionResource()).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := FromUnstructured(u)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func cond(s *ApplicationSet, typ ConditionType) Condition {
	for _, c := range s.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return Condition{}
}

// waitCondition waits until the set's condition typ has status and a
// message containing msg.
func waitCondition(t *testing.T, ns, name string, typ ConditionType, status, msg string) Condition {
	t.Helper()
	var c Condition
	testsupport.Eventually(t, waitTimeout, func() (bool, string) {
		c = cond(getSet(t, ns, name), typ)
		return c.Status == status && strings.Contains(c.Message, msg), fmt.Sprintf("%s = %s %q, want %s containing %q", typ, c.Status, c.Message, status, msg)
	})
	return c
}

// listSet is an ApplicationSet with a list generator of names.
func listSet(name, policy string, preserve bool, extra string, elems ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: gyre.dev/v1alpha1
kind: ApplicationSet
metadata:
  name: %s
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  syncPolicy:
    preserveResourcesOnDeletion: %v
`, name, preserve)
	if policy != "" {
		fmt.Fprintf(&b, "    applicationsSync: %s\n", policy)
	}
	b.WriteString("  generators:\n  - list:\n      elements:\n")
	for _, e := range elems {
		fmt.Fprintf(&b, "      - {name: %s}\n", e)
	}
	b.WriteString(`  template:
    metadata:
      name: '{{ .name }}'
      labels: {generated-by: '{{ .name }}-set'}
    spec:
      project: default
      source:
        repoURL: https://git.example.com/apps.git
        path: 'apps/{{ .name }}'
` + extra + `      destination:
        namespace: '{{ .name }}'
`)
	return b.String()
}

// TestListGeneratorLifecycle: a list generator's Applications are created
// with an owner reference and the resources finalizer, follow the
// template, go when their element goes, and are listed in the status.
func TestListGeneratorLifecycle(t *testing.T) {
	ns := kube.Namespace(t)
	startController(t, ns, Options{})
	applySet(t, ns, listSet("guestbooks", "", false, "", "a", "b"))
	waitNames(t, ns, "a", "b")
	set := getSet(t, ns, "guestbooks")
	a := apps(t, ns)["a"]
	ref := metav1.GetControllerOf(a)
	if ref == nil || ref.UID != set.UID || ref.Kind != "ApplicationSet" || !*ref.BlockOwnerDeletion {
		t.Errorf("owner = %+v", ref)
	}
	if !slices.Contains(a.Finalizers, app.ResourcesFinalizer) || a.Spec.Source.Path != "apps/a" || a.Labels["generated-by"] != "a-set" {
		t.Errorf("a = %v %+v %v", a.Finalizers, a.Spec.Source, a.Labels)
	}
	waitCondition(t, ns, "guestbooks", ConditionResourcesUpToDate, "True", "")
	testsupport.Eventually(t, waitTimeout, func() (bool, string) {
		st := getSet(t, ns, "guestbooks").Status
		return len(st.Resources) == 2 && st.Resources[0].Name == "a" && st.Resources[1].Name == "b", fmt.Sprintf("resources %+v", st.Resources)
	})

	// Someone labels a; the set's next write keeps that label.
	if _, err := kube.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns).Patch(context.Background(), "a", types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"team":"blue"}}}`), metav1.PatchOptions{FieldManager: "someone"}); err != nil {
		t.Fatal(err)
	}
	// b's element goes, c's comes, the template changes and drops a label.
	applySet(t, ns, strings.Replace(listSet("guestbooks", "", false, "        targetRevision: v2\n", "a", "c"), "      labels: {generated-by: '{{ .name }}-set'}\n", "", 1))
	waitNames(t, ns, "a", "c")
	testsupport.Eventually(t, waitTimeout, func() (bool, string) {
		a := apps(t, ns)["a"]
		return a.Spec.Source.TargetRevision == "v2" && a.Labels["generated-by"] == "" && a.Labels["team"] == "blue",
			fmt.Sprintf("a: revision %q, labels %v", a.Spec.Source.TargetRevision, a.Labels)
	})
	if b := apps(t, ns)["b"]; b == nil || b.DeletionTimestamp == nil || !slices.Contains(b.Finalizers, app.ResourcesFinalizer) {
		t.Errorf("b is not being deleted with its resources: %+v", b)
	}
	testsupport.Eventually(t, waitTimeout, func() (bool, string) {
		st := getSet(t, ns, "guestbooks").Status
		var got []string
		for _, r := range st.Resources {
			got = append(got, r.Name)
		}
		return slices.Equal(got, []string{"a", "c"}), fmt.Sprintf("status lists %v", got)
	})

	// An Application deleted by hand comes back.
	releaseApps(ns)
	if err := kube.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns).Delete(context.Background(), "c", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, waitTimeout, func() (bool, string) {
		c := apps(t, ns)["c"]
		return c != nil && c.DeletionTimestamp == nil && c.CreationTimestamp.After(time.Now().Add(-time.Minute)), fmt.Sprintf("c = %v", c)
	})
}

// TestPolicies: create-only, create-update and create-delete each leave
// out what they say.
func TestPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy         string
		updated, keptB bool
	}{
		{"create-only", false, true},
		{"create-update", true, true},
		{"create-delete", false, false},
		{"sync", true, false},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			ns := kube.Namespace(t)
			startController(t, ns, Options{})
			applySet(t, ns, listSet("s", tc.policy, true, "", "a", "b"))
			waitNames(t, ns, "a", "b")
			applySet(t, ns, listSet("s", tc.policy, true, "        targetRevision: v2\n", "a", "c"))
			want := []string{"a", "c"}
			if tc.keptB {
				want = []string{"a", "b", "c"}
			}
			waitNames(t, ns, want...)
			if tc.updated {
				testsupport.Eventually(t, waitTimeout, func() (bool, string) {
					rev := apps(t, ns)["a"].Spec.Source.TargetRevision
					return rev == "v2", "a's revision is " + rev
				})
			} else {
				c := waitCondition(t, ns, "s", ConditionResourcesUpToDate, "False", "kept as they are by the policy: a")
				if rev := apps(t, ns)["a"].Spec.Source.TargetRevision; rev != "" {
					t.Errorf("policy %s updated a to %q (%s)", tc.policy, rev, c.Message)
				}
			}
		})
	}
}

// TestPreserveResourcesOnDeletion: with it, generated Applications carry
// no resources finalizer, and one that had it (made before the policy
// changed) loses it before it is deleted, so what it deployed stays.
func TestPreserveResourcesOnDeletion(t *testing.T) {
	ns := kube.Namespace(t)
	startController(t, ns, Options{})
	applySet(t, ns, listSet("s", "", false, "", "a", "b"))
	waitNames(t, ns, "a", "b")
	if !slices.Contains(apps(t, ns)["b"].Finalizers, app.ResourcesFinalizer) {
		t.Fatal("b has no resources finalizer")
	}
	applySet(t, ns, listSet("s", "", true, "", "a"))
	testsupport.Eventually(t, waitTimeout, func() (bool, string) {
		all := apps(t, ns)
		_, bThere := all["b"]
		return !bThere && len(all["a"].Finalizers) == 0, fmt.Sprintf("b there: %v; a's finalizers %v", bThere, all["a"].Finalizers)
	})
}

// TestConflicts: an Application made by hand, or owned by another set, is
// reported and never overwritten.
func TestConflicts(t *testing.T) {
	ns := kube.Namespace(t)
	startController(t, ns, Options{})
	byHand := &app.Application{Spec: app.Spec{Source: app.Source{RepoURL: "https://mine.example.com/r.git"}, Destination: app.Destination{Namespace: "mine"}}}
	byHand.Name, byHand.Namespace = "a", ns
	u, err := byHand.ToUnstructured()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kube.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	applySet(t, ns, listSet("first", "", true, "", "a", "b"))
	waitCondition(t, ns, "first", ConditionErrorOccurred, "True", "Application "+ns+"/a already exists and was not generated by this ApplicationSet")
	applySet(t, ns, listSet("second", "", true, "", "b", "c"))
	waitCondition(t, ns, "second", ConditionErrorOccurred, "True", "Application "+ns+"/b already exists and belongs to ApplicationSet first")
	waitNames(t, ns, "a", "b", "c")
	all := apps(t, ns)
	if all["a"].Spec.Source.RepoURL != "https://mine.example.com/r.git" || len(all["a"].OwnerReferences) != 0 {
		t.Errorf("a was taken over: %+v %v", all["a"].Spec.Source, all["a"].OwnerReferences)
	}
	if ref := metav1.GetControllerOf(all["b"]); ref == nil || ref.Name != "first" || len(all["b"].OwnerReferences) != 1 {
		t.Errorf("b's owners = %v", all["b"].OwnerReferences)
	}
	// The conflicting set stops generating b: it must not delete first's.
	applySet(t, ns, listSet("second", "", true, "", "c"))
	waitCondition(t, ns, "second", ConditionErrorOccurred, "False", "")
	if names := names(t, ns); !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("Applications = %v", names)
	}
}

// TestHostileTemplates: a set cannot write into another namespace, and a
// template error or a name the API server refuses deletes nothing.
func TestHostileTemplates(t *testing.T) {
	ns := kube.Namespace(t)
	other := kube.Namespace(t)
	startController(t, ns, Options{})
	applySet(t, ns, strings.Replace(listSet("s", "", true, "", "a"), "      name: '{{ .name }}'\n", "      name: '{{ .name }}'\n      namespace: "+other+"\n", 1))
	waitCondition(t, ns, "s", ConditionErrorOccurred, "True", "an ApplicationSet creates Applications in its own namespace")
	if got := names(t, other); len(got) != 0 {
		t.Errorf("the set wrote into %s: %v", other, got)
	}
	if got := names(t, ns); len(got) != 0 {
		t.Errorf("Applications %v", got)
	}

	applySet(t, ns, listSet("s", "", true, "", "a", "b"))
	waitNames(t, ns, "a", "b")
	// b's element lacks what the template needs (missingkey=error), and c's
	// name is not one the API server takes: a stays, b is not deleted.
	bad := listSet("s", "", true, "        targetRevision: '{{ .rev }}'\n", "a", "b", "Not_A_Name")
	bad = strings.NewReplacer("- {name: a}", "- {name: a, rev: v3}", "- {name: Not_A_Name}", "- {name: Not_A_Name, rev: v3}").Replace(bad)
	applySet(t, ns, bad)
	c := waitCondition(t, ns, "s", ConditionErrorOccurred, "True", `map has no entry for key "rev"`)
	waitCondition(t, ns, "s", ConditionErrorOccurred, "True", "Not_A_Name")
	if !strings.Contains(c.Message, "template.spec.source.targetRevision") {
		t.Errorf("the message does not name the field: %s", c.Message)
	}
	testsupport.Eventually(t, waitTimeout, func() (bool, string) {
		rev := apps(t, ns)["a"].Spec.Source.TargetRevision
		return rev == "v3", "a's revision is " + rev
	})
	if got := names(t, ns); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Applications %v, want a and b kept", got)
	}
	// fasttemplate is refused by name.
	applySet(t, ns, strings.Replace(listSet("s", "", true, "", "a"), "goTemplate: true", "goTemplate: false", 1))
	waitCondition(t, ns, "s", ConditionParametersGenerated, "False", "goTemplate must be true")
	if got := names(t, ns); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Applications %v after a refused set", got)
	}
}

// TestDeletingTheSetDeletesItsApps: garbage collection follows the owner
// references.
func TestDeletingTheSetDeletesItsApps(t *testing.T) {
	ns := kube.Namespace(t)
	startController(t, ns, Options{})
	applySet(t, ns, listSet("s", "", true, "", "a", "b"))
	waitNames(t, ns, "a", "b")
	if err := kube.Dynamic.Resource(GroupVersionResource()).Namespace(ns).Delete(context.Background(), "s", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, waitTimeout, func() (bool, string) {
		all := apps(t, ns)
		return len(all) == 0, fmt.Sprintf("%d Applications left", len(all))
	})
}

// TestClusterGeneratorFollowsRegistry: a cluster Secret that is added
// generates its Application without a restart.
func TestClusterGeneratorFollowsRegistry(t *testing.T) {
	ns := kube.Namespace(t)
	reg := testRegistry(clusterSecret("c1", "https://c1.example.com", map[string]string{"env": "prod"}))
	startController(t, ns, Options{Clusters: reg, Resync: time.Hour})
	applySet(t, ns, `apiVersion: gyre.dev/v1alpha1
kind: ApplicationSet
metadata: {name: fleet}
spec:
  goTemplate: true
  syncPolicy: {preserveResourcesOnDeletion: true}
  generators:
  - clusters:
      selector: {matchLabels: {env: prod}}
      values: {tier: 'gold-{{ .name }}'}
  template:
    metadata: {name: 'guestbook-{{ .name }}'}
    spec:
      source: {repoURL: https://git.example.com/apps.git, path: guestbook}
      destination: {server: '{{ .server }}', namespace: '{{ .values.tier }}'}
`)
	waitNames(t, ns, "guestbook-c1")
	if d := apps(t, ns)["guestbook-c1"].Spec.Destination; d.Server != "https://c1.example.com" || d.Namespace != "gold-c1" {
		t.Errorf("destination = %+v", d)
	}
	reg.Set([]*corev1.Secret{
		clusterSecret("c1", "https://c1.example.com", map[string]string{"env": "prod"}),
		clusterSecret("c2", "https://c2.example.com", map[string]string{"env": "prod"}),
	})
	waitNames(t, ns, "guestbook-c1", "guestbook-c2")
}

// TestGitPushCreatesApp: a folder pushed to a repository served over HTTP
// becomes an Application once the webhook refreshes the repository in the
// shared cache; neither the cache's poll (an hour) nor the set's resync
// (an hour) could have shown it.
func TestGitPushCreatesApp(t *testing.T) {
	root := t.TempDir()
	repo := testsupport.NewRepoAt(t, filepath.Join(root, "apps.git"))
	repo.Commit("one app", map[string]string{"apps/api/deploy.yaml": "kind: x\n"})
	server := httptest.NewServer(testsupport.GitHTTPHandler(t, root))
	t.Cleanup(server.Close)
	url := server.URL + "/apps.git"

	opts := source.DefaultOptions(filepath.Join(t.TempDir(), "cache"))
	opts.PollInterval = time.Hour
	opts.Logger = slog.New(slog.DiscardHandler)
	src, err := source.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns := kube.Namespace(t)
	startController(t, ns, Options{Git: src, Resync: time.Hour})
	applySet(t, ns, `apiVersion: gyre.dev/v1alpha1
kind: ApplicationSet
metadata: {name: dirs}
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  syncPolicy: {preserveResourcesOnDeletion: true}
  generators:
  - git:
      repoURL: `+url+`
      revision: main
      directories: [{path: 'apps/*'}]
  template:
    metadata: {name: '{{ .path.basename }}'}
    spec:
      source: {repoURL: `+url+`, targetRevision: main, path: '{{ .path.path }}'}
      destination: {namespace: '{{ .path.basenameNormalized }}'}
`)
	waitNames(t, ns, "api")

	repo.Commit("a second app", map[string]string{"apps/web/deploy.yaml": "kind: x\n"})
	start := time.Now()
	src.Refresh(url) // what the webhook does (web.Backend.ForgetRepository / RefreshRepository)
	waitNames(t, ns, "api", "web")
	took := time.Since(start)
	t.Logf("a pushed folder became an Application %s after the webhook", took.Round(time.Millisecond))
	// Not a benchmark: the bound only proves the webhook, not the hour's
	// poll or resync, made the Application.
	if took > 10*time.Second {
		t.Errorf("the Application took %s", took)
	}
	if p := apps(t, ns)["web"].Spec.Source.Path; p != "apps/web" {
		t.Errorf("web's path = %q", p)
	}

	repo.Remove("drop api", "apps/api/deploy.yaml")
	src.Refresh(url)
	waitNames(t, ns, "web")
	if _, err := kube.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns).Get(context.Background(), "api", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("api: %v", err)
	}
}

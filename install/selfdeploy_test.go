package install

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
)

// chartRepo makes a git repository holding a copy of charts/gyre at the same
// path and returns its directory and commit.
func chartRepo(t testing.TB) (dir, sha string) {
	t.Helper()
	dir = t.TempDir()
	g, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: "refs/heads/main"}})
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(repoRoot, chartDir)
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(repoRoot, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := g.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddGlob("charts"); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit("gyre's chart", &git.CommitOptions{
		Author: &object.Signature{Name: "test", Email: "test@example.com", When: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir, h.String()
}

func getApp(t testing.TB, key types.NamespacedName) *app.Application {
	t.Helper()
	u, err := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.FromUnstructured(u)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// waitSyncedHealthy waits until the app is Synced and Healthy at sha.
func waitSyncedHealthy(t testing.TB, key types.NamespacedName, sha string, timeout time.Duration) *app.Application {
	t.Helper()
	var a *app.Application
	clustertest.Eventually(t, timeout, func() (bool, string) {
		a = getApp(t, key)
		s := a.Status
		op := "none"
		if s.OperationState != nil {
			op = string(s.OperationState.Phase) + ": " + s.OperationState.Message
		}
		return s.Sync.Status == app.Synced && s.Sync.Revision == sha && s.Health.Status == app.Healthy,
			fmt.Sprintf("sync %s %s, health %s %q, op %s, conditions %v", s.Sync.Status, s.Sync.Revision, s.Health.Status, s.Health.Message, op, s.Conditions)
	})
	return a
}

// selfDeploy is gyre's chart deployed by gyre, in a namespace of its own.
type selfDeploy struct {
	ns, fullname string
	key          types.NamespacedName
	sha          string
	app          *app.Application // as it was when Synced and Healthy
}

// deploySelf creates an Application for charts/gyre, as an operator managing
// gyre with gyre writes it, waits until it is Synced and Healthy and checks
// that the chart's objects are in place.
func deploySelf(t *testing.T, helm app.HelmSource) selfDeploy {
	t.Helper()
	ns := cluster.Namespace(t)
	dir, sha := chartRepo(t)
	// The release is named after the namespace, so that the cluster-scoped
	// names (ClusterRole, ClusterRoleBinding) are the test's own.
	helm.ReleaseName = ns
	fullname := ns
	if !strings.Contains(ns, "gyre") {
		fullname = ns + "-gyre"
	}
	a := &app.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: app.SchemeGroupVersion().String(), Kind: app.ApplicationKind},
		ObjectMeta: metav1.ObjectMeta{Name: ns, Namespace: appsNamespace},
		Spec: app.Spec{
			Source:      app.Source{RepoURL: dir, TargetRevision: "main", Path: chartDir, Helm: &helm},
			Destination: app.Destination{Namespace: ns},
			SyncPolicy: &app.SyncPolicy{
				Automated:   &app.AutomatedSync{Prune: true, SelfHeal: true},
				SyncOptions: app.SyncOptions{"CreateNamespace=true"},
			},
		},
	}
	u, err := a.ToUnstructured()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(appsNamespace).Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rbac := cluster.Client.RbacV1()
		rbac.ClusterRoleBindings().Delete(ctx, fullname, metav1.DeleteOptions{})
		rbac.ClusterRoles().Delete(ctx, fullname, metav1.DeleteOptions{})
	})
	key := types.NamespacedName{Namespace: appsNamespace, Name: ns}
	got := waitSyncedHealthy(t, key, sha, 2*time.Minute)

	rbac, core := cluster.Client.RbacV1(), cluster.Client.CoreV1()
	for what, err := range map[string]error{
		"ClusterRole":        get(rbac.ClusterRoles().Get(ctx, fullname, metav1.GetOptions{})),
		"ClusterRoleBinding": get(rbac.ClusterRoleBindings().Get(ctx, fullname, metav1.GetOptions{})),
		"Role":               get(rbac.Roles(ns).Get(ctx, fullname, metav1.GetOptions{})),
		"RoleBinding":        get(rbac.RoleBindings(ns).Get(ctx, fullname, metav1.GetOptions{})),
		"ServiceAccount":     get(core.ServiceAccounts(ns).Get(ctx, fullname, metav1.GetOptions{})),
		"Service":            get(core.Services(ns).Get(ctx, fullname, metav1.GetOptions{})),
		"Secret":             get(core.Secrets(ns).Get(ctx, fullname+"-tokens", metav1.GetOptions{})),
		"Deployment":         get(cluster.Client.AppsV1().Deployments(ns).Get(ctx, fullname, metav1.GetOptions{})),
	} {
		if err != nil {
			t.Errorf("%s %s: %v", what, fullname, err)
		}
	}
	return selfDeploy{ns: ns, fullname: fullname, key: key, sha: sha, app: got}
}

func crdTrackingID(t testing.TB) string {
	t.Helper()
	crd, err := cluster.Dynamic.Resource(crdResource).Get(ctx, "applications.gyre.dev", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("CRD: %v", err)
	}
	return crd.GetAnnotations()[app.TrackingAnnotation]
}

// TestGyreDeploysItsOwnChart: gyre deploys its chart, CRD included. The
// CRD is the one the running gyre installed for itself at start; the
// Application takes it over, and keeps it when gyre installs it again.
func TestGyreDeploysItsOwnChart(t *testing.T) {
	// The CRD outlives the test's Application, and its tracking id would make
	// the next Application that declares it (with -count=2, say) report
	// SharedResourceWarning and stay OutOfSync: at the end, delete the
	// Application (else self-heal tracks the CRD again) and hand the CRD
	// back to gyre's own install, as it was before.
	var key types.NamespacedName
	t.Cleanup(func() {
		if key.Name == "" {
			return // never deployed
		}
		apps := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(key.Namespace)
		apps.Delete(ctx, key.Name, metav1.DeleteOptions{})
		clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
			_, err := apps.Get(ctx, key.Name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), fmt.Sprintf("Application %s not deleted: %v", key, err)
		})
		patch := []byte(`{"metadata":{"annotations":{"` + app.TrackingAnnotation + `":null},"labels":{"` + app.AppLabel + `":null}}}`)
		_, err := cluster.Dynamic.Resource(crdResource).Patch(ctx, "applications.gyre.dev", types.MergePatchType, patch, metav1.PatchOptions{})
		if err != nil {
			t.Errorf("untrack the CRD: %v", err)
		}
	})
	d := deploySelf(t, app.HelmSource{})
	key = d.key
	if n := len(d.app.Status.Resources); n != 9 {
		t.Errorf("status lists %d resources, want the chart's 9: %v", n, d.app.Status.Resources)
	}
	if id := crdTrackingID(t); !strings.HasPrefix(id, appsNamespace+"/"+d.ns+":") {
		t.Errorf("CRD tracking id %q, want this Application's", id)
	}

	// When gyre restarts it installs its CRD again, under a field manager
	// of its own ("gyre-install"), which leaves the tracking annotation and
	// label this Application applied as "gyre" in place.
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(app.CRD(), &obj.Object); err != nil {
		t.Fatal(err)
	}
	crd, err := cluster.Dynamic.Resource(crdResource).Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: "gyre-install", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if id := crd.GetAnnotations()[app.TrackingAnnotation]; !strings.HasPrefix(id, appsNamespace+"/"+d.ns+":") {
		t.Fatalf("installing the CRD again dropped the Application's tracking id: %q", id)
	}
	reconciler.Refresh(d.key)
	waitSyncedHealthy(t, d.key, d.sha, time.Minute)
}

// TestGyreDeploysItsOwnChartWithoutCRDs: with helm.skipCrds the Application
// leaves the CRD to gyre's own install at start.
func TestGyreDeploysItsOwnChartWithoutCRDs(t *testing.T) {
	d := deploySelf(t, app.HelmSource{SkipCrds: true})
	if n := len(d.app.Status.Resources); n != 8 {
		t.Errorf("status lists %d resources, want the chart's 8 without the CRD: %v", n, d.app.Status.Resources)
	}
	for _, r := range d.app.Status.Resources {
		if r.Kind == "CustomResourceDefinition" {
			t.Errorf("status lists %v with skipCrds", r)
		}
	}
}

func get[T any](_ T, err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("not deployed: %w", err)
	}
	return err
}

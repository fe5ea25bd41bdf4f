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
	"k8s.io/apimachinery/pkg/types"

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

// createSelfApp creates an Application for charts/gyre, as an operator
// managing gyre with gyre writes it, in a namespace of the test's own.
func createSelfApp(t *testing.T, helm app.HelmSource) selfDeploy {
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
	apps := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(appsNamespace)
	if _, err := apps.Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		apps.Delete(ctx, ns, metav1.DeleteOptions{})
		rbac := cluster.Client.RbacV1()
		rbac.ClusterRoleBindings().Delete(ctx, fullname, metav1.DeleteOptions{})
		rbac.ClusterRoles().Delete(ctx, fullname, metav1.DeleteOptions{})
	})
	return selfDeploy{ns: ns, fullname: fullname, key: types.NamespacedName{Namespace: appsNamespace, Name: ns}, sha: sha}
}

// deploySelf creates an Application for charts/gyre, waits until it is
// Synced and Healthy and checks that the chart's objects are in place.
func deploySelf(t *testing.T, helm app.HelmSource) selfDeploy {
	t.Helper()
	d := createSelfApp(t, helm)
	d.app = waitSyncedHealthy(t, d.key, d.sha, 2*time.Minute)
	ns, fullname := d.ns, d.fullname
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
	return d
}

func crdTrackingID(t testing.TB) string {
	t.Helper()
	crd, err := cluster.Dynamic.Resource(crdResource).Get(ctx, "applications.gyre.dev", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("CRD: %v", err)
	}
	return crd.GetAnnotations()[app.TrackingAnnotation]
}

// TestGyreRefusesItsOwnCRDs: gyre's chart with its CRDs, deployed by gyre,
// is refused as a whole: an Application never writes gyre's own CRDs (they
// are gyre's to install, and replacing the Application CRD deletes every
// Application). The app says which objects broke which rule, and nothing
// of the chart is written.
func TestGyreRefusesItsOwnCRDs(t *testing.T) {
	before := crdTrackingID(t)
	d := createSelfApp(t, app.HelmSource{})
	clustertest.Eventually(t, time.Minute, func() (bool, string) {
		a := getApp(t, d.key)
		for _, c := range a.Status.Conditions {
			if c.Type == app.ConditionPermissionDeniedError && strings.Contains(c.Message, "applications.gyre.dev") &&
				strings.Contains(c.Message, "projects.gyre.dev") && strings.Contains(c.Message, "(gyre-crd)") {
				return a.Status.Sync.Status != app.Synced, "refused yet reported Synced"
			}
		}
		return false, fmt.Sprintf("no refusal of the CRDs: %v", a.Status.Conditions)
	})
	if _, err := cluster.Client.AppsV1().Deployments(d.ns).Get(ctx, d.fullname, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("part of the refused chart was written (Deployment: %v)", err)
	}
	if id := crdTrackingID(t); id != before {
		t.Errorf("CRD tracking id changed from %q to %q", before, id)
	}
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

package install

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	"github.com/gyre-cd/gyre/source"
	gyresync "github.com/gyre-cd/gyre/sync"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// TestLoopRunsOnChartRBAC runs gyre's reconcile loop as the chart's
// ServiceAccount in namespace-limited mode (what `gyre serve --namespaces`
// does in the pod): it syncs an Application into a listed namespace, and an
// Application aimed elsewhere is refused with a condition that says why and
// changes nothing there.
func TestLoopRunsOnChartRBAC(t *testing.T) {
	own, allowed, other := cluster.Namespace(t), cluster.Namespace(t), cluster.Namespace(t)
	cfg := chartServiceAccount(t, own, own, fmt.Sprintf("rbac: {clusterWide: false, namespaces: [%s]}", allowed))

	srcOpts := source.DefaultOptions(t.TempDir())
	srcOpts.AllowFileURLs = true
	src, err := source.New(srcOpts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := gyresync.New(cfg, src, gyresync.Options{Namespace: own, Namespaces: []string{allowed}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// RBAC reaches the authorizer through its informers: wait until the
	// ServiceAccount's grants are in force before the loop starts.
	as, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		_, err1 := as.Resource(app.GroupVersionResource()).Namespace(own).List(ctx, metav1.ListOptions{})
		_, err2 := as.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(allowed).List(ctx, metav1.ListOptions{})
		return err1 == nil && err2 == nil, fmt.Sprintf("grants not in force yet: %v; %v", err1, err2)
	})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	t.Cleanup(func() { cancel(); <-done })
	go func() { done <- r.Run(runCtx) }()
	clustertest.Eventually(t, time.Minute, func() (bool, string) { return r.Ready(), "loop not ready" })

	repoDir := t.TempDir()
	repo, err := git.PlainInitWithOptions(repoDir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: "refs/heads/main"}})
	if err != nil {
		t.Fatal(err)
	}
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-git\ndata:\n  k: v\n"
	if err := os.WriteFile(filepath.Join(repoDir, "cm.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	wt.Add("cm.yaml")
	hash, err := wt.Commit("config", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	sha := hash.String()

	apps := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(own)
	for name, dest := range map[string]string{"inside": allowed, "outside": other} {
		a := &app.Application{
			TypeMeta:   metav1.TypeMeta{APIVersion: app.SchemeGroupVersion().String(), Kind: app.ApplicationKind},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: own},
			Spec: app.Spec{
				Source:      app.Source{RepoURL: repoDir, TargetRevision: "main"},
				Destination: app.Destination{Namespace: dest},
				SyncPolicy:  &app.SyncPolicy{Automated: &app.AutomatedSync{Prune: true}},
			},
		}
		u, _ := a.ToUnstructured()
		if _, err := apps.Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitSyncedHealthy(t, types.NamespacedName{Namespace: own, Name: "inside"}, sha, time.Minute)
	if _, err := cluster.Client.CoreV1().ConfigMaps(allowed).Get(ctx, "from-git", metav1.GetOptions{}); err != nil {
		t.Fatalf("not applied in the allowed namespace: %v", err)
	}
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		a := getApp(t, types.NamespacedName{Namespace: own, Name: "outside"})
		c := a.Status.FindCondition(app.ConditionComparisonError)
		return c != nil && strings.Contains(c.Message, "not one gyre manages"), fmt.Sprintf("conditions %v", a.Status.Conditions)
	})
	if _, err := cluster.Client.CoreV1().ConfigMaps(other).Get(ctx, "from-git", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("applied outside the allowed namespaces: %v", err)
	}
}

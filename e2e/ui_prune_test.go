package e2e

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
)

// TestUISyncConfirmsPrune drives the Sync dialog of an Application that
// git no longer declares an object of: the dialog lists that object as one
// the sync would delete, the confirm button says it deletes once Prune is
// ticked, and Cancel sends no sync request; confirming prunes it. The
// rollback dialog lists what a rollback with prune would delete too.
func TestUISyncConfirmsPrune(t *testing.T) {
	needGyre(t)
	needChromium(t)
	repo := testsupport.NewRepo(t)
	first := repo.Commit("two", map[string]string{
		"app/keep.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\ndata:\n  v: \"1\"\n",
		"app/gone.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone\ndata:\n  v: \"1\"\n",
	})
	name := uniqueName("ui-prune")
	createApp(t, &app.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gyre", Name: name},
		Spec: app.Spec{
			Source:      app.Source{RepoURL: repo.Dir, TargetRevision: "main", Path: "app"},
			Destination: app.Destination{Namespace: name + "-dest"},
			// Automated without prune: git's removal leaves gone in place.
			SyncPolicy: &app.SyncPolicy{Automated: &app.AutomatedSync{}, SyncOptions: app.SyncOptions{"CreateNamespace=true"}},
		},
	})
	testsupport.Eventually(t, 2*time.Minute, func() (bool, string) { return syncedAt(t, name, first) })
	second := repo.Remove("drop gone", "app/gone.yaml")
	// A hard refresh resolves main again at once (a plain one waits for
	// the next poll of the repository).
	if err := apiDo("POST", "/api/v1/applications/gyre/"+name+"/refresh?hard=true", nil, nil); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, 2*time.Minute, func() (bool, string) {
		a, _ := getApp(t, "gyre", name)
		for _, r := range a.Status.Resources {
			if r.Name == "gone" && r.RequiresPruning && a.Status.Sync.Revision == second && a.Operation == nil &&
				a.Status.OperationState != nil && a.Status.OperationState.Phase.Completed() {
				return true, ""
			}
		}
		return false, fmt.Sprintf("gone not yet left to prune at %.7s: %+v", second, a.Status.Resources)
	})

	b := newBrowser(t)
	b.do("open the sign-in link", chromedp.Navigate(serverURL+"/#token="+url.PathEscape(adminToken)))
	b.goTo("#/apps/gyre/" + name)
	b.wait("the Sync button enabled", `(() => { const s = document.querySelector('[data-testid="sync-button"]'); return s !== null && !s.disabled; })()`)
	// Record the POSTs the page sends from now on.
	run(b, "watch the page's requests", chromedp.Evaluate[bool](`(() => {
		window.__posts = [];
		const f = window.fetch;
		window.fetch = (u, o) => { if (o && o.method === 'POST') window.__posts.push(String(u)); return f(u, o); };
		return true;
	})()`))

	b.do("press Sync", chromedp.Click(chromedp.CSS(`[data-testid="sync-button"]`), chromedp.NodeVisible))
	b.wait("gone listed as an object the sync would delete", `(() => {
		const li = document.querySelector('[data-testid="sync-dialog"] [data-testid="plan-object"][data-action="prune"][data-name="gone"]');
		return li !== null && !document.querySelector('[data-testid="sync-dialog"] [data-testid="plan-object"][data-name="keep"]');
	})()`)
	b.do("tick Prune", chromedp.Click(chromedp.CSS(`[data-testid="sync-prune"]`), chromedp.NodeVisible))
	b.wait("the confirm button says it deletes", `(() => {
		const c = document.querySelector('[data-testid="confirm-sync"]');
		return c !== null && c.textContent === 'Sync and delete 1' && c.classList.contains('danger');
	})()`)
	b.do("cancel", chromedp.Click(chromedp.CSS(`[data-testid="sync-dialog"] [data-testid="cancel"]`), chromedp.NodeVisible))
	b.wait("the dialog closed", `document.querySelector('[data-testid="sync-dialog"]') === null`)
	if posts := run(b, "read the requests", chromedp.Evaluate[[]string](`window.__posts`)); len(posts) != 0 {
		t.Errorf("cancelling the sync dialog sent %q", posts)
	}
	if a, _ := getApp(t, "gyre", name); a.Operation != nil {
		t.Errorf("cancelling the sync dialog requested an operation: %+v", a.Operation)
	}

	// The rollback to the first sync, which declared gone, deletes
	// nothing; the dialog says so.
	b.do("press Rollback", chromedp.Click(chromedp.CSS(`[data-testid="rollback-1"]`), chromedp.NodeVisible))
	b.wait("the rollback dialog deletes nothing", `(() => {
		const p = document.querySelector('[data-testid="rollback-dialog"] [data-testid="sync-plan"]');
		return p !== null && p.getAttribute('aria-busy') === 'false' && p.textContent.includes('deletes and replaces nothing');
	})()`)
	b.do("cancel the rollback", chromedp.Click(chromedp.CSS(`[data-testid="rollback-dialog"] [data-testid="cancel"]`), chromedp.NodeVisible))
	b.wait("the rollback dialog closed", `document.querySelector('[data-testid="rollback-dialog"]') === null`)

	b.do("press Sync again", chromedp.Click(chromedp.CSS(`[data-testid="sync-button"]`), chromedp.NodeVisible))
	b.wait("gone listed again", `document.querySelector('[data-testid="sync-dialog"] [data-testid="plan-object"][data-name="gone"]') !== null`)
	b.do("tick Prune", chromedp.Click(chromedp.CSS(`[data-testid="sync-prune"]`), chromedp.NodeVisible))
	b.wait("the confirm button says it deletes", `document.querySelector('[data-testid="confirm-sync"]').textContent === 'Sync and delete 1'`)
	b.do("confirm", chromedp.Click(chromedp.CSS(`[data-testid="confirm-sync"]`), chromedp.NodeVisible))
	testsupport.Eventually(t, 2*time.Minute, func() (bool, string) {
		a, _ := getApp(t, "gyre", name)
		for _, r := range a.Status.Resources {
			if r.Name == "gone" {
				return false, fmt.Sprintf("gone still listed: %+v (operation %+v)", r, a.Status.OperationState)
			}
		}
		return a.Status.Sync.Status == app.Synced, fmt.Sprintf("sync %s", a.Status.Sync.Status)
	})
	b.checkConsole()
}

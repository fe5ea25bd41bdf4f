package e2e

import (
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestUIClusters opens the clusters page from the top bar: the cluster
// gyre up runs in is listed as connected, with its API version and the
// example applications that deploy there, and the application page names
// the cluster an application deploys to.
func TestUIClusters(t *testing.T) {
	needGyre(t)
	needChromium(t)
	b := newBrowser(t)
	b.do("open the sign-in link", chromedp.Navigate(serverURL+"/#token="+url.PathEscape(adminToken)))
	b.wait("the top bar's Clusters link", `document.querySelector('[data-testid="nav-clusters"]') !== null`)
	b.do("open the clusters page", chromedp.Click(chromedp.CSS(`[data-testid="nav-clusters"]`), chromedp.NodeVisible))
	b.wait("in-cluster connected, with a version and applications", `(() => {
		const row = document.querySelector('[data-testid="cluster-row-in-cluster"]');
		if (!row) return false;
		const state = row.querySelector('[data-testid="cluster-state"]');
		const apps = Number(row.querySelector('[data-testid="cluster-apps"]').textContent);
		return state.dataset.state === 'Connected' && apps > 0 && row.textContent.includes('https://kubernetes.default.svc')
			&& /v1\.\d+/.test(row.textContent);
	})()`)
	b.screenshot("ui-clusters.png")
	b.do("open guestbook", chromedp.Navigate(serverURL+"/#/apps/gyre/guestbook"))
	b.wait("guestbook's destination names its cluster", `(() => {
		const fact = document.querySelector('[data-testid="fact-destination"]');
		return fact !== null && fact.textContent.includes('on in-cluster');
	})()`)
}

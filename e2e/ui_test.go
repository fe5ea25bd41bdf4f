package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/helmrepo/helmrepotest"
	"github.com/gyre-cd/gyre/internal/testsupport"
)

// chromiumPath is where the Debian package chromium installs the browser.
const chromiumPath = "/usr/bin/chromium"

// needChromium skips a UI test on a machine without the browser, and fails
// it on CI, whose .ci/run installs it.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing; .ci/run installs the Debian package chromium: %v", chromiumPath, err)
		}
		t.Skipf("no browser for the UI test: %s is missing (apt-get install chromium)", chromiumPath)
	}
}

// TestUI drives the web UI of the running `gyre up` in headless Chromium:
// sign in through the #token= link, find the example app guestbook Healthy
// in the list, open it, follow its resource tree from a Pod up through its
// ReplicaSet to the Deployment, sync it from the UI and watch the operation
// finish, then read the Deployment's live manifest, diff and events. It
// saves screenshots of the list, the application page and the Deployment's
// panel (ui-list.png, ui-app.png, ui-resource.png in artifactsDir) and
// fails on any error in the browser's console.
func TestUI(t *testing.T) {
	needGyre(t)
	needChromium(t)
	b := newBrowser(t)

	b.do("open the sign-in link", chromedp.Navigate(serverURL+"/#token="+url.PathEscape(adminToken)))
	b.wait("guestbook listed as Healthy", `(() => {
		const row = document.querySelector('[data-testid="app-row-gyre-guestbook"]');
		const badge = row && row.querySelector('[data-testid="health-badge"]');
		return badge !== null && badge.dataset.status === 'Healthy';
	})()`)
	hash := run(b, "read the URL fragment", chromedp.Evaluate[string](`location.hash`))
	if strings.Contains(hash, "token") {
		t.Errorf("the token stays in the address bar after sign-in: %q", hash)
	}
	b.wait("live updates connected (GET /api/v1/stream?ticket=)",
		`document.querySelector('[data-testid="stream-status"]').dataset.state === 'open'`)
	b.screenshot("ui-list.png")

	b.do("open guestbook", chromedp.Click(chromedp.CSS(`[data-testid="app-row-gyre-guestbook"] a`), chromedp.NodeVisible))
	b.wait("guestbook's Deployment in the tree", `document.querySelector('[data-testid="tree-node-Deployment-guestbook"]') !== null`)

	// Follow the tree through the DOM: a Pod whose data-parents names a
	// ReplicaSet, whose data-parents names the Deployment, which is a
	// top-level node; a line joins each pair, and each sits in a column to
	// the right of its parent.
	chain := b.wait("a Pod → ReplicaSet → Deployment chain in the tree", `(() => {
		const nodes = [...document.querySelectorAll('[data-testid="tree"] .node')];
		const byUID = new Map(nodes.filter((n) => n.dataset.uid).map((n) => [n.dataset.uid, n]));
		const line = (from, to) => document.querySelector(
			'[data-testid="tree-edge"][data-from="' + from.dataset.uid + '"][data-to="' + to.dataset.uid + '"]') !== null;
		const leftOf = (a, b) => a.getBoundingClientRect().right <= b.getBoundingClientRect().left;
		for (const pod of nodes.filter((n) => n.dataset.kind === 'Pod')) {
			for (const rs of pod.dataset.parents.split(' ').map((u) => byUID.get(u))) {
				if (!rs || rs.dataset.kind !== 'ReplicaSet' || !line(rs, pod) || !leftOf(rs, pod)) continue;
				for (const d of rs.dataset.parents.split(' ').map((u) => byUID.get(u))) {
					if (d && d.dataset.kind === 'Deployment' && d.dataset.name === 'guestbook' && d.dataset.parents === ''
						&& line(d, rs) && leftOf(d, rs)) {
						return JSON.stringify({ deployment: d.dataset.name, replicaSet: rs.dataset.name, pod: pod.dataset.name, podHealth: pod.dataset.health });
					}
				}
			}
		}
		return '';
	})()`)
	t.Logf("tree: %s", chain)

	// Sync from the UI. Wait until no operation runs (the button is off
	// meanwhile), and let a second pass since the last operation started:
	// startedAt has whole seconds, and the new one must be later.
	b.wait("the Sync button enabled", `!document.querySelector('[data-testid="sync-button"]').disabled`)
	before := run(b, "read the last operation's start", chromedp.Evaluate[string](`(() => {
		const p = document.querySelector('[data-testid="operation-phase"]');
		return p ? p.dataset.startedAt : '';
	})()`))
	if before != "" {
		started, err := time.Parse(time.RFC3339, before)
		if err != nil {
			t.Fatalf("operation-phase data-started-at %q: %v", before, err)
		}
		time.Sleep(time.Until(started.Add(1100 * time.Millisecond)))
	}
	b.do("press Sync", chromedp.Click(chromedp.CSS(`[data-testid="sync-button"]`), chromedp.NodeVisible))
	b.do("confirm the sync", chromedp.Click(chromedp.CSS(`[data-testid="confirm-sync"]`), chromedp.NodeVisible))
	finished := b.wait("the new operation to finish", fmt.Sprintf(`(() => {
		const p = document.querySelector('[data-testid="operation-phase"]');
		if (!p || p.dataset.startedAt === %q || !['Succeeded', 'Failed', 'Error'].includes(p.dataset.status)) return '';
		const m = document.querySelector('[data-testid="operation-message"]');
		return JSON.stringify({ phase: p.textContent, startedAt: p.dataset.startedAt, message: m ? m.textContent : '' });
	})()`, before))
	var op struct{ Phase, StartedAt, Message string }
	if err := json.Unmarshal([]byte(finished), &op); err != nil {
		t.Fatalf("operation state %s: %v", finished, err)
	}
	if op.Phase != "Succeeded" {
		t.Fatalf("the sync ended %s: %s", op.Phase, op.Message)
	}
	if started, err := time.Parse(time.RFC3339, op.StartedAt); err != nil {
		t.Errorf("operation-phase data-started-at %q: %v", op.StartedAt, err)
	} else if before != "" && !started.After(mustTime(t, before)) {
		t.Errorf("the finished operation started at %s, not after the previous one (%s)", op.StartedAt, before)
	}
	b.wait("the Deployment in the change set",
		`document.querySelector('[data-testid="change-row"][data-kind="Deployment"][data-name="guestbook"]') !== null`)
	b.screenshot("ui-app.png")

	// The side panel of the Deployment: live manifest, diff, events.
	b.do("select the Deployment", chromedp.Click(chromedp.CSS(`[data-testid="tree-node-Deployment-guestbook"]`), chromedp.NodeVisible))
	b.wait("the live manifest", `(() => {
		const m = document.querySelector('[data-testid="manifest"]');
		return m !== null && m.textContent.includes('kind: Deployment') && m.textContent.includes('name: guestbook');
	})()`)
	b.screenshot("ui-resource.png")
	for _, tab := range []string{"diff", "events"} {
		b.do("open the "+tab+" tab", chromedp.Click(chromedp.CSS(`[data-testid="panel-tab-`+tab+`"]`), chromedp.NodeVisible))
		got := b.wait("the "+tab+" tab loaded", fmt.Sprintf(`(() => {
			const c = document.querySelector('[data-testid="panel-content"]');
			if (c.dataset.tab !== %q || c.getAttribute('aria-busy') === 'true') return '';
			const err = c.querySelector('[role="alert"]');
			return err ? 'error: ' + err.textContent : 'ok';
		})()`, tab))
		if got != "ok" {
			t.Errorf("the %s tab of Deployment guestbook: %s", tab, got)
		}
	}
	b.checkConsole()
}

// browser is one headless Chromium tab for a test.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []string // errors and exceptions the page reported
}

// newBrowser starts Chromium with a fresh profile and no background
// traffic (without the background-networking flags, Chromium's own
// connections are refused on some machines and fill the log). It collects
// the page's console errors, saves a screenshot if the test fails, and
// stops the browser when the test ends.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	go func() {
		for msg, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if msg.Type == chromedp.ConsoleError || msg.IsException() {
				b.mu.Lock()
				b.console = append(b.console, msg.String())
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		if t.Failed() && ctx.Err() == nil {
			b.screenshot("ui-failure.png")
		}
	})
	return b
}

// do runs browser actions, failing the test with what it was doing.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v%s", what, err, b.pageText())
	}
}

// run runs one browser action that returns a value.
func run[T any](b *browser, what string, action chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, action)
	if err != nil {
		b.t.Fatalf("%s: %v%s", what, err, b.pageText())
	}
	return v
}

// wait polls the JavaScript expression expr until it is truthy and returns
// its value as text ("true" for a boolean). On a timeout the test fails
// with what it waited for and the text of the page.
func (b *browser) wait(what, expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Poll[any](expr,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(90*time.Second)))
	if err != nil {
		if errors.Is(err, chromedp.ErrPollingTimeout) {
			err = errors.New("timed out")
		}
		b.t.Fatalf("waiting for %s: %v%s", what, err, b.pageText())
	}
	return fmt.Sprint(v)
}

// pageText returns the visible text of the page, for failure messages.
func (b *browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		return ""
	}
	const limit = 3000
	if len(text) > limit {
		text = text[:limit] + "…"
	}
	return "\n--- page text ---\n" + text + "\n---"
}

// screenshot saves a full-page PNG of the tab under artifactsDir and logs
// its path.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(artifactsDir(b.t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot: %s", path)
}

// checkConsole fails the test if the page logged errors or threw.
func (b *browser) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, msg := range b.console {
		b.t.Errorf("browser console: %s", msg)
	}
}

// artifactsDir is where the test leaves its screenshots: $GYRE_ARTIFACTS
// when set (CI collects it), else e2e/artifacts in the repository, which
// holds a .gitignore so git leaves it alone.
func artifactsDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("GYRE_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("artifacts: %v", err)
		}
		return dir
	}
	dir, err := filepath.Abs("artifacts")
	if err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	ignore := filepath.Join(dir, ".gitignore")
	if _, err := os.Stat(ignore); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(ignore, []byte("# Screenshots of the UI test; not part of the repository.\n*\n"), 0o644); err != nil {
			t.Fatalf("artifacts: %v", err)
		}
	}
	return dir
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}

// TestUIChartAndSources shows in the browser an Application whose source
// is a chart in a Helm repository and one with several sources (a path in
// the examples repository, the same chart, and a ref source): the list's
// source column names the chart, or says "3 sources" and lists them in its
// tooltip; the application page's facts name the chart and its version
// range, or give one line per source with that source's revision; the
// history shows the chart's version and each source's revision, abbreviated
// as the CLI does (app.ShortRevision); and the rollback dialog says what a
// rollback restores. Both apps really sync, from a chart repository this
// test serves.
func TestUIChartAndSources(t *testing.T) {
	needGyre(t)
	needChromium(t)

	charts := helmrepotest.NewServer(t, helmrepotest.Options{})
	charts.Add("demo", "1.2.0", map[string]string{
		"templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-demo\ndata:\n  version: {{ .Chart.Version | quote }}\n",
	})
	chartRev := "1.2.0@" + charts.Digest("demo", "1.2.0")
	examples := filepath.Join(dataDir, "examples")

	chartName := uniqueName("ui-chart")
	multiName := uniqueName("ui-sources")
	automated := &app.SyncPolicy{Automated: &app.AutomatedSync{}, SyncOptions: app.SyncOptions{"CreateNamespace=true"}}
	createApp(t, &app.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gyre", Name: chartName},
		Spec: app.Spec{
			Source:      app.Source{RepoURL: charts.URL, Chart: "demo", TargetRevision: "1.*"},
			Destination: app.Destination{Namespace: chartName + "-dest"},
			SyncPolicy:  automated,
		},
	})
	createApp(t, &app.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gyre", Name: multiName},
		Spec: app.Spec{
			Sources: []app.Source{
				{RepoURL: examples, TargetRevision: "main", Path: "guestbook"},
				{RepoURL: charts.URL, Chart: "demo", TargetRevision: "1.2.0"},
				{RepoURL: examples, TargetRevision: "main", Ref: "values"},
			},
			Destination: app.Destination{Namespace: multiName + "-dest"},
			SyncPolicy:  automated,
		},
	})

	// Both sync on their own; what the UI must show comes from the API.
	synced := func(name string) *app.Application {
		var got *app.Application
		testsupport.Eventually(t, 2*time.Minute, func() (bool, string) {
			a, ok := getApp(t, "gyre", name)
			if !ok {
				return false, "not in the API yet"
			}
			st := a.Status
			state := fmt.Sprintf("sync %s at %q, %d history entries", st.Sync.Status, st.Sync.Revision, len(st.History))
			if op := st.OperationState; op != nil {
				state += fmt.Sprintf("; operation %s: %s", op.Phase, op.Message)
			}
			for _, c := range st.Conditions {
				state += fmt.Sprintf("; %s: %s", c.Type, c.Message)
			}
			got = a
			return st.Sync.Status == app.Synced && len(st.History) > 0 && a.Operation == nil &&
				(st.OperationState == nil || st.OperationState.Phase.Completed()), state
		})
		return got
	}
	chartApp, multiApp := synced(chartName), synced(multiName)
	if chartApp.Status.Sync.Revision != chartRev {
		t.Fatalf("%s synced revision %q, want %q", chartName, chartApp.Status.Sync.Revision, chartRev)
	}
	revs := multiApp.Status.Sync.Revisions
	if len(revs) != 3 || revs[1] != chartRev || multiApp.Status.Sync.Revision != app.JoinRevisions(revs) {
		t.Fatalf("%s synced revision %q, revisions %q; want 3 with the chart's %q second", multiName, multiApp.Status.Sync.Revision, revs, chartRev)
	}
	chartEntry := chartApp.Status.History[len(chartApp.Status.History)-1]
	multiEntry := multiApp.Status.History[len(multiApp.Status.History)-1]
	short := func(rev string) string { return app.ShortRevision(rev) }
	shortDigest := strings.TrimPrefix(short(chartRev), "1.2.0") // "@" and 7 hex

	b := newBrowser(t)
	b.do("open the sign-in link", chromedp.Navigate(serverURL+"/#token="+url.PathEscape(adminToken)))

	// The list: the chart app's source column names the chart, the other
	// says how many sources and lists them in its tooltip; the revision
	// column abbreviates each revision.
	row := func(name string) string {
		return b.wait(name+" listed with its source and revision", fmt.Sprintf(`(() => {
			const row = document.querySelector('[data-testid="app-row-gyre-' + %s + '"]');
			const src = row && row.querySelector('[data-testid="app-source"]');
			const rev = row && row.querySelector('code.revision');
			if (!src || !rev || !rev.dataset.revision) return '';
			const repo = src.querySelector('.repo');
			return JSON.stringify({ source: src.textContent, chart: src.dataset.chart || '', repo: repo.textContent,
				title: repo.title, revision: rev.textContent, fullRevision: rev.title });
		})()`, jsString(name)))
	}
	var chartRow, multiRow struct{ Source, Chart, Repo, Title, Revision, FullRevision string }
	decode(t, row(chartName), &chartRow)
	decode(t, row(multiName), &multiRow)
	if chartRow.Chart != "demo" || chartRow.Repo != "demo" || !strings.Contains(chartRow.Source, "1.*") ||
		chartRow.Title != "demo 1.* from "+charts.URL {
		t.Errorf("the chart app's source column: %+v; want the chart demo 1.* from %s", chartRow, charts.URL)
	}
	if chartRow.Revision != short(chartRev) || chartRow.FullRevision != chartRev {
		t.Errorf("the chart app's revision column shows %q (tooltip %q), want %q (%q)", chartRow.Revision, chartRow.FullRevision, short(chartRev), chartRev)
	}
	wantTooltip := strings.Join([]string{
		"data/examples guestbook @ main",
		"demo 1.2.0 from " + charts.URL,
		"data/examples @ main (ref values)",
	}, "\n")
	if multiRow.Repo != "3 sources" || multiRow.Title != wantTooltip {
		t.Errorf("the multi-source app's source column says %q with the tooltip %q; want \"3 sources\" and %q", multiRow.Repo, multiRow.Title, wantTooltip)
	}
	if want := short(multiApp.Status.Sync.Revision); multiRow.Revision != want || multiRow.FullRevision != multiApp.Status.Sync.Revision {
		t.Errorf("the multi-source app's revision column shows %q (tooltip %q), want %q (%q)", multiRow.Revision, multiRow.FullRevision, want, multiApp.Status.Sync.Revision)
	}

	// The chart app's page.
	b.goTo("#/apps/gyre/" + chartName)
	var chartPage struct {
		Chart, Version, Digest, DigestTitle, History, HistorySource string
		HistoryVersion                                              string
	}
	decode(t, b.wait(chartName+"'s facts and history", `(() => {
		const chart = document.querySelector('[data-testid="fact-chart"]');
		const rev = document.querySelector('[data-testid="fact-revision"]');
		const row = document.querySelector('[data-testid="history"] tbody tr');
		if (!chart || !rev || !row || !rev.querySelector('[data-testid="chart-version"]')) return '';
		return JSON.stringify({
			chart: chart.textContent, version: rev.querySelector('[data-testid="chart-version"]').textContent,
			digest: rev.querySelector('code.revision').textContent, digestTitle: rev.querySelector('code.revision').title,
			history: row.dataset.testid, historySource: row.querySelector('td.source').textContent,
			historyVersion: (row.querySelector('[data-testid="chart-version"]') || {}).textContent || '',
		});
	})()`), &chartPage)
	if want := "demo 1.* from " + charts.URL + " (Helm)"; chartPage.Chart != want {
		t.Errorf("the Chart fact says %q, want %q", chartPage.Chart, want)
	}
	if chartPage.Version != "1.2.0" || chartPage.Digest != shortDigest || chartPage.DigestTitle != chartRev {
		t.Errorf("the Revision fact shows version %q and digest %q (tooltip %q); want 1.2.0, %q (%q)", chartPage.Version, chartPage.Digest, chartPage.DigestTitle, shortDigest, chartRev)
	}
	if chartPage.History != fmt.Sprintf("history-row-%d", chartEntry.ID) || chartPage.HistoryVersion != "1.2.0" || chartPage.HistorySource != "demo @ 1.*" {
		t.Errorf("the newest history row: %+v; want #%d with version 1.2.0 from demo @ 1.*", chartPage, chartEntry.ID)
	}
	restore := rollbackText(b, chartEntry.ID)
	for _, want := range []string{"chart demo version 1.2.0 " + shortDigest + " from " + charts.URL} {
		if !strings.Contains(restore, want) {
			t.Errorf("the rollback dialog says %q; want it to name %q", restore, want)
		}
	}
	b.screenshot("ui-chart-app.png")

	// The multi-source app's page.
	b.goTo("#/apps/gyre/" + multiName)
	var multiPage struct {
		Sources          []struct{ Text, Revision, Short string }
		History          string
		HistoryRevisions []string
		HistorySources   []string
	}
	decode(t, b.wait(multiName+"'s facts and history", `(() => {
		const items = [...document.querySelectorAll('[data-testid="fact-sources"] li')];
		const row = document.querySelector('[data-testid="history"] tbody tr');
		if (items.length === 0 || !row || items.some((li) => !li.dataset.revision)) return '';
		return JSON.stringify({
			sources: items.map((li) => ({ text: li.textContent, revision: li.dataset.revision,
				short: [...li.querySelectorAll('code.revision, .chart-version')].map((e) => e.textContent).join('') })),
			history: row.dataset.testid,
			historyRevisions: [...row.querySelectorAll('[data-testid="history-revisions"] li')].map((li) => li.textContent),
			historySources: [...row.querySelectorAll('td.source li')].map((li) => li.textContent),
		});
	})()`), &multiPage)
	wantLines := []string{
		"data/examples guestbook @ main " + short(revs[0]),
		"demo 1.2.0 from " + charts.URL + " 1.2.0 " + shortDigest,
		"data/examples @ mainref values " + short(revs[2]),
	}
	if len(multiPage.Sources) != 3 {
		t.Fatalf("the Sources fact has %d lines, want 3: %+v", len(multiPage.Sources), multiPage.Sources)
	}
	for i, s := range multiPage.Sources {
		if s.Text != wantLines[i] || s.Revision != revs[i] || s.Short != short(revs[i]) {
			t.Errorf("source %d's line says %q at %q (%q); want %q at %q (%q)", i, s.Text, s.Revision, s.Short, wantLines[i], revs[i], short(revs[i]))
		}
	}
	wantRevs := []string{short(revs[0]), "1.2.0 " + shortDigest, short(revs[2])}
	if multiPage.History != fmt.Sprintf("history-row-%d", multiEntry.ID) || strings.Join(multiPage.HistoryRevisions, "|") != strings.Join(wantRevs, "|") {
		t.Errorf("the newest history row %s shows the revisions %q, want #%d with %q", multiPage.History, multiPage.HistoryRevisions, multiEntry.ID, wantRevs)
	}
	if want := "guestbook @ main|demo @ 1.2.0|data/examples @ main (ref values)"; strings.Join(multiPage.HistorySources, "|") != want {
		t.Errorf("the newest history row shows the sources %q, want %q", multiPage.HistorySources, want)
	}
	restore = rollbackText(b, multiEntry.ID)
	for _, want := range []string{
		"3 sources",
		"data/examples guestbook @ main at " + short(revs[0]),
		"demo 1.2.0 from " + charts.URL + " at 1.2.0 " + shortDigest,
		"data/examples @ main (ref values) at " + short(revs[2]),
	} {
		if !strings.Contains(restore, want) {
			t.Errorf("the rollback dialog says %q; want it to name %q", restore, want)
		}
	}
	b.screenshot("ui-sources-app.png")

	// The list's search finds an application by any of its sources: the
	// chart repository's address is the first source of one and the
	// second of the other, and no other application's.
	host := strings.TrimPrefix(charts.URL, "http://")
	b.goTo("#/?search=" + url.QueryEscape(host))
	b.wait("the search for "+host+" to list only the two", fmt.Sprintf(`(() => {
		const rows = [...document.querySelectorAll('[data-testid="app-list"] tbody tr')].map((r) => r.dataset.name).sort();
		return rows.join(' ') === %s;
	})()`, jsString(strings.Join([]string{chartName, multiName}, " "))))
	b.checkConsole()
}

// rollbackText opens the rollback dialog of history entry id, returns what
// it says it restores, and cancels it.
func rollbackText(b *browser, id int64) string {
	b.t.Helper()
	b.do("press Rollback", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="rollback-%d"]`, id)), chromedp.NodeVisible))
	text := b.wait("the rollback dialog", `(() => {
		const w = document.querySelector('[data-testid="rollback-dialog"] [data-testid="rollback-what"]');
		return w ? w.textContent.replace(/\s+/g, ' ') : '';
	})()`)
	b.do("cancel the rollback", chromedp.Click(chromedp.CSS(`[data-testid="rollback-dialog"] [data-testid="cancel"]`), chromedp.NodeVisible))
	b.wait("the rollback dialog closed", `document.querySelector('[data-testid="rollback-dialog"]') === null`)
	return text
}

// goTo moves the page to another view by its address's fragment, as a
// link in the page would.
func (b *browser) goTo(hash string) {
	b.t.Helper()
	run(b, "go to "+hash, chromedp.Evaluate[string](`location.hash = `+jsString(hash)))
}

// jsString returns s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// decode unmarshals the JSON text a page expression returned.
func decode(t *testing.T, text string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(text), v); err != nil {
		t.Fatalf("%v in %s", err, text)
	}
}

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
)

// chromiumPath is where the Debian package chromium installs the browser.
const chromiumPath = "/usr/bin/chromium"

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
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing; .ci/run installs the Debian package chromium: %v", chromiumPath, err)
		}
		t.Skipf("no browser for the UI test: %s is missing (apt-get install chromium)", chromiumPath)
	}
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

package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
)

// asked reports whether the fake received method path?query.
func asked(f *fakeAPI, method, path, query string) bool {
	for _, req := range f.received() {
		if req.Method == method && req.Path == path && req.Query == query {
			return true
		}
	}
	return false
}

// TestAppDiffRevision: app diff --revision asks the server for its diff at
// the ref and prints and exits as app diff does (1 changes, 0 none, 2
// trouble), naming the ref and the commit it resolved to; --local and
// --revision together are refused before anything is asked.
func TestAppDiffRevision(t *testing.T) {
	f := newFakeAPI(t)
	f.add(testApp("gyre", "web"))
	f.revisionDiffs["gyre/web@refs/pull/7/head"] = `{"revision":"abcdef0123456789abcdef0123456789abcdef01","outOfSync":2,"items":[
		{"key":{"kind":"ConfigMap","namespace":"demo-web","name":"web"},"status":"OutOfSync","diff":"--- live\n+++ desired\n-  value: \"1\"\n+  value: \"2\"\n"},
		{"key":{"kind":"ConfigMap","namespace":"demo-web","name":"fresh"},"status":"Missing","diff":"+data: {}\n"},
		{"key":{"kind":"ConfigMap","namespace":"demo-web","name":"old"},"status":"Extraneous","diff":"-data: {}\n"},
		{"key":{"kind":"Service","namespace":"demo-web","name":"web"},"status":"InSync"}]}`
	f.revisionDiffs["gyre/web@main"] = `{"revision":"0123456789abcdef0123456789abcdef01234567","outOfSync":0,"items":[
		{"key":{"kind":"Service","namespace":"demo-web","name":"web"},"status":"InSync"}]}`
	f.add(testApp("gyre", "down"))
	f.fail["GET /api/v1/applications/gyre/down/diff"] = fakeFailure{http.StatusBadRequest, `{"error":"diff gyre/down at nope: resolve \"nope\": revision not found: no branch or tag named \"nope\""}`}

	r := runCLI(t, nil, f.against("app", "diff", "web", "--revision", "refs/pull/7/head")...)
	checkDiffRun(t, r, 1, []string{"Compared with refs/pull/7/head (abcdef0).", "===== ConfigMap/demo-web/web (OutOfSync) =====", `+  value: "2"`,
		"ConfigMap/demo-web/fresh (Missing)", "ConfigMap/demo-web/old (Extraneous)"}, "Service", "")
	if !asked(f, http.MethodGet, "/api/v1/applications/gyre/web/diff", "revision=refs%2Fpull%2F7%2Fhead") {
		t.Errorf("no GET .../diff?revision=refs/pull/7/head among %+v", f.received())
	}

	r = runCLI(t, nil, f.against("app", "diff", "web", "--revision", "refs/pull/7/head", "-o", "markdown")...)
	checkDiffRun(t, r, 1, []string{"### gyre diff: gyre/web at `refs/pull/7/head` (abcdef0)", "| `ConfigMap/demo-web/web` | change |",
		"| `ConfigMap/demo-web/fresh` | create |", "| `ConfigMap/demo-web/old` | prune |"}, "Service/", "")

	r = runCLI(t, nil, f.against("app", "diff", "web", "--revision", "main")...)
	checkDiffRun(t, r, 0, []string{"Compared with main (0123456)."}, "=====", "")

	r = runCLI(t, nil, f.against("app", "diff", "down", "--revision", "nope")...)
	checkDiffRun(t, r, 2, nil, "", `no branch or tag named "nope"`)

	before := len(f.received())
	r = runCLI(t, nil, f.against("app", "diff", "web", "--revision", "main", "--local", t.TempDir())...)
	checkDiffRun(t, r, 2, nil, "", "--local and --revision both say what to compare with: give one")
	if len(f.received()) != before {
		t.Errorf("--local with --revision asked the server: %+v", f.received()[before:])
	}
}

// TestAppManifestsGit: manifests --source git prints the server's render
// at the revision (or the followed one) as a YAML stream, and -o json as
// an array; the server's refusal of a revision is the command's error;
// --revision without --source git is refused.
func TestAppManifestsGit(t *testing.T) {
	f := newFakeAPI(t)
	f.add(testApp("gyre", "web"))
	f.manifests["gyre/web@feature"] = `{"revision":"abcdef0123456789abcdef0123456789abcdef01","items":[
		{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web"},"data":{"value":"2"}},
		{"apiVersion":"v1","kind":"Secret","metadata":{"name":"creds"},"data":{"password":"++++++++"}}]}`
	f.manifests["gyre/web@"] = `{"revision":"0123456789abcdef0123456789abcdef01234567","items":[
		{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web"},"data":{"value":"1"}}]}`

	r := runCLI(t, nil, f.against("app", "manifests", "web", "--source", "git", "--revision", "feature")...)
	docs := strings.Split(r.stdout, "---\n")
	if r.code != 0 || len(docs) != 2 || !strings.Contains(docs[0], "kind: ConfigMap") || !strings.Contains(docs[0], `value: "2"`) || !strings.Contains(docs[1], "kind: Secret") {
		t.Errorf("exit %d, stdout %q, stderr %q: want the ConfigMap at feature and the Secret", r.code, r.stdout, r.stderr)
	}
	if r.stderr != "gyre: gyre/web rendered from git at feature (abcdef0): 2 object(s)\n" {
		t.Errorf("stderr %q", r.stderr)
	}
	if !asked(f, http.MethodGet, "/api/v1/applications/gyre/web/manifests", "revision=feature") {
		t.Errorf("no GET .../manifests?revision=feature among %+v", f.received())
	}

	r = runCLI(t, nil, f.against("app", "manifests", "web", "--source", "git", "-o", "json")...)
	if r.code != 0 || !strings.HasPrefix(strings.TrimSpace(r.stdout), "[") || !strings.Contains(r.stdout, `"value": "1"`) {
		t.Errorf("-o json at the followed revision: exit %d, stdout %q", r.code, r.stdout)
	}

	r = runCLI(t, nil, f.against("app", "manifests", "web", "--source", "git", "--revision", "nope")...)
	if r.code != 1 || r.stderr != "gyre: render gyre/web: revision not found\n" {
		t.Errorf("unknown revision: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, nil, f.against("app", "manifests", "web", "--revision", "feature")...)
	if r.code != 1 || !strings.Contains(r.stderr, "add --source git") {
		t.Errorf("--revision with --source live: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestAppRefreshHard: refresh --hard posts refresh?hard=true, a plain
// refresh posts no query; both wait for the comparison.
func TestAppRefreshHard(t *testing.T) {
	for _, hard := range []bool{true, false} {
		f := newFakeAPI(t)
		f.add(reconciledApp("web", testNow().Add(-time.Minute)))
		f.then("POST /api/v1/applications/gyre/web/refresh", reconciledApp("web", testNow()))
		args := []string{"app", "refresh", "web"}
		query := ""
		if hard {
			args, query = append(args, "--hard"), "hard=true"
		}
		r := runCLI(t, nil, f.against(args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "refreshed") {
			t.Errorf("hard=%v: exit %d, stdout %q, stderr %q", hard, r.code, r.stdout, r.stderr)
		}
		if !asked(f, http.MethodPost, "/api/v1/applications/gyre/web/refresh", query) {
			t.Errorf("hard=%v: no POST .../refresh?%s among %+v", hard, query, f.received())
		}
	}
}

// TestAppSyncConfirmation: a sync (or a rollback) with --prune that would
// delete objects lists them and, with no terminal to ask on, exits 2
// without syncing unless --yes is given; so does a sync of an Application with
// Replace=true that would replace objects. A sync that would delete
// nothing, one without --prune and a dry run ask nothing (a dry run and a
// sync without --prune do not even ask the server's diff).
func TestAppSyncConfirmation(t *testing.T) {
	const syncPath = "/api/v1/applications/gyre/guestbook/sync"
	const diffPath = "/api/v1/applications/gyre/guestbook/diff"
	pruning := `{"outOfSync":2,"items":[
		{"key":{"kind":"ConfigMap","namespace":"demo-guestbook","name":"old"},"status":"Extraneous"},
		{"key":{"group":"apps","kind":"Deployment","namespace":"demo-guestbook","name":"guestbook"},"status":"OutOfSync"},
		{"key":{"kind":"Service","namespace":"demo-guestbook","name":"guestbook"},"status":"InSync"}]}`
	setup := func(t *testing.T, replace bool, diff string) *fakeAPI {
		f := newFakeAPI(t)
		before := testApp("gyre", "guestbook")
		if replace {
			before.Spec.SyncPolicy.SyncOptions = app.SyncOptions{"Replace=true"}
		}
		f.add(before)
		f.diffs["gyre/guestbook"] = diff
		f.then("POST "+syncPath, operationStates(before, app.OperationSucceeded, "synced feed", false, guestbookChanges()...)...)
		return f
	}
	synced := func(f *fakeAPI) bool { return asked(f, http.MethodPost, syncPath, "") }

	t.Run("prune refused without a terminal", func(t *testing.T) {
		f := setup(t, false, pruning)
		r := runCLI(t, nil, f.against("app", "sync", "guestbook", "--prune")...)
		if r.code != 2 || synced(f) {
			t.Fatalf("exit %d, synced %v; want exit 2 and no sync\nstderr %s", r.code, synced(f), r.stderr)
		}
		for _, want := range []string{"The sync of gyre/guestbook would:\n  delete   ConfigMap/demo-guestbook/old",
			"gyre: the sync of gyre/guestbook would delete 1 object: not asking for confirmation outside a terminal: pass --yes"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
		if strings.Contains(r.stderr, "Deployment") {
			t.Errorf("stderr lists an object that is only changed:\n%s", r.stderr)
		}
	})
	t.Run("prune with --yes", func(t *testing.T) {
		f := setup(t, false, pruning)
		r := runCLI(t, nil, f.against("app", "sync", "guestbook", "--prune", "--yes")...)
		if r.code != 0 || !synced(f) || !strings.Contains(r.stderr, "delete   ConfigMap/demo-guestbook/old") {
			t.Errorf("exit %d, synced %v, stderr %q; want the list and the sync", r.code, synced(f), r.stderr)
		}
	})
	t.Run("revision and resources", func(t *testing.T) {
		f := setup(t, false, "")
		f.revisionDiffs["gyre/guestbook@v2"] = pruning
		r := runCLI(t, nil, f.against("app", "sync", "guestbook", "--prune", "--revision", "v2", "--resource", "Deployment/guestbook")...)
		if r.code != 0 || !synced(f) || !asked(f, http.MethodGet, diffPath, "revision=v2") {
			t.Errorf("a sync of one object that is not pruned: exit %d, synced %v, stderr %q", r.code, synced(f), r.stderr)
		}
		r = runCLI(t, nil, f.against("app", "sync", "guestbook", "--prune", "--revision", "v2")...)
		if r.code != 2 {
			t.Errorf("a sync of v2 that prunes: exit %d, stderr %q; want 2", r.code, r.stderr)
		}
	})
	t.Run("replace", func(t *testing.T) {
		f := setup(t, true, pruning)
		r := runCLI(t, nil, f.against("app", "sync", "guestbook")...)
		if r.code != 2 || synced(f) || !strings.Contains(r.stderr, "replace  apps/Deployment/demo-guestbook/guestbook") || strings.Contains(r.stderr, "delete ") {
			t.Errorf("exit %d, synced %v, stderr %q; want the Deployment to be replaced listed and no sync", r.code, synced(f), r.stderr)
		}
	})
	t.Run("nothing to delete", func(t *testing.T) {
		f := setup(t, false, `{"outOfSync":1,"items":[{"key":{"kind":"ConfigMap","namespace":"demo-guestbook","name":"guestbook"},"status":"OutOfSync"}]}`)
		r := runCLI(t, nil, f.against("app", "sync", "guestbook", "--prune")...)
		if r.code != 0 || !synced(f) || r.stderr != "" {
			t.Errorf("exit %d, synced %v, stderr %q", r.code, synced(f), r.stderr)
		}
	})
	for _, args := range [][]string{{}, {"--dry-run", "--prune"}} {
		t.Run("no check "+strings.Join(args, " "), func(t *testing.T) {
			f := setup(t, false, pruning)
			r := runCLI(t, nil, f.against(append([]string{"app", "sync", "guestbook"}, args...)...)...)
			if r.code != 0 || !synced(f) || asked(f, http.MethodGet, diffPath, "") {
				t.Errorf("exit %d, synced %v, stderr %q; want a sync without a look at the diff", r.code, synced(f), r.stderr)
			}
		})
	}
	t.Run("rollback with prune", func(t *testing.T) {
		f := setup(t, false, "")
		f.revisionDiffs["gyre/guestbook@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] = pruning
		const rollbackPath = "/api/v1/applications/gyre/guestbook/rollback"
		r := runCLI(t, nil, f.against("app", "rollback", "guestbook", "--prune")...)
		if r.code != 2 || asked(f, http.MethodPost, rollbackPath, "") || !strings.Contains(r.stderr, "The rollback of gyre/guestbook to history 1 would:\n  delete   ConfigMap/demo-guestbook/old") {
			t.Errorf("without --yes: exit %d, stderr %q; want 2, the object listed and no rollback", r.code, r.stderr)
		}
		r = runCLI(t, nil, f.against("app", "rollback", "guestbook", "--prune", "--yes", "--async")...)
		if r.code != 0 || !asked(f, http.MethodPost, rollbackPath, "") {
			t.Errorf("with --yes: exit %d, stderr %q; want the rollback requested", r.code, r.stderr)
		}
		r = runCLI(t, nil, f.against("app", "rollback", "guestbook", "--async")...)
		if r.code != 0 || strings.Contains(r.stderr, "delete") {
			t.Errorf("without --prune: exit %d, stderr %q; want no question", r.code, r.stderr)
		}
	})
	t.Run("diff fails", func(t *testing.T) {
		f := setup(t, false, pruning)
		f.fail["GET "+diffPath] = fakeFailure{http.StatusInternalServerError, `{"error":"render: boom"}`}
		r := runCLI(t, nil, f.against("app", "sync", "guestbook", "--prune")...)
		if r.code != 2 || synced(f) || !strings.Contains(r.stderr, "cannot tell what the sync would delete or replace: render: boom (pass --yes") {
			t.Errorf("exit %d, synced %v, stderr %q", r.code, synced(f), r.stderr)
		}
	})
}

// TestConfirmDestructive: on a terminal the list is shown and the sync goes
// on only after a yes.
func TestConfirmDestructive(t *testing.T) {
	d := destructive{Prune: []app.ResourceKey{{Kind: "ConfigMap", Namespace: "ns", Name: "old"}}}
	for answer, ok := range map[string]bool{"y\n": true, "yes\n": true, "n\n": false, "\n": false, "": false} {
		var out bytes.Buffer
		s := &appSession{out: &out, errOut: &out}
		err := confirmDestructive(s, "sync of gyre/web", d, confirmation{Interactive: true, In: strings.NewReader(answer)})
		if (err == nil) != ok {
			t.Errorf("answer %q: err %v, want confirmed %v", answer, err, ok)
		}
		if !strings.Contains(out.String(), "delete   ConfigMap/ns/old") || !strings.Contains(out.String(), "The sync of gyre/web would:") || !strings.Contains(out.String(), "Go on and delete 1 object? [y/N]") {
			t.Errorf("answer %q: asked %q", answer, out.String())
		}
		if err != nil && exitStatus(err, &out) != syncExitRefused {
			t.Errorf("answer %q: exit %d, want %d", answer, exitStatus(err, &out), syncExitRefused)
		}
	}
}

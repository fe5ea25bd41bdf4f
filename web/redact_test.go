package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
)

// TestRepoURLRedacted: no answer of the API, the stream included, shows a
// repository address's credentials, and a search cannot find them.
func TestRepoURLRedacted(t *testing.T) {
	const (
		withPassword = "https://alice:hunter2@git.example.com/org/repo.git"
		withToken    = "https://ghp_s3cr3tt0ken@github.com/org/old.git"
		bare         = "https://git.example.com/org/repo.git"
	)
	secrets := []string{"hunter2", "ghp_s3cr3tt0ken", "alice:"}
	a := testApp("gyre", "guestbook", withPassword, "guestbook")
	a.Annotations = map[string]string{lastApplied: `{"spec":{"source":{"repoURL":"` + withPassword + `"}}}`, "note": "kept"}
	a.Status.Sync.ComparedTo = &app.ComparedTo{Source: app.Source{RepoURL: withPassword}}
	a.Status.History = []app.HistoryEntry{{ID: 1, Revision: "abc", Source: app.Source{RepoURL: withToken}}, {ID: 2, Revision: "def", Source: app.Source{RepoURL: withPassword}}}
	a.Status.Conditions = []app.Condition{{Type: app.ConditionSyncError, Message: "fetch " + withPassword + ": authentication failed"}}
	a.Status.OperationState = &app.OperationState{Phase: app.OperationFailed, Message: "ls-remote " + withPassword + ": 401"}
	b := newFakeBackend(a)
	ts := newTestServer(t, b, Options{})
	events := openStream(t, ts, "/api/v1/stream", true)

	noSecrets := func(what, body string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("%s shows %q: %s", what, s, body)
			}
		}
	}
	for _, path := range []string{"/api/v1/applications", "/api/v1/applications/gyre/guestbook", "/api/v1/applications/gyre/guestbook/history"} {
		code, body := ts.do(t, http.MethodGet, path, readonlyToken, "")
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		noSecrets("GET "+path, body)
		if !strings.Contains(body, `"repoURL":"`+bare+`"`) {
			t.Errorf("GET %s does not show the repository as %s: %s", path, bare, body)
		}
	}
	_, body := ts.do(t, http.MethodGet, "/api/v1/applications/gyre/guestbook", readonlyToken, "")
	if !strings.Contains(body, `"note":"kept"`) || !strings.Contains(body, "authentication failed") || !strings.Contains(body, "github.com/org/old.git") {
		t.Errorf("redaction dropped more than the credentials: %s", body)
	}

	b.put(a)
	for ev := nextEvent(t, events); ; ev = nextEvent(t, events) {
		if ev.event == "application" {
			noSecrets("the stream", ev.data)
			break
		}
	}

	for _, q := range []string{"hunter2", "alice"} {
		var l AppList
		ts.getJSON(t, "/api/v1/applications?search="+q, &l)
		if l.Total != 0 {
			t.Errorf("search=%s finds %d applications: the search sees the credentials", q, l.Total)
		}
	}
	var l AppList
	ts.getJSON(t, "/api/v1/applications?search=git.example.com/org", &l)
	if l.Total != 1 {
		t.Errorf("search by the redacted address finds %d, want 1", l.Total)
	}
	if a.Spec.Source.RepoURL != withPassword || a.Status.History[1].Source.RepoURL != withPassword || a.Annotations[lastApplied] == "" {
		t.Error("redacting changed the backend's Application")
	}
}

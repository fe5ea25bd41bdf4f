package notify

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gyre-cd/gyre/app"
)

// checkRequest fails unless q is a POST with the headers in want and the
// body want.
func checkRequest(t *testing.T, q received, wantHeaders map[string]string, wantBody string) {
	t.Helper()
	if q.Method != http.MethodPost {
		t.Errorf("%s %s, want POST", q.Method, q.Path)
	}
	for k, v := range wantHeaders {
		if got := q.Header.Get(k); got != v {
			t.Errorf("%s: header %s = %q, want %q", q.Path, k, got, v)
		}
	}
	if string(q.Body) != wantBody {
		t.Errorf("%s: body\n%s\nwant\n%s", q.Path, q.Body, wantBody)
	}
}

// TestWebhookPayload: a webhook gets its template's output, its headers,
// and the Secret's value (trimmed) in its secret header.
func TestWebhookPayload(t *testing.T) {
	ns := cluster.Namespace(t)
	r := newReceiver(t)
	newSecret(t, ns, "hook-token", "token", "Bearer s3cr3t\n")
	newApp(t, ns, "guestbook", nil, "")
	start(t, ns, func(o *Options) { o.UIURL = "https://gyre.example.com/" })
	newNotifier(t, ns, "hook", Spec{
		Events:    []Event{HealthDegraded},
		SecretRef: &SecretRef{Name: "hook-token", Key: "token"},
		Webhook: &WebhookTarget{
			URL:          r.URL + "/hook?team=payments",
			Headers:      map[string]string{"X-Team": "payments"},
			SecretHeader: "Authorization",
			BodyTemplate: `{"text": {{ printf "%s/%s: %s" .Namespace .Application .Event | json }}, "revision": {{ json .Revision }}, ` +
				`"health": {{ json .HealthStatus }}, "message": {{ json .HealthMessage }}, "project": {{ json .Project }}, "url": {{ json .URL }}, "at": {{ json .Time }}}`,
		},
	})
	waitReady(t, ns, "hook", ReasonAccepted)

	setStatus(t, ns, "guestbook", func(s *app.Status) {
		syncStatus(app.Synced)(s)
		health(app.Degraded, `Deployment/web: "CrashLoopBackOff"`)(s)
	})
	got := r.wait(t, "/hook", 1)
	checkRequest(t, got[0], map[string]string{"Content-Type": "application/json", "X-Team": "payments", "Authorization": "Bearer s3cr3t"},
		fmt.Sprintf(`{"text": "%[1]s/guestbook: HealthDegraded", "revision": "%[2]s", "health": "Degraded", "message": "Deployment/web: \"CrashLoopBackOff\"", `+
			`"project": "default", "url": "https://gyre.example.com/#/apps/%[1]s/guestbook", "at": "2026-07-01T12:00:00Z"}`, ns, revision))
	waitReady(t, ns, "hook", ReasonDelivered)
}

// TestWebhookDefaultBody: without a template, a webhook gets Data as
// JSON.
func TestWebhookDefaultBody(t *testing.T) {
	ns := cluster.Namespace(t)
	r := newReceiver(t)
	newApp(t, ns, "guestbook", nil, "team-a")
	start(t, ns, nil)
	newNotifier(t, ns, "hook", webhook(r, "/hook", SyncFailed))
	waitReady(t, ns, "hook", ReasonAccepted)

	setStatus(t, ns, "guestbook", func(s *app.Status) {
		syncStatus(app.OutOfSync)(s)
		s.OperationState = operation(1, app.OperationRunning, "")
	})
	setStatus(t, ns, "guestbook", func(s *app.Status) {
		s.OperationState = operation(1, app.OperationFailed, "Deployment/web: field is immutable")
	})
	got := r.wait(t, "/hook", 1)
	checkRequest(t, got[0], map[string]string{"Content-Type": "application/json"},
		fmt.Sprintf(`{"application":"guestbook","namespace":"%s","project":"team-a","event":"SyncFailed","revision":"%s","repoURL":"https://github.com/gyre-cd/demo.git",`+
			`"syncStatus":"OutOfSync","operationPhase":"Failed","operationMessage":"Deployment/web: field is immutable","time":"2026-07-01T12:00:00Z"}`, ns, revision2))
}

// TestSlackPayload: Slack gets a text line and one attachment, at the URL
// the Secret holds.
func TestSlackPayload(t *testing.T) {
	ns := cluster.Namespace(t)
	r := newReceiver(t)
	newSecret(t, ns, "slack", "url", r.URL+"/services/T000/B000/XXXX")
	newApp(t, ns, "guestbook", nil, "")
	start(t, ns, nil)
	newNotifier(t, ns, "slack", Spec{Events: []Event{OutOfSync}, SecretRef: &SecretRef{Name: "slack", Key: "url"}, Slack: &SlackTarget{Channel: "#deploys", Username: "gyre"}})
	waitReady(t, ns, "slack", ReasonAccepted)

	setStatus(t, ns, "guestbook", syncStatus(app.OutOfSync))
	got := r.wait(t, "/services/T000/B000/XXXX", 1)
	checkRequest(t, got[0], map[string]string{"Content-Type": "application/json"},
		fmt.Sprintf(`{"channel":"#deploys","username":"gyre","text":"%[1]s/guestbook is OutOfSync with git","attachments":[{"color":"warning","title":"%[1]s/guestbook",`+
			`"fields":[{"title":"Event","value":"OutOfSync","short":true},{"title":"Project","value":"default","short":true},{"title":"Sync","value":"OutOfSync","short":true},`+
			`{"title":"Health","value":"-","short":true},{"title":"Revision","value":"%[2]s","short":true},{"title":"Repository","value":"https://github.com/gyre-cd/demo.git","short":true}],`+
			`"ts":1782907200}]}`, ns, revision))
}

// TestGitHubStatus: each sync event sets a commit status on the
// Application's repository and revision, with the token and the state the
// event calls for.
func TestGitHubStatus(t *testing.T) {
	ns := cluster.Namespace(t)
	r := newReceiver(t)
	newSecret(t, ns, "github", "token", "ghp_t0ken")
	newApp(t, ns, "guestbook", nil, "")
	setStatus(t, ns, "guestbook", syncStatus(app.Synced))
	start(t, ns, nil)
	newNotifier(t, ns, "commits", Spec{
		Events:    []Event{SyncStarted, SyncSucceeded, SyncFailed},
		SecretRef: &SecretRef{Name: "github", Key: "token"},
		GitHub:    &GitHubTarget{APIURL: r.URL + "/api/v3"},
	})
	waitReady(t, ns, "commits", ReasonAccepted)

	for _, op := range []*app.OperationState{
		operation(1, app.OperationRunning, ""),
		operation(1, app.OperationSucceeded, "synced"),
		operation(10, app.OperationRunning, ""),
		operation(10, app.OperationError, "render failed"),
	} {
		setStatus(t, ns, "guestbook", func(s *app.Status) { s.OperationState = op })
	}
	// A start is reported on the compared revision, an end on the one the
	// operation synced (its SyncResult).
	started := r.wait(t, "/api/v3/repos/gyre-cd/demo/statuses/"+revision, 2)
	finished := r.wait(t, "/api/v3/repos/gyre-cd/demo/statuses/"+revision2, 2)
	headers := map[string]string{"Authorization": "Bearer ghp_t0ken", "Accept": "application/vnd.github+json", "Content-Type": "application/json"}
	for i, want := range []string{
		`{"state":"pending","description":"Sync of %s/guestbook started","context":"gyre/guestbook"}`,
		`{"state":"pending","description":"Sync of %s/guestbook started","context":"gyre/guestbook"}`,
	} {
		checkRequest(t, started[i], headers, fmt.Sprintf(want, ns))
	}
	for i, want := range []string{
		`{"state":"success","description":"Sync of %s/guestbook succeeded","context":"gyre/guestbook"}`,
		`{"state":"error","description":"Sync of %s/guestbook failed (Error): render failed","context":"gyre/guestbook"}`,
	} {
		checkRequest(t, finished[i], headers, fmt.Sprintf(want, ns))
	}
}

// TestAlertmanagerAlerts: HealthDegraded fires an alert with the labels
// that identify the Application; HealthRecovered resolves the same alert
// (same labels, endsAt set).
func TestAlertmanagerAlerts(t *testing.T) {
	ns := cluster.Namespace(t)
	r := newReceiver(t)
	newApp(t, ns, "guestbook", nil, "")
	setStatus(t, ns, "guestbook", func(s *app.Status) { syncStatus(app.Synced)(s); health(app.Healthy, "")(s) })
	start(t, ns, nil)
	newNotifier(t, ns, "am", Spec{Events: []Event{HealthDegraded, HealthRecovered}, Alertmanager: &AlertmanagerTarget{URL: r.URL + "/am/"}})
	waitReady(t, ns, "am", ReasonAccepted)

	setStatus(t, ns, "guestbook", health(app.Degraded, "Pod/web-1: OOMKilled"))
	setStatus(t, ns, "guestbook", health(app.Healthy, ""))
	got := r.wait(t, "/am/api/v2/alerts", 2)
	labels := fmt.Sprintf(`"labels":{"alertname":"GyreApplicationDegraded","application":"guestbook","namespace":"%s","project":"default","severity":"critical"}`, ns)
	checkRequest(t, got[0], map[string]string{"Content-Type": "application/json"},
		fmt.Sprintf(`[{%s,"annotations":{"event":"HealthDegraded","revision":"%s","summary":"%s/guestbook is Degraded: Pod/web-1: OOMKilled"},"startsAt":"2026-07-01T12:00:00Z"}]`, labels, revision, ns))
	checkRequest(t, got[1], map[string]string{"Content-Type": "application/json"},
		fmt.Sprintf(`[{%s,"annotations":{"event":"HealthRecovered","revision":"%s","summary":"%s/guestbook is Healthy again"},"endsAt":"2026-07-01T12:00:00Z"}]`, labels, revision, ns))
}

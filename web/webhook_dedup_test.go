package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// refreshes counts what the backend was asked to refresh, the drain
// markers left out.
func refreshes(b *fakeBackend) int {
	_, refreshed, repoCalls, _ := b.snapshot()
	return len(refreshed) + len(withoutMarker(repoCalls))
}

// TestWebhookDeduplicated sends each provider's signed push twice with one
// delivery id: the redelivery answers 200, refreshes nothing and is counted
// as a duplicate; the same push with a new id refreshes again.
func TestWebhookDeduplicated(t *testing.T) {
	for _, tc := range []struct {
		name, provider, body, idHeader string
		headers                        map[string]string
	}{
		{"GitHub", "github", githubPush, "X-GitHub-Delivery", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(githubPush)}},
		{"GitLab", "gitlab", gitlabPush, "X-Gitlab-Event-UUID", map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": webhookSecret}},
		{"Gitea", "gitea", giteaPush, "X-Gitea-Delivery", map[string]string{"X-Gitea-Event": "push", "X-GitHub-Event": "push", "X-Gitea-Signature": sign(giteaPush)}},
		{"Forgejo", "gitea", giteaPush, "X-Forgejo-Delivery", map[string]string{"X-Forgejo-Event": "push", "X-Forgejo-Signature": sign(giteaPush)}},
		{"Bitbucket Cloud", "bitbucket", bitbucketPush, "X-Request-UUID", map[string]string{"X-Event-Key": "repo:push", "X-Hook-UUID": "hook-1", "X-Hub-Signature": "sha256=" + sign(bitbucketPush)}},
		{"Bitbucket Server", "bitbucketserver", bitbucketServerPush, "X-Request-Id", map[string]string{"X-Event-Key": "repo:refs_changed", "X-Hub-Signature": "sha256=" + sign(bitbucketServerPush)}},
		{"generic", "generic", genericPush, "X-Gyre-Delivery", map[string]string{"X-Gyre-Signature": "sha256=" + sign(genericPush)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeBackend(
				testApp("gyre", "a", "https://github.com/org/repo", "apps/a"),
				testApp("gyre", "b", "https://gitlab.com/org/repo.git", "apps/b"),
			)
			ts := newTestServer(t, b, Options{WebhookSecrets: webhookSecrets()})
			post := func(id string) (int, string) {
				h := map[string]string{tc.idHeader: id}
				for k, v := range tc.headers {
					h[k] = v
				}
				return ts.postWebhook(t, "", tc.body, h)
			}
			if code, body := post("delivery-1"); code != http.StatusAccepted {
				t.Fatalf("first delivery: %d %s", code, body)
			}
			ts.drain(t, b)
			once := refreshes(b)
			if once == 0 {
				t.Fatal("the first delivery refreshed nothing")
			}
			code, body := post("delivery-1")
			if code != http.StatusOK || !strings.Contains(body, `"duplicate":true`) {
				t.Fatalf("redelivery: %d %s, want 200 and duplicate", code, body)
			}
			ts.drain(t, b)
			if got := refreshes(b); got != once {
				t.Fatalf("the redelivery refreshed again: %d refreshes, want %d", got, once)
			}
			if code, body := post("delivery-2"); code != http.StatusAccepted {
				t.Fatalf("a new delivery of the same push: %d %s", code, body)
			}
			ts.drain(t, b)
			if got := refreshes(b); got != 2*once {
				t.Fatalf("a new delivery id: %d refreshes, want %d", got, 2*once)
			}
			_, metrics := ts.do(t, http.MethodGet, "/metrics", "", "")
			if want := fmt.Sprintf(`gyre_webhook_requests_total{provider=%q,result="duplicate"} 1`, tc.provider); !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		})
	}
}

// TestWebhookDedupNotPoisoned: only a verified delivery is remembered, so
// a forged or unsigned request carrying a real delivery's id does not make
// gyre skip the real one; nor does a refused one, nor another provider's
// id.
func TestWebhookDedupNotPoisoned(t *testing.T) {
	b := newFakeBackend(testApp("gyre", "a", "https://github.com/org/repo", "apps/a"))
	ts := newTestServer(t, b, Options{WebhookSecrets: webhookSecrets()})
	gh := func(id, sig string) (int, string) {
		h := map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": id}
		if sig != "" {
			h["X-Hub-Signature-256"] = "sha256=" + sig
		}
		return ts.postWebhook(t, "", githubPush, h)
	}
	for _, forged := range []string{strings.Repeat("0", 64), signWith("guess", githubPush), ""} {
		if code, body := gh("d-1", forged); code != http.StatusUnauthorized {
			t.Fatalf("forged: %d %s", code, body)
		}
	}
	// The generic provider's id space is its own.
	generic := map[string]string{"X-Gyre-Signature": "sha256=" + sign(genericPush), "X-Gyre-Delivery": "d-1"}
	if code, body := ts.postWebhook(t, "", genericPush, generic); code != http.StatusAccepted {
		t.Fatalf("generic delivery d-1: %d %s", code, body)
	}
	// A signed delivery gyre refused as bad is handled when it comes again
	// fixed.
	bad := `{"ref": "main"}`
	if code, body := ts.postWebhook(t, "", bad, map[string]string{"X-Gyre-Signature": "sha256=" + sign(bad), "X-Gyre-Delivery": "d-2"}); code != http.StatusBadRequest {
		t.Fatalf("signed bad payload: %d %s", code, body)
	}
	if code, body := ts.postWebhook(t, "", genericPush, map[string]string{"X-Gyre-Signature": "sha256=" + sign(genericPush), "X-Gyre-Delivery": "d-2"}); code != http.StatusAccepted {
		t.Fatalf("the retry of a refused delivery: %d %s", code, body)
	}
	if code, body := gh("d-1", sign(githubPush)); code != http.StatusAccepted {
		t.Fatalf("the real GitHub delivery d-1 after forgeries with its id: %d %s", code, body)
	}
	ts.drain(t, b)
	if _, refreshed, _, _ := b.snapshot(); len(refreshed) != 1 {
		t.Fatalf("refreshed %v, want the one application once", refreshed)
	}
}

// TestWebhookDedupWindow: a delivery id is remembered for ten minutes.
func TestWebhookDedupWindow(t *testing.T) {
	clock := newFakeClock()
	b := newFakeBackend()
	ts := newTestServer(t, b, Options{WebhookSecrets: webhookSecrets(), now: clock.Now})
	h := map[string]string{"X-Gyre-Signature": "sha256=" + sign(genericPush), "X-Gyre-Delivery": "d-1"}
	for _, step := range []struct {
		after time.Duration
		want  int
	}{{0, http.StatusAccepted}, {9 * time.Minute, http.StatusOK}, {time.Minute, http.StatusAccepted}, {0, http.StatusOK}} {
		clock.Advance(step.after)
		if code, body := ts.postWebhook(t, "", genericPush, h); code != step.want {
			t.Fatalf("after %v more: %d %s, want %d", step.after, code, body, step.want)
		}
	}
}

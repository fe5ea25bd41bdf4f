package web

import (
	"net/http"
	"testing"
)

// TestTokenSetReload: a TokenSet swapped under a running server takes
// effect on the next request: a removed token gets 401, a new one works,
// and a changed scope applies.
func TestTokenSetReload(t *testing.T) {
	b := newFakeBackend(inProject(testApp("b", "theirs", "https://git.example.com/org/repo.git", ""), "team-b"))
	tokens := NewTokenSet(StaticTokens{"old": {Name: "ci", Role: RoleAdmin}})
	ts := newTestServer(t, b, Options{Tokens: tokens})
	status := func(token, path string) int {
		code, _ := ts.do(t, http.MethodGet, path, token, "")
		return code
	}
	if got := status("old", "/api/v1/applications/b/theirs"); got != http.StatusOK {
		t.Fatalf("old token before the reload: %d", got)
	}
	tokens.Store(StaticTokens{"new": {Name: "ci", Role: RoleAdmin, Projects: []string{"team-a"}}})
	if got := status("old", "/api/v1/version"); got != http.StatusUnauthorized {
		t.Errorf("old token after the reload: %d, want 401", got)
	}
	if got := status("new", "/api/v1/version"); got != http.StatusOK {
		t.Errorf("new token after the reload: %d, want 200", got)
	}
	if got := status("new", "/api/v1/applications/b/theirs"); got != http.StatusNotFound {
		t.Errorf("new token, limited to team-a, on team-b's application: %d, want 404", got)
	}
	if got := status("old", "/api/v1/version"); got != http.StatusUnauthorized {
		t.Errorf("old token after the reload: %d, want 401", got)
	}
	var zero TokenSet
	if _, ok := zero.Lookup("old"); ok {
		t.Error("the zero TokenSet knows a token")
	}
}

// TestWebhookSecretSetReload: a webhook secret swapped under a running
// server takes effect on the next delivery.
func TestWebhookSecretSetReload(t *testing.T) {
	b := newFakeBackend()
	secrets := NewWebhookSecretSet(webhookSecrets())
	ts := newTestServer(t, b, Options{WebhookSecrets: secrets})
	headers := map[string]string{"X-Gyre-Signature": "sha256=" + sign(genericPush)}
	if code, body := ts.postWebhook(t, "", genericPush, headers); code != http.StatusAccepted {
		t.Fatalf("before the reload: %d %s", code, body)
	}
	secrets.Store(StaticWebhookSecrets{"generic": []byte("rotated")})
	if code, body := ts.postWebhook(t, "", genericPush, headers); code != http.StatusUnauthorized {
		t.Fatalf("signed with the old secret after the reload: %d %s", code, body)
	}
	mac := signWith("rotated", genericPush)
	if code, body := ts.postWebhook(t, "", genericPush, map[string]string{"X-Gyre-Signature": "sha256=" + mac}); code != http.StatusAccepted {
		t.Fatalf("signed with the new secret: %d %s", code, body)
	}
}

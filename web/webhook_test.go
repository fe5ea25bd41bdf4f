package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const webhookSecret = "webhook-shared-secret"

func sign(body string) string { return signWith(webhookSecret, body) }

// signWith returns the hex HMAC-SHA256 of body keyed with secret.
func signWith(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}

func webhookSecrets() StaticWebhookSecrets {
	s := StaticWebhookSecrets{}
	for _, p := range Providers() {
		s[string(p)] = []byte(webhookSecret)
	}
	return s
}

// postWebhook sends body with headers to /api/webhook (query appended).
func (ts *testServer) postWebhook(t *testing.T, query, body string, headers map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/webhook"+query, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const (
	githubPush = `{"ref": "refs/heads/main", "before": "0000", "after": "1111",
  "repository": {"clone_url": "https://github.com/org/repo.git", "html_url": "https://github.com/org/repo", "ssh_url": "git@github.com:org/repo.git"},
  "commits": [{"added": ["apps/a/new.yaml"], "modified": [], "removed": []}]}`
	githubTagPush = `{"ref": "refs/tags/v1.0.0",
  "repository": {"clone_url": "https://github.com/org/repo.git", "html_url": "https://github.com/org/repo", "ssh_url": "git@github.com:org/repo.git"},
  "commits": []}`
	gitlabPush = `{"object_kind": "push", "ref": "refs/heads/main",
  "project": {"git_http_url": "https://gitlab.com/org/repo.git", "git_ssh_url": "git@gitlab.com:org/repo.git", "web_url": "https://gitlab.com/org/repo"},
  "commits": [{"added": [], "modified": ["apps/b/deploy.yaml"], "removed": []}], "total_commits_count": 1}`
	giteaPush = `{"ref": "refs/heads/main",
  "repository": {"clone_url": "https://gitea.example.com/org/repo.git", "html_url": "https://gitea.example.com/org/repo", "ssh_url": "git@gitea.example.com:org/repo.git"},
  "commits": [{"added": [], "modified": ["apps/a/x.yaml"], "removed": []}, {"added": [], "modified": ["apps/b/x.yaml"], "removed": []}],
  "total_commits": 7}`
	bitbucketPush = `{"repository": {"full_name": "org/repo", "links": {"html": {"href": "https://bitbucket.org/org/repo"}}},
  "push": {"changes": [{"new": {"type": "branch", "name": "main"}, "old": {"type": "branch", "name": "main"}},
                       {"new": null, "old": {"type": "tag", "name": "v1"}}]}}`
	bitbucketServerPush = `{"eventKey": "repo:refs_changed",
  "repository": {"slug": "repo", "links": {"clone": [
    {"href": "ssh://git@bitbucket.example.com:7999/org/repo.git", "name": "ssh"},
    {"href": "https://bitbucket.example.com/scm/org/repo.git", "name": "http"}]}},
  "changes": [{"ref": {"id": "refs/heads/main", "displayId": "main", "type": "BRANCH"}, "refId": "refs/heads/main", "type": "UPDATE"}]}`
	genericPush = `{"repository": "https://git.example.com/org/repo.git", "ref": "refs/heads/main"}`
)

func TestWebhookProviders(t *testing.T) {
	for _, tc := range []struct {
		name, query, body string
		headers           map[string]string
		wantRepoCalls     []string // RefreshRepository calls, sorted
		wantRefreshed     []string // Refresh calls
	}{
		{
			name: "GitHub push with files", body: githubPush,
			headers:       map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(githubPush)},
			wantRefreshed: []string{"gyre/a-github"},
		},
		{
			name: "GitHub tag push", body: githubTagPush,
			headers: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(githubTagPush)},
			wantRepoCalls: []string{
				"git@github.com:org/repo.git@refs/tags/v1.0.0",
				"https://github.com/org/repo.git@refs/tags/v1.0.0",
			},
		},
		{
			name: "GitLab push", body: gitlabPush,
			headers:       map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": webhookSecret},
			wantRefreshed: []string{"gyre/b-gitlab"},
		},
		{
			name: "Gitea push with more commits than listed", body: giteaPush,
			headers: map[string]string{"X-Gitea-Event": "push", "X-GitHub-Event": "push", "X-Gitea-Signature": sign(giteaPush)},
			wantRepoCalls: []string{
				"git@gitea.example.com:org/repo.git@refs/heads/main",
				"https://gitea.example.com/org/repo.git@refs/heads/main",
			},
		},
		{
			name: "Forgejo push", body: giteaPush,
			headers: map[string]string{"X-Forgejo-Event": "push", "X-Gitea-Event": "push", "X-Forgejo-Signature": sign(giteaPush)},
			wantRepoCalls: []string{
				"git@gitea.example.com:org/repo.git@refs/heads/main",
				"https://gitea.example.com/org/repo.git@refs/heads/main",
			},
		},
		{
			name: "Bitbucket Cloud push, signed", body: bitbucketPush,
			headers: map[string]string{"X-Event-Key": "repo:push", "X-Hook-UUID": "u", "X-Hub-Signature": "sha256=" + sign(bitbucketPush)},
			wantRepoCalls: []string{
				"https://bitbucket.org/org/repo@refs/heads/main",
				"https://bitbucket.org/org/repo@refs/tags/v1",
			},
		},
		{
			name: "Bitbucket Cloud push, secret in the query", query: "?secret=" + webhookSecret, body: bitbucketPush,
			headers: map[string]string{"X-Event-Key": "repo:push", "X-Hook-UUID": "u"},
			wantRepoCalls: []string{
				"https://bitbucket.org/org/repo@refs/heads/main",
				"https://bitbucket.org/org/repo@refs/tags/v1",
			},
		},
		{
			name: "Bitbucket Server push", body: bitbucketServerPush,
			headers: map[string]string{"X-Event-Key": "repo:refs_changed", "X-Request-Id": "r", "X-Hub-Signature": "sha256=" + sign(bitbucketServerPush)},
			wantRepoCalls: []string{
				"https://bitbucket.example.com/scm/org/repo.git@refs/heads/main",
				"ssh://git@bitbucket.example.com:7999/org/repo.git@refs/heads/main",
			},
		},
		{
			name: "generic push", body: genericPush,
			headers:       map[string]string{"X-Gyre-Signature": "sha256=" + sign(genericPush)},
			wantRepoCalls: []string{"https://git.example.com/org/repo.git@refs/heads/main"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeBackend(
				testApp("gyre", "a-github", "https://github.com/org/repo", "apps/a"),
				testApp("gyre", "b-github", "git@github.com:org/repo.git", "apps/b"),
				testApp("gyre", "b-gitlab", "https://gitlab.com/org/repo.git", "apps/b"),
				testApp("gyre", "elsewhere", "https://github.com/org/other.git", "apps/a"),
			)
			ts := newTestServer(t, b, Options{WebhookSecrets: webhookSecrets()})
			start := time.Now()
			code, body := ts.postWebhook(t, tc.query, tc.body, tc.headers)
			if code != http.StatusAccepted {
				t.Fatalf("%d %s", code, body)
			}
			t.Logf("answered in %s", time.Since(start))
			eventually(t, "the refresh", func() bool {
				_, refreshed, repoCalls, _ := b.snapshot()
				return len(refreshed)+len(repoCalls) >= len(tc.wantRefreshed)+len(tc.wantRepoCalls)
			})
			ts.drain(t, b)
			_, refreshed, repoCalls, forgotten := b.snapshot()
			repoCalls = withoutMarker(repoCalls)
			slices.Sort(repoCalls)
			var refreshedNames []string
			for _, k := range refreshed {
				refreshedNames = append(refreshedNames, k.String())
			}
			if !slices.Equal(repoCalls, tc.wantRepoCalls) || !slices.Equal(refreshedNames, tc.wantRefreshed) {
				t.Fatalf("RefreshRepository %q, Refresh %q; want %q, %q", repoCalls, refreshedNames, tc.wantRepoCalls, tc.wantRefreshed)
			}
			if len(tc.wantRefreshed) > 0 && len(forgotten) == 0 {
				t.Fatal("path-filtered push did not drop the repository's ref listing")
			}
		})
	}
}

func TestWebhookPathFilter(t *testing.T) {
	b := newFakeBackend(
		testApp("gyre", "a", "https://git.example.com/org/repo.git", "apps/a"),
		testApp("gyre", "ab", "https://git.example.com/org/repo.git", "apps/ab"),
		testApp("gyre", "b", "https://git.example.com/org/repo.git", "./apps/b/"),
		testApp("gyre", "root", "https://git.example.com/org/repo", ""),
		testApp("gyre", "other-branch", "https://git.example.com/org/repo.git", "apps/a"),
		testApp("gyre", "other-repo", "https://git.example.com/org/other.git", "apps/a"),
	)
	b.apps[types.NamespacedName{Namespace: "gyre", Name: "other-branch"}].Spec.Source.TargetRevision = "release"
	ts := newTestServer(t, b, Options{WebhookSecrets: webhookSecrets()})
	body := `{"repository": "https://user:pw@git.example.com/org/repo.git", "ref": "refs/heads/main", "paths": ["apps/a/deploy.yaml", "README.md"]}`
	code, resp := ts.postWebhook(t, "", body, map[string]string{"X-Gyre-Signature": "sha256=" + sign(body)})
	if code != http.StatusAccepted {
		t.Fatalf("%d %s", code, resp)
	}
	eventually(t, "the refresh", func() bool { _, r, _, _ := b.snapshot(); return len(r) >= 2 })
	ts.drain(t, b)
	_, refreshed, repoCalls, forgotten := b.snapshot()
	repoCalls = withoutMarker(repoCalls)
	var names []string
	for _, k := range refreshed {
		names = append(names, k.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"a", "root"}) || len(repoCalls) != 0 || len(forgotten) != 1 {
		t.Fatalf("refreshed %v, RefreshRepository %v, ForgetRepository %v; want [a root], none, one", names, repoCalls, forgotten)
	}
}

// TestWebhookRefreshesEverySource: a push refreshes an app whose repository
// is any of its spec.sources: one with a touched path, or a ref source
// (whose files another source reads), but not one whose own path is
// untouched, nor a chart source of the same address.
func TestWebhookRefreshesEverySource(t *testing.T) {
	const pushed, other = "https://git.example.com/org/repo.git", "https://git.example.com/org/other.git"
	withSources := func(name string, srcs ...app.Source) *app.Application {
		a := testApp("gyre", name, other, "x")
		a.Spec.Source = app.Source{}
		a.Spec.Sources = srcs
		return a
	}
	b := newFakeBackend(
		withSources("second-path", app.Source{RepoURL: other, Path: "x"}, app.Source{RepoURL: pushed, Path: "apps/a"}),
		withSources("values-ref", app.Source{RepoURL: "https://charts.example.com", Chart: "demo", Helm: &app.HelmSource{ValueFiles: []string{"$v/prod.yaml"}}}, app.Source{RepoURL: pushed, Ref: "v"}),
		withSources("untouched", app.Source{RepoURL: other, Path: "x"}, app.Source{RepoURL: pushed, Path: "apps/b"}),
		withSources("other-branch", app.Source{RepoURL: pushed, Path: "apps/a", TargetRevision: "release"}),
		withSources("chart", app.Source{RepoURL: pushed, Chart: "demo"}),
	)
	ts := newTestServer(t, b, Options{WebhookSecrets: webhookSecrets()})
	body := `{"repository": "` + pushed + `", "ref": "refs/heads/main", "paths": ["apps/a/deploy.yaml"]}`
	code, resp := ts.postWebhook(t, "", body, map[string]string{"X-Gyre-Signature": "sha256=" + sign(body)})
	if code != http.StatusAccepted {
		t.Fatalf("%d %s", code, resp)
	}
	eventually(t, "the refresh", func() bool { _, r, _, _ := b.snapshot(); return len(r) >= 2 })
	ts.drain(t, b)
	_, refreshed, _, _ := b.snapshot()
	var names []string
	for _, k := range refreshed {
		names = append(names, k.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"second-path", "values-ref"}) {
		t.Fatalf("refreshed %v, want [second-path values-ref]", names)
	}
}

func TestTouchesPath(t *testing.T) {
	for _, tc := range []struct {
		dir     string
		changed []string
		want    bool
	}{
		{"apps/a", []string{"apps/a/x.yaml"}, true},
		{"apps/a", []string{"apps/a"}, true},
		{"apps/a", []string{"apps/ab/x.yaml"}, false},
		{"apps/a/", []string{"apps/a/x.yaml"}, true},
		{"./apps/a", []string{"apps/a/sub/x.yaml"}, true},
		{"", []string{"anything"}, true},
		{".", []string{"anything"}, true},
		{"apps/a", []string{"apps/b/x.yaml", "docs/a"}, false},
	} {
		if got := touchesPath(tc.dir, tc.changed); got != tc.want {
			t.Errorf("touchesPath(%q, %q) = %v", tc.dir, tc.changed, got)
		}
	}
}

func TestWebhookRefused(t *testing.T) {
	var logs testsupport.LockedBuffer
	b := newFakeBackend(testApp("gyre", "a", "https://github.com/org/repo.git", "apps/a"))
	ts := newTestServer(t, b, Options{
		WebhookSecrets: webhookSecrets(),
		MaxWebhookBody: 4096,
		Logger:         slog.New(slog.NewTextHandler(&logs, nil)),
	})
	forged := strings.Repeat("0", 64)
	for _, tc := range []struct {
		name, query, body string
		headers           map[string]string
		want              int
	}{
		{"GitHub forged", "", githubPush, map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + forged}, http.StatusUnauthorized},
		{"GitHub unsigned", "", githubPush, map[string]string{"X-GitHub-Event": "push"}, http.StatusUnauthorized},
		{"GitHub signed with the body changed", "", githubPush, map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(githubPush+" ")}, http.StatusUnauthorized},
		{"GitHub not hex", "", githubPush, map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=zz"}, http.StatusUnauthorized},
		{"GitLab wrong token", "", gitlabPush, map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "guess"}, http.StatusUnauthorized},
		{"Gitea forged", "", giteaPush, map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": forged}, http.StatusUnauthorized},
		{"Bitbucket wrong query secret", "?secret=guess", bitbucketPush, map[string]string{"X-Event-Key": "repo:push", "X-Hook-UUID": "u"}, http.StatusUnauthorized},
		{"Bitbucket Server forged", "", bitbucketServerPush, map[string]string{"X-Event-Key": "repo:refs_changed", "X-Hub-Signature": "sha256=" + forged}, http.StatusUnauthorized},
		{"generic unsigned", "", genericPush, nil, http.StatusUnauthorized},
		{"too large", "", `{"repository": "` + strings.Repeat("x", 5000) + `"}`, map[string]string{"X-Gyre-Signature": "sha256=" + forged}, http.StatusRequestEntityTooLarge},
		{"signed but not JSON", "", "nope", map[string]string{"X-Gyre-Signature": "sha256=" + sign("nope")}, http.StatusBadRequest},
		{"signed without a repository", "", `{"ref": "main"}`, map[string]string{"X-Gyre-Signature": "sha256=" + sign(`{"ref": "main"}`)}, http.StatusBadRequest},
		{"GitHub ping", "", `{"zen": "hi"}`, map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + sign(`{"zen": "hi"}`)}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := ts.postWebhook(t, tc.query, tc.body, tc.headers)
			if code != tc.want {
				t.Fatalf("%d, want %d: %s", code, tc.want, body)
			}
		})
	}
	ts.drain(t, b)
	if _, refreshed, repoCalls, forgotten := b.snapshot(); len(refreshed)+len(withoutMarker(repoCalls))+len(forgotten) > 0 {
		t.Fatalf("refused webhooks refreshed: %v %v %v", refreshed, repoCalls, forgotten)
	}
	out := logs.String()
	if !strings.Contains(out, "webhook refused") || strings.Contains(out, "apps/a/new.yaml") || strings.Contains(out, "clone_url") {
		t.Errorf("log should name the refusal and hold no payload:\n%s", out)
	}

	_, metrics := ts.do(t, http.MethodGet, "/metrics", "", "")
	for _, want := range []string{
		`gyre_webhook_requests_total{provider="github",result="unauthorized"} 4`,
		`gyre_webhook_requests_total{provider="generic",result="too_large"} 1`,
		`gyre_webhook_requests_total{provider="github",result="ignored"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestWebhookWithoutSecret(t *testing.T) {
	b := newFakeBackend(testApp("gyre", "a", "https://git.example.com/org/repo.git", ""))
	ts := newTestServer(t, b, Options{WebhookSecrets: StaticWebhookSecrets{"github": []byte("x")}})
	code, body := ts.postWebhook(t, "", genericPush, map[string]string{"X-Gyre-Signature": "sha256=" + sign(genericPush)})
	wantError(t, code, body, http.StatusUnauthorized, "no secret is configured for provider generic")
}

func TestWebhookQueue(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var done []string
	q := newWebhookQueue(func(e pushEvent) {
		<-release
		mu.Lock()
		done = append(done, e.urls[0])
		mu.Unlock()
	})
	for i := range maxQueuedPushes + 1 { // the worker holds one, the queue the rest
		if !q.add(pushEvent{urls: []string{string(rune('a' + i%26))}}) {
			t.Fatalf("push %d refused", i)
		}
		if i == 0 {
			eventually(t, "the worker to take the first push", func() bool {
				q.mu.Lock()
				defer q.mu.Unlock()
				return len(q.items) == 0
			})
		}
	}
	if q.add(pushEvent{urls: []string{"overflow"}}) {
		t.Fatal("a full queue took another push")
	}
	close(release)
	eventually(t, "the queue to drain", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(done) == maxQueuedPushes+1
	})
	eventually(t, "the worker to stop", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return !q.running
	})
}

func TestWebhookSecretsFromSecret(t *testing.T) {
	s, err := WebhookSecretsFromSecret(secretWith(map[string][]byte{"github": []byte("gh\n"), "generic": []byte("g")}))
	if err != nil || string(s.Secrets()["github"]) != "gh" || string(s.Secrets()["generic"]) != "g" {
		t.Fatalf("%v, %v", s, err)
	}
	if _, err := WebhookSecretsFromSecret(secretWith(map[string][]byte{"gogs": []byte("x")})); err == nil || !strings.Contains(err.Error(), `key "gogs": unknown webhook provider`) {
		t.Fatalf("unknown provider: %v", err)
	}
}

// A compile-time check that the fake keeps up with the interface.
var _ Backend = (*fakeBackend)(nil)

func secretWith(data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "gyre", Name: "webhooks"}, Data: data}
}

// markerRepo is the repository of the push drain sends.
const markerRepo = "https://marker.invalid/drain.git"

// drain sends a push of markerRepo and waits until the webhook worker has
// handled it. The worker handles pushes one at a time in order, so every
// push sent before has been handled too: what a wrong push would have done
// has happened by the time drain returns.
func (ts *testServer) drain(t *testing.T, b *fakeBackend) {
	t.Helper()
	markers := func() int {
		_, _, repoCalls, _ := b.snapshot()
		return len(repoCalls) - len(withoutMarker(repoCalls))
	}
	before := markers()
	body := `{"repository": "` + markerRepo + `", "ref": "refs/heads/main"}`
	code, resp := ts.postWebhook(t, "", body, map[string]string{"X-Gyre-Signature": "sha256=" + sign(body)})
	if code != http.StatusAccepted {
		t.Fatalf("marker push: %d %s", code, resp)
	}
	eventually(t, "the marker push", func() bool { return markers() > before })
}

// withoutMarker drops drain's calls from a list of RefreshRepository calls.
func withoutMarker(calls []string) []string {
	return slices.DeleteFunc(slices.Clone(calls), func(c string) bool { return strings.HasPrefix(c, markerRepo) })
}

package e2e

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
)

// webhookDeadline is how long an Application may take from an accepted
// webhook to Synced at the pushed commit.
const webhookDeadline = 30 * time.Second

// configMaps returns n ConfigMap manifests under dir, whose data carry
// version.
func configMaps(dir string, n int, version string) map[string]string {
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("%s/cm-%02d.yaml", dir, i)] = fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: cm-%02d
data:
  version: %q
`, i, version)
	}
	return files
}

// automatedApp creates an Application that tracks path on main of repo,
// with automated sync, prune and self-heal, into a namespace of its own.
func automatedApp(tb testing.TB, name, repo, path string) {
	tb.Helper()
	createApp(tb, &app.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gyre", Name: name},
		Spec: app.Spec{
			Source:      app.Source{RepoURL: repo, TargetRevision: "main", Path: path},
			Destination: app.Destination{Namespace: name + "-dest"},
			SyncPolicy: &app.SyncPolicy{
				Automated:   &app.AutomatedSync{Prune: true, SelfHeal: true},
				SyncOptions: app.SyncOptions{"CreateNamespace=true"},
			},
		},
	})
}

// syncedAt reports whether the Application is Synced at revision with no
// operation left to run, and its state in words.
func syncedAt(tb testing.TB, name, revision string) (bool, string) {
	a, ok := getApp(tb, "gyre", name)
	if !ok {
		return false, "not in the API yet"
	}
	st := a.Status
	done := st.Sync.Status == app.Synced && st.Sync.Revision == revision && a.Operation == nil &&
		(st.OperationState == nil || st.OperationState.Phase.Completed())
	state := fmt.Sprintf("sync %s at %.7s, want Synced at %.7s", st.Sync.Status, st.Sync.Revision, revision)
	if op := st.OperationState; op != nil {
		state += fmt.Sprintf("; operation %s: %s", op.Phase, op.Message)
	}
	return done, state
}

// hookSender builds one provider's push webhook.
type hookSender struct {
	provider string
	// payload is the push of sha to main of repo that changed the files.
	payload func(repo, sha string, files []string) any
	// sign sets the provider's signature (or token) of body with secret.
	sign func(req *http.Request, body []byte, secret string)
}

func hmacHex(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// hookSenders are the providers gyre reads pushes from, with payloads
// shaped like theirs.
func hookSenders() []hookSender {
	githubLike := func(repo, sha string, files []string) any {
		return map[string]any{
			"ref": "refs/heads/main", "before": strings.Repeat("0", 40), "after": sha,
			"repository":    map[string]any{"full_name": "e2e/repo", "clone_url": repo, "html_url": repo},
			"commits":       []any{map[string]any{"id": sha, "added": []string{}, "modified": files, "removed": []string{}}},
			"total_commits": 1,
		}
	}
	return []hookSender{
		{
			provider: "github",
			payload:  githubLike,
			sign: func(r *http.Request, body []byte, secret string) {
				r.Header.Set("X-GitHub-Event", "push")
				r.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
				r.Header.Set("X-Hub-Signature-256", "sha256="+hmacHex(body, secret))
			},
		},
		{
			provider: "gitlab",
			payload: func(repo, sha string, files []string) any {
				return map[string]any{
					"object_kind": "push", "ref": "refs/heads/main", "checkout_sha": sha, "after": sha,
					"project":             map[string]any{"git_http_url": repo, "web_url": repo},
					"commits":             []any{map[string]any{"id": sha, "added": []string{}, "modified": files, "removed": []string{}}},
					"total_commits_count": 1,
				}
			},
			sign: func(r *http.Request, _ []byte, secret string) {
				r.Header.Set("X-Gitlab-Event", "Push Hook")
				r.Header.Set("X-Gitlab-Token", secret)
			},
		},
		{
			provider: "gitea",
			payload:  githubLike,
			sign: func(r *http.Request, body []byte, secret string) {
				r.Header.Set("X-Gitea-Event", "push")
				r.Header.Set("X-Gitea-Signature", hmacHex(body, secret))
			},
		},
		{
			provider: "bitbucket",
			payload: func(repo, sha string, _ []string) any {
				return map[string]any{
					"repository": map[string]any{"links": map[string]any{"html": map[string]any{"href": repo}}},
					"push": map[string]any{"changes": []any{map[string]any{
						"new": map[string]any{"type": "branch", "name": "main", "target": map[string]any{"hash": sha}},
						"old": map[string]any{"type": "branch", "name": "main"},
					}}},
				}
			},
			sign: func(r *http.Request, body []byte, secret string) {
				r.Header.Set("X-Event-Key", "repo:push")
				r.Header.Set("X-Hook-UUID", "cb2c7a3c-0b2f-4f4b-9a8f-0d7cf0e1c9b1")
				r.Header.Set("X-Hub-Signature", "sha256="+hmacHex(body, secret))
			},
		},
		{
			provider: "bitbucketserver",
			payload: func(repo, sha string, _ []string) any {
				return map[string]any{
					"eventKey":   "repo:refs_changed",
					"repository": map[string]any{"slug": "repo", "links": map[string]any{"clone": []any{map[string]any{"href": repo, "name": "http"}}}},
					"changes":    []any{map[string]any{"ref": map[string]any{"id": "refs/heads/main", "displayId": "main", "type": "BRANCH"}, "refId": "refs/heads/main", "toHash": sha, "type": "UPDATE"}},
				}
			},
			sign: func(r *http.Request, body []byte, secret string) {
				r.Header.Set("X-Event-Key", "repo:refs_changed")
				r.Header.Set("X-Request-Id", "d0e8a9c2-1b3f-4c5d-8e7f-9a0b1c2d3e4f")
				r.Header.Set("X-Hub-Signature", "sha256="+hmacHex(body, secret))
			},
		},
		{
			provider: "generic",
			payload: func(repo, _ string, files []string) any {
				return map[string]any{"repository": repo, "ref": "refs/heads/main", "paths": files}
			},
			sign: func(r *http.Request, body []byte, secret string) {
				r.Header.Set("X-Gyre-Signature", "sha256="+hmacHex(body, secret))
			},
		},
	}
}

// post sends the webhook for a push of sha to repo, signed with secret, and
// returns the response status.
func (h hookSender) post(tb testing.TB, repo, sha string, files []string, secret string) int {
	tb.Helper()
	body, err := json.Marshal(h.payload(repo, sha, files))
	if err != nil {
		tb.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, serverURL+"/api/webhook", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	h.sign(req, body, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// webhookCount reads gyre_webhook_requests_total for provider and result
// from /metrics; 0 when the series does not exist yet.
func webhookCount(tb testing.TB, provider, result string) float64 {
	tb.Helper()
	resp, err := http.Get(serverURL + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "gyre_webhook_requests_total{") ||
			!strings.Contains(line, `provider="`+provider+`"`) || !strings.Contains(line, `result="`+result+`"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			tb.Fatalf("/metrics: %q: %v", line, err)
		}
		return v
	}
	return 0
}

// TestWebhooks pushes to a real git repository and tells gyre with each
// provider's webhook. gyre up polls git once an hour here, so only the
// webhook can move the Application: it must reach Synced at the pushed
// commit within webhookDeadline. A forged signature first gets 401, is
// counted as unauthorized, and leaves the Application where it was.
func TestWebhooks(t *testing.T) {
	needGyre(t)
	for _, h := range hookSenders() {
		t.Run(h.provider, func(t *testing.T) {
			repo := testsupport.NewRepo(t)
			name := uniqueName("hook-" + h.provider)
			first := repo.Commit("first", configMaps("app", 2, "1"))
			automatedApp(t, name, repo.Dir, "app")
			testsupport.Eventually(t, time.Minute, func() (bool, string) { return syncedAt(t, name, first) })

			files := configMaps("app", 2, "2")
			pushed := time.Now()
			second := repo.Commit("second", files)
			var changed []string
			for f := range files {
				changed = append(changed, f)
			}

			rejected := webhookCount(t, h.provider, "unauthorized")
			if code := h.post(t, repo.Dir, second, changed, "forged-"+webhookSecrets[h.provider]); code != http.StatusUnauthorized {
				t.Fatalf("webhook with a forged signature: %d, want 401", code)
			}
			if got := webhookCount(t, h.provider, "unauthorized"); got != rejected+1 {
				t.Errorf("gyre_webhook_requests_total{provider=%q,result=\"unauthorized\"} = %v, want %v", h.provider, got, rejected+1)
			}
			if a, _ := getApp(t, "gyre", name); a.Status.Sync.Revision != first {
				t.Fatalf("a forged webhook moved the Application to %.7s", a.Status.Sync.Revision)
			}

			if code := h.post(t, repo.Dir, second, changed, webhookSecrets[h.provider]); code != http.StatusAccepted {
				t.Fatalf("webhook: %d, want 202", code)
			}
			took := testsupport.Eventually(t, webhookDeadline, func() (bool, string) { return syncedAt(t, name, second) })
			t.Logf("%s: webhook → Synced at %.7s in %s (commit → Synced %s)", h.provider, second, took.Round(time.Millisecond), time.Since(pushed).Round(time.Millisecond))
		})
	}
}

// BenchmarkWebhookToSynced measures, for an Application of 10 objects, the
// time from a generic webhook for a new commit to the Application Synced at
// that commit.
func BenchmarkWebhookToSynced(b *testing.B) {
	needGyre(b)
	h := hookSenders()[len(hookSenders())-1]
	repo := testsupport.NewRepo(b)
	name := uniqueName("bench-hook")
	sha := repo.Commit("v0", configMaps("app", 10, "0"))
	automatedApp(b, name, repo.Dir, "app")
	testsupport.Eventually(b, time.Minute, func() (bool, string) { return syncedAt(b, name, sha) })

	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		files := configMaps("app", 10, strconv.Itoa(i+1))
		sha = repo.Commit(fmt.Sprintf("v%d", i+1), files)
		var changed []string
		for f := range files {
			changed = append(changed, f)
		}
		b.StartTimer()
		start := time.Now()
		if code := h.post(b, repo.Dir, sha, changed, webhookSecrets[h.provider]); code != http.StatusAccepted {
			b.Fatalf("webhook: %d, want 202", code)
		}
		for {
			if ok, _ := syncedAt(b, name, sha); ok {
				break
			}
			if time.Since(start) > webhookDeadline {
				_, state := syncedAt(b, name, sha)
				b.Fatalf("not Synced %s after the webhook: %s", webhookDeadline, state)
			}
			time.Sleep(10 * time.Millisecond)
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/webhook-to-synced")
}

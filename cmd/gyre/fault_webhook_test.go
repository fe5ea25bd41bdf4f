//go:build !nolocalcluster

package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/localcluster"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// githubPush is a signed GitHub push webhook request for a push of sha to
// main of repoURL that changed files.
func githubPush(url, secret, delivery, repoURL, sha string, files []string) (*http.Request, error) {
	body, err := json.Marshal(map[string]any{
		"ref": "refs/heads/" + testsupport.Branch, "after": sha,
		"repository": map[string]any{"full_name": "fault/repo", "clone_url": repoURL},
		"commits":    []any{map[string]any{"id": sha, "added": []string{}, "modified": files, "removed": []string{}}},
	})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, url+"/api/webhook", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	return req, nil
}

// TestServeWebhookBurst sends 1,000 signed GitHub push webhooks for one
// commit to gyre serve, 50 at a time, each a delivery of its own. Every one
// must be answered 202 (or 503 with Retry-After when the push queue is
// full, which is how gyre asks a provider to retry); the refreshes must
// collapse into a handful of ref listings and reconciles; /healthz must
// keep answering promptly during the burst; the goroutines must come back
// near where they were; and the apps must converge on the pushed commit,
// each synced once per commit. gyre polls git hourly here, so only the
// webhooks can move the apps.
func TestServeWebhookBurst(t *testing.T) {
	needBinary(t)
	const (
		dest        = "burst"
		nApps       = 5
		deliveries  = 1000
		concurrency = 50
		secret      = "burst-webhook-secret"
		healthBound = 2 * time.Second
	)
	c := startCluster(t, localcluster.Options{DataDir: t.TempDir()}, dest)
	hooks := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "gyre-webhooks"}, StringData: map[string]string{"github": secret}}
	if _, err := c.Client.CoreV1().Secrets(systemNamespace).Create(context.Background(), hooks, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	repo := testsupport.NewRepo(t)
	files := map[string]string{}
	for i := range nApps {
		files[fmt.Sprintf("app-%d/cm.yaml", i)] = configMapDoc(fmt.Sprintf("burst-%d", i), "1")
	}
	first := repo.Commit("one", files)

	p := startServe(t, c.KubeconfigPath(), t.TempDir(), "--webhook-secret", "gyre-webhooks", "--secret-namespace", systemNamespace)
	p.waitServing()
	apps := c.Dynamic.Resource(app.GroupVersionResource()).Namespace(systemNamespace)
	waitCRD(t, apps)
	for i := range nApps {
		createAutomatedApp(t, apps, fmt.Sprintf("burst-%d", i), repo.Dir, fmt.Sprintf("app-%d", i), dest)
	}
	syncedAt := func(sha string, timeout time.Duration) time.Duration {
		t.Helper()
		return testsupport.Eventually(t, timeout, func() (bool, string) {
			for name, a := range listApps(t, apps) {
				if a.Status.Sync.Status != app.Synced || a.Status.Sync.Revision != sha || oneResultEach(a) != nil {
					return false, fmt.Sprintf("%s: %s at %.7s, want Synced at %.7s (%v)", name, a.Status.Sync.Status, a.Status.Sync.Revision, sha, oneResultEach(a))
				}
			}
			return true, ""
		})
	}
	syncedAt(first, 2*time.Minute)
	listings := func() float64 {
		return p.metric("gyre_git_request_total", map[string]string{"request_type": "ls-remote"})
	}
	reconciles := func() float64 { return p.metric("gyre_app_reconcile_duration_seconds", nil) }
	baseline := p.usage()
	listings0, reconciles0 := listings(), reconciles()

	for i := range nApps {
		files[fmt.Sprintf("app-%d/cm.yaml", i)] = configMapDoc(fmt.Sprintf("burst-%d", i), "2")
	}
	second := repo.Commit("two", files)
	changed := make([]string, 0, len(files))
	for f := range files {
		changed = append(changed, f)
	}

	// /healthz is asked every 50ms while the burst lasts.
	var (
		mu          sync.Mutex
		slowest     time.Duration
		healthFails int
	)
	burstDone := make(chan struct{})
	healthDone := make(chan struct{})
	go func() {
		defer close(healthDone)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			code, took := p.get("/healthz", 10*time.Second)
			mu.Lock()
			slowest = max(slowest, took)
			if code != http.StatusOK {
				healthFails++
			}
			mu.Unlock()
			select {
			case <-burstDone:
				return
			case <-tick.C:
			}
		}
	}()

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	codes := make([]int, deliveries)
	retryAfter := make([]string, deliveries)
	var g errgroup.Group
	g.SetLimit(concurrency)
	start := time.Now()
	for i := range deliveries {
		g.Go(func() error {
			req, err := githubPush(p.url, secret, fmt.Sprintf("burst-%04d", i), repo.Dir, second, changed)
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("delivery %d: %w", i, err)
			}
			resp.Body.Close()
			codes[i], retryAfter[i] = resp.StatusCode, resp.Header.Get("Retry-After")
			return nil
		})
	}
	err := g.Wait()
	burst := time.Since(start)
	close(burstDone)
	<-healthDone
	client.CloseIdleConnections()
	if err != nil {
		t.Fatalf("burst: %v", err)
	}
	byCode := map[int]int{}
	for i, code := range codes {
		byCode[code]++
		switch {
		case code == http.StatusAccepted:
		case code == http.StatusServiceUnavailable && retryAfter[i] != "":
		default:
			t.Errorf("delivery %d: %d (Retry-After %q), want 202, or 503 with Retry-After", i, code, retryAfter[i])
		}
	}
	t.Logf("%d deliveries in %s: %v; slowest /healthz %s", deliveries, burst.Round(time.Millisecond), byCode, slowest.Round(time.Millisecond))
	if byCode[http.StatusAccepted] == 0 {
		t.Fatal("no delivery was accepted")
	}
	if slowest > healthBound || healthFails > 0 {
		t.Errorf("/healthz during the burst: slowest answer %s, %d failures; want every answer within %s", slowest, healthFails, healthBound)
	}
	if n := p.metric("gyre_webhook_requests_total", map[string]string{"provider": "github", "result": "accepted"}); int(n) != byCode[http.StatusAccepted] {
		t.Errorf("gyre_webhook_requests_total{result=accepted} = %v, want %d", n, byCode[http.StatusAccepted])
	}

	took := syncedAt(second, time.Minute)
	t.Logf("every app Synced at the pushed commit %s after the burst", took.Round(time.Millisecond))
	for i := range nApps {
		if name, v := fmt.Sprintf("burst-%d", i), configMapValues(t, c, dest)[fmt.Sprintf("burst-%d", i)]; v != "2" {
			t.Errorf("config map %s = %q after the burst, want 2", name, v)
		}
	}
	for name, a := range listApps(t, apps) {
		if got := historyRevisions(a); len(got) != 2 {
			t.Errorf("%s: history %v, want the two commits once each", name, got)
		}
	}
	// The refreshes collapsed: a few listings and reconciles, not one
	// per delivery per app.
	gotListings, gotReconciles := listings()-listings0, reconciles()-reconciles0
	t.Logf("the burst cost %.0f ref listings and %.0f reconciles", gotListings, gotReconciles)
	if gotListings > deliveries/10 {
		t.Errorf("%d deliveries of one push cost %.0f ref listings; want them collapsed (at most %d)", deliveries, gotListings, deliveries/10)
	}
	if gotReconciles > deliveries/2 {
		t.Errorf("%d deliveries of one push cost %.0f reconciles of %d apps; want them collapsed (at most %d)", deliveries, gotReconciles, nApps, deliveries/2)
	}
	// Everything the burst started has ended.
	testsupport.Eventually(t, 30*time.Second, func() (bool, string) {
		now := p.usage()
		return now.goroutines <= baseline.goroutines+20, fmt.Sprintf("goroutines %v after the burst, %v before", now, baseline)
	})
	p.alive()
}

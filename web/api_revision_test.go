package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// The fake backend looks at an Application at a revision this way: the
// revision "missing" does not exist, any other resolves to "sha-" and
// itself. DiffAt answers with the backend's diffs; RenderAt with a
// ConfigMap named after the revision and a Secret.

var (
	_ RevisionBackend = (*fakeBackend)(nil)
	_ HardRefresher   = (*fakeBackend)(nil)
)

func (b *fakeBackend) DiffAt(_ context.Context, key types.NamespacedName, revision string) ([]diff.Result, string, error) {
	if _, ok := b.Application(key); !ok {
		return nil, "", fmt.Errorf("application %s: %w", key, ErrNotFound)
	}
	if revision == "missing" {
		return nil, "", fmt.Errorf("resolve %q: revision not found: %w", revision, ErrBadRequest)
	}
	return b.diffs, "sha-" + revision, nil
}

func (b *fakeBackend) RenderAt(_ context.Context, key types.NamespacedName, revision string) ([]*unstructured.Unstructured, string, error) {
	if _, ok := b.Application(key); !ok {
		return nil, "", fmt.Errorf("application %s: %w", key, ErrNotFound)
	}
	if revision == "missing" {
		return nil, "", fmt.Errorf("resolve %q: revision not found: %w", revision, ErrBadRequest)
	}
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "at-" + revision}}}
	secret := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "creds"}, "data": map[string]any{"password": "cGFzcw=="}}}
	return []*unstructured.Unstructured{cm, secret}, "sha-" + revision, nil
}

// RefreshHard records the hard refresh in forgotten, as "hard <key>".
func (b *fakeBackend) RefreshHard(key types.NamespacedName) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forgotten = append(b.forgotten, "hard "+key.String())
}

// TestRevisionRoutes: GET .../diff?revision=REF answers with the backend's
// diff at REF and the revision it resolved to, GET .../manifests with the
// rendered objects, Secret values masked; an unknown revision answers 400;
// POST .../refresh?hard=true asks for a hard refresh, without hard for a
// plain one; a caller who may not see the Application gets 404 from each.
func TestRevisionRoutes(t *testing.T) {
	a := testApp("gyre", "guestbook", "https://git.example.com/org/repo.git", "guestbook")
	hidden := testApp("gyre", "hidden", "https://git.example.com/org/repo.git", "hidden")
	hidden.Spec.Project = "team-b"
	b := newFakeBackend(a, hidden)
	b.diffs = []diff.Result{{Key: app.ResourceKey{Kind: "ConfigMap", Namespace: "guestbook", Name: "new"}, Status: diff.Missing, Diff: "+data: {}\n"}}
	ts := newTestServer(t, b, Options{})
	const one = "/api/v1/applications/gyre/guestbook"

	code, body := ts.do(t, http.MethodGet, one+"/diff?revision=refs/pull/7/head", readonlyToken, "")
	var d RevisionDiffResponse
	if err := json.Unmarshal([]byte(body), &d); code != http.StatusOK || err != nil {
		t.Fatalf("diff at a ref: %d %s (%v)", code, body, err)
	}
	if d.Revision != "sha-refs/pull/7/head" || d.OutOfSync != 1 || len(d.Items) != 1 || d.Items[0].Key.Name != "new" {
		t.Errorf("diff at a ref: %+v", d)
	}
	code, body = ts.do(t, http.MethodGet, one+"/diff?revision=missing", readonlyToken, "")
	wantError(t, code, body, http.StatusBadRequest, "revision not found")

	code, body = ts.do(t, http.MethodGet, one+"/manifests?revision=feature", readonlyToken, "")
	var m ManifestsResponse
	if err := json.Unmarshal([]byte(body), &m); code != http.StatusOK || err != nil {
		t.Fatalf("manifests: %d %s (%v)", code, body, err)
	}
	if m.Revision != "sha-feature" || len(m.Items) != 2 || m.Items[0].GetName() != "at-feature" {
		t.Errorf("manifests: %s", body)
	}
	if strings.Contains(body, "cGFzcw==") || !strings.Contains(body, maskedValue) {
		t.Errorf("manifests show a Secret value: %s", body)
	}
	code, body = ts.do(t, http.MethodGet, one+"/manifests", readonlyToken, "")
	if code != http.StatusOK || !strings.Contains(body, `"revision":"sha-"`) {
		t.Errorf("manifests at the followed revision: %d %s", code, body)
	}

	code, body = ts.do(t, http.MethodPost, one+"/refresh?hard=true", adminToken, "")
	if code != http.StatusAccepted {
		t.Errorf("hard refresh: %d %s", code, body)
	}
	code, body = ts.do(t, http.MethodPost, one+"/refresh?hard=maybe", adminToken, "")
	wantError(t, code, body, http.StatusBadRequest, "hard=")
	code, _ = ts.do(t, http.MethodPost, one+"/refresh", adminToken, "")
	_, refreshed, _, forgotten := b.snapshot()
	if code != http.StatusAccepted || len(refreshed) != 1 || strings.Join(forgotten, ",") != "hard gyre/guestbook" {
		t.Errorf("after a hard and a plain refresh: plain refreshes %v, hard %v", refreshed, forgotten)
	}

	for _, path := range []string{"/diff?revision=feature", "/manifests"} {
		code, body := ts.do(t, http.MethodGet, "/api/v1/applications/gyre/hidden"+path, teamAToken, "")
		wantError(t, code, body, http.StatusNotFound, "not found")
	}
}

package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gyre-cd/gyre/app"
)

// fakeClusterStore records what the API asks of it; a config naming
// "refuse" is refused with an error that quotes it, as a careless store
// might.
type fakeClusterStore struct {
	mu      sync.Mutex
	puts    []ClusterRequest
	deleted []string
}

func (f *fakeClusterStore) PutCluster(_ context.Context, req ClusterRequest) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Name == "taken" {
		return "", false, fmt.Errorf("cluster taken is registered already: %w", ErrAlreadyExists)
	}
	if strings.Contains(string(req.Config), "refuse") {
		return "", false, fmt.Errorf("config %s is no good: %w", req.Config, ErrBadRequest)
	}
	f.puts = append(f.puts, req)
	return "cluster-" + req.Name, len(f.puts) == 1, nil
}

func (f *fakeClusterStore) DeleteCluster(_ context.Context, name string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name != "prod" {
		return nil, fmt.Errorf("no cluster is named %q: %w", name, ErrNotFound)
	}
	f.deleted = append(f.deleted, name)
	return []string{"cluster-prod"}, nil
}

func TestClustersRoutes(t *testing.T) {
	store := &fakeClusterStore{}
	states := []app.ClusterState{{Name: "in-cluster", Server: app.InClusterServer, State: app.ClusterConnected, Applications: 2},
		{Name: "prod", Server: "https://prod:6443", State: app.ClusterUnreachable, Message: "connection refused"}}
	ts := newTestServer(t, newFakeBackend(), Options{Clusters: func() []app.ClusterState { return states }, ClusterStore: store})

	// Any reader may list them.
	code, body := ts.do(t, http.MethodGet, "/api/v1/clusters", teamAReadonlyToken, "")
	var l ClusterList
	if code != http.StatusOK || json.Unmarshal([]byte(body), &l) != nil || len(l.Items) != 2 || l.Items[1].State != app.ClusterUnreachable {
		t.Fatalf("GET clusters: %d %s", code, body)
	}

	// Writing takes an admin token of every project.
	const token = "s3cr3t-bearer-token"
	req := `{"name":"prod","server":"https://prod:6443","config":{"bearerToken":"` + token + `"},"namespaces":["web"],"labels":{"env":"prod"}}`
	for _, tok := range []string{readonlyToken, teamAToken} {
		if code, body := ts.do(t, http.MethodPost, "/api/v1/clusters", tok, req); code != http.StatusForbidden {
			t.Errorf("POST with %s: %d %s, want 403", tok, code, body)
		}
	}
	code, body = ts.do(t, http.MethodPost, "/api/v1/clusters", adminToken, req)
	if code != http.StatusCreated || !strings.Contains(body, `"secrets":["cluster-prod"]`) || strings.Contains(body, token) {
		t.Fatalf("POST clusters: %d %s", code, body)
	}
	if len(store.puts) != 1 || store.puts[0].Labels["env"] != "prod" || store.puts[0].Namespaces[0] != "web" || !strings.Contains(string(store.puts[0].Config), token) {
		t.Errorf("the store got %+v", store.puts)
	}
	code, _ = ts.do(t, http.MethodPost, "/api/v1/clusters", adminToken, req)
	if code != http.StatusOK {
		t.Errorf("second POST: %d, want 200 (not created)", code)
	}

	// Bad requests, and a store error that quotes the config: the token is
	// not in the answer.
	code, body = ts.do(t, http.MethodPost, "/api/v1/clusters", adminToken, `{"name":"taken","server":"https://x","config":{}}`)
	wantError(t, code, body, http.StatusConflict, "registered already")
	code, body = ts.do(t, http.MethodPost, "/api/v1/clusters", adminToken, `{"name":"x","server":"https://x"}`)
	wantError(t, code, body, http.StatusBadRequest, "name, server and config are required")
	code, body = ts.do(t, http.MethodPost, "/api/v1/clusters", adminToken, `{"name":"x","server":"https://x","config":{"bearerToken":"`+token+`","refuse":true}}`)
	wantError(t, code, body, http.StatusBadRequest, "is no good")
	if strings.Contains(body, token) {
		t.Errorf("the refusal quotes the token: %s", body)
	}

	code, body = ts.do(t, http.MethodDelete, "/api/v1/clusters?name=prod", adminToken, "")
	if code != http.StatusOK || !strings.Contains(body, "cluster-prod") {
		t.Errorf("DELETE prod: %d %s", code, body)
	}
	code, body = ts.do(t, http.MethodDelete, "/api/v1/clusters?name=staging", adminToken, "")
	wantError(t, code, body, http.StatusNotFound, `no cluster is named "staging"`)
	if code, _ := ts.do(t, http.MethodDelete, "/api/v1/clusters?name=prod", readonlyToken, ""); code != http.StatusForbidden {
		t.Errorf("DELETE as reader: %d, want 403", code)
	}
}

func TestClustersRoutesWithoutBackends(t *testing.T) {
	ts := newTestServer(t, newFakeBackend(), Options{})
	code, body := ts.do(t, http.MethodGet, "/api/v1/clusters", adminToken, "")
	wantError(t, code, body, http.StatusNotImplemented, "does not know its clusters")
	code, body = ts.do(t, http.MethodPost, "/api/v1/clusters", adminToken, `{}`)
	wantError(t, code, body, http.StatusNotImplemented, "cannot write cluster Secrets")
}

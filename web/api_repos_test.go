package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gyre-cd/gyre/source"
)

// fakeRepositories is an in-memory Repositories that records the requests
// it was given, as cmd/gyre's would store them in Secrets.
type fakeRepositories struct {
	mu    sync.Mutex
	items []Repository
	puts  []RepositoryRequest
	// leak, when set, is put in every error and listed address, as a
	// careless implementation might.
	leak string
}

func (f *fakeRepositories) ListRepositories(context.Context) ([]Repository, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Repository(nil), f.items...), nil
}

func (f *fakeRepositories) PutRepository(_ context.Context, req RepositoryRequest) (Repository, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Contains(req.SSHPrivateKey, "not a key") {
		return Repository{}, false, fmt.Errorf("sshPrivateKey: not a valid private key (got %q): %w", req.SSHPrivateKey, ErrBadRequest)
	}
	f.puts = append(f.puts, req)
	r := Repository{URL: req.URL, Kind: req.Kind, Type: req.Type, Secret: "gyre/repo-1", Label: source.LabelSecretType,
		Auth: source.Credentials{Username: req.Username, Password: req.Password, SSHPrivateKey: []byte(req.SSHPrivateKey)}.Auth(), Username: req.Username}
	for i, it := range f.items {
		if it.URL == req.URL && it.Kind == req.Kind && it.Type == req.Type {
			f.items[i] = r
			return r, false, nil
		}
	}
	if f.leak != "" {
		r.Repositories = []RepositoryState{{URL: "https://bot:" + f.leak + "@git.example.com/x", Error: "refused https://bot:" + f.leak + "@git.example.com/x"}}
	}
	f.items = append(f.items, r)
	return r, true, nil
}

func (f *fakeRepositories) DeleteRepository(_ context.Context, u string, kind source.SecretType, typ source.RepoType) ([]Repository, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var deleted, kept []Repository
	for _, it := range f.items {
		if it.URL == u && it.Kind == kind && (typ == "" || it.Type == typ) {
			deleted = append(deleted, it)
		} else {
			kept = append(kept, it)
		}
	}
	f.items = kept
	if len(deleted) == 0 {
		return nil, fmt.Errorf("no %s credentials for %s: %w", kind, u, ErrNotFound)
	}
	return deleted, nil
}

// TestRepositoriesAPI: an admin stores, lists, replaces and deletes
// repository credentials; the answers and the server's log never hold the
// password, and bad requests are refused before the store is asked.
func TestRepositoriesAPI(t *testing.T) {
	const password = "hunter2-Repo-Password"
	repos := &fakeRepositories{leak: password}
	var logs bytes.Buffer
	ts := newTestServer(t, newFakeBackend(), Options{Repositories: repos, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	var answers []string
	do := func(method, path, body string) (int, string) {
		t.Helper()
		code, resp := ts.do(t, method, path, adminToken, body)
		answers = append(answers, resp)
		return code, resp
	}

	body := fmt.Sprintf(`{"url": "https://git.example.com/org/app", "username": "bot", "password": %q}`, password)
	code, resp := do(http.MethodPost, "/api/v1/repositories", body)
	if code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, resp)
	}
	var got Repository
	if err := json.Unmarshal([]byte(resp), &got); err != nil {
		t.Fatal(err)
	}
	if got.Kind != source.SecretTypeRepository || got.Type != source.RepoTypeGit || got.Auth != source.AuthBasic || got.Username != "bot" {
		t.Errorf("POST answered %+v; want a git repository with basic auth, defaults filled in", got)
	}
	if len(got.Repositories) != 1 || got.Repositories[0].URL != "https://git.example.com/x" {
		t.Errorf("POST answered states %+v; want the address without user information", got.Repositories)
	}
	if repos.puts[0].Password != password {
		t.Errorf("the store got password %q", repos.puts[0].Password)
	}
	// The same url, kind and type again replaces.
	if code, resp := do(http.MethodPost, "/api/v1/repositories", body); code != http.StatusOK {
		t.Fatalf("POST again: %d %s; want 200", code, resp)
	}
	code, resp = do(http.MethodGet, "/api/v1/repositories", "")
	var list RepositoryList
	if code != http.StatusOK || json.Unmarshal([]byte(resp), &list) != nil || len(list.Items) != 1 {
		t.Fatalf("GET: %d %s; want one item", code, resp)
	}

	for _, tt := range []struct{ name, body, says string }{
		{"no url", `{"password": "x"}`, `"url" is required`},
		{"password in the url", fmt.Sprintf(`{"url": "https://bot:%s@git.example.com/a"}`, password), "carries a password"},
		{"unknown kind", `{"url": "https://git.example.com/a", "kind": "cluster"}`, `kind "cluster"`},
		{"unknown type", `{"url": "https://git.example.com/a", "type": "svn"}`, `type "svn"`},
		{"unknown field", `{"url": "https://git.example.com/a", "token": "x"}`, `unknown field "token"`},
		{"store refuses", fmt.Sprintf(`{"url": "https://git.example.com/a", "password": %q, "sshPrivateKey": "not a key %s"}`, password, password), "not a valid private key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, resp := do(http.MethodPost, "/api/v1/repositories", tt.body)
			wantError(t, code, resp, http.StatusBadRequest, tt.says)
		})
	}
	if len(repos.puts) != 2 {
		t.Errorf("the store got %d requests; want only the 2 valid ones", len(repos.puts))
	}

	del := "/api/v1/repositories?" + url.Values{"url": {"https://git.example.com/org/app"}}.Encode()
	if code, resp := do(http.MethodDelete, del+"&kind=repo-creds", ""); code != http.StatusNotFound {
		t.Errorf("DELETE of repo-creds that do not exist: %d %s", code, resp)
	}
	code, resp = do(http.MethodDelete, del, "")
	if code != http.StatusOK || json.Unmarshal([]byte(resp), &list) != nil || len(list.Items) != 1 {
		t.Fatalf("DELETE: %d %s", code, resp)
	}
	if code, resp := do(http.MethodDelete, "/api/v1/repositories", ""); code != http.StatusBadRequest {
		t.Errorf("DELETE without url: %d %s", code, resp)
	}
	code, resp = do(http.MethodPut, "/api/v1/repositories", "")
	wantError(t, code, resp, http.StatusMethodNotAllowed, "not allowed")

	for _, a := range append(answers, logs.String()) {
		if strings.Contains(a, password) {
			t.Errorf("an answer or log line holds the password: %s", a)
		}
	}
	if !strings.Contains(logs.String(), "repository credentials stored") {
		t.Errorf("the server did not log the change:\n%s", logs.String())
	}
}

// TestRepositoriesRegistryURL: an oci:// registry URL is a repository URL
// for credentials of type oci, the type it gets when none is given; other
// types and a registry URL without a host are refused before the store is
// asked.
func TestRepositoriesRegistryURL(t *testing.T) {
	repos := &fakeRepositories{}
	ts := newTestServer(t, newFakeBackend(), Options{Repositories: repos})
	for _, tt := range []struct{ name, body string }{
		{"type given", `{"url": "oci://registry.example.com/charts", "type": "oci", "username": "u", "password": "pw-value"}`},
		{"type defaulted", `{"url": "OCI://registry.example.com:5000/more", "username": "u", "password": "pw-value"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, resp := ts.do(t, http.MethodPost, "/api/v1/repositories", adminToken, tt.body)
			var got Repository
			if code != http.StatusCreated || json.Unmarshal([]byte(resp), &got) != nil || got.Type != source.RepoTypeOCI {
				t.Fatalf("POST %s: %d %s; want 201 with type oci", tt.body, code, resp)
			}
		})
	}
	for _, tt := range []struct{ name, body, says string }{
		{"git type", `{"url": "oci://registry.example.com/charts", "type": "git"}`, "takes type oci"},
		{"helm type", `{"url": "oci://registry.example.com/charts", "type": "helm"}`, "takes type oci"},
		{"no host", `{"url": "oci:///charts", "type": "oci"}`, "not an oci://host/path registry URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, resp := ts.do(t, http.MethodPost, "/api/v1/repositories", adminToken, tt.body)
			wantError(t, code, resp, http.StatusBadRequest, tt.says)
		})
	}
	if len(repos.puts) != 2 {
		t.Errorf("the store got %d requests; want only the 2 valid ones: %+v", len(repos.puts), repos.puts)
	}
}

// TestRepositoriesScope: repository credentials serve every project, so
// only an admin token limited to none reaches them; the others are refused
// before the store is asked, and without the store the routes answer 501.
func TestRepositoriesScope(t *testing.T) {
	repos := &fakeRepositories{}
	ts := newTestServer(t, newFakeBackend(), Options{Repositories: repos})
	post := `{"url": "https://git.example.com/org/app", "password": "pw-value"}`
	del := "/api/v1/repositories?url=https://git.example.com/org/app"
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/v1/repositories", ""},
		{http.MethodPost, "/api/v1/repositories", post},
		{http.MethodDelete, del, ""},
	} {
		for _, tt := range []struct {
			token string
			code  int
			says  string
		}{
			{"", http.StatusUnauthorized, "authentication required"},
			{readonlyToken, http.StatusForbidden, "needs the admin role"},
			{teamAReadonlyToken, http.StatusForbidden, "needs the admin role"},
			{teamAToken, http.StatusForbidden, "limited to projects"},
		} {
			code, body := ts.do(t, c.method, c.path, tt.token, c.body)
			if code != tt.code || !strings.Contains(body, tt.says) {
				t.Errorf("%s %s with token %q: %d %s; want %d saying %q", c.method, c.path, tt.token, code, body, tt.code, tt.says)
			}
		}
	}
	if len(repos.puts) != 0 || len(repos.items) != 0 {
		t.Fatalf("a refused token reached the store: %+v", repos.puts)
	}
	for _, c := range []struct {
		method, path, body string
		code               int
	}{
		{http.MethodPost, "/api/v1/repositories", post, http.StatusCreated},
		{http.MethodGet, "/api/v1/repositories", "", http.StatusOK},
		{http.MethodDelete, del, "", http.StatusOK},
	} {
		if code, body := ts.do(t, c.method, c.path, adminToken, c.body); code != c.code {
			t.Errorf("%s %s as the unscoped admin: %d %s; want %d", c.method, c.path, code, body, c.code)
		}
	}

	bare := newTestServer(t, newFakeBackend(), Options{})
	code, body := bare.do(t, http.MethodGet, "/api/v1/repositories", adminToken, "")
	wantError(t, code, body, http.StatusNotImplemented, "does not manage repository credentials")
}

// TestRedactedError: an error a store returns keeps its status and loses
// the secrets it quotes.
func TestRedactedError(t *testing.T) {
	err := redactedError{err: fmt.Errorf("secret gyre/x: https://bot:tok3n-value@h/r said no to pa55-value: %w", ErrBadRequest), secrets: []string{"pa55-value", ""}}
	if statusOf(err) != http.StatusBadRequest || !errors.Is(err, ErrBadRequest) {
		t.Errorf("status %d, want 400", statusOf(err))
	}
	if msg := err.Error(); strings.Contains(msg, "tok3n-value") || strings.Contains(msg, "pa55-value") || !strings.Contains(msg, "secret gyre/x") {
		t.Errorf("message %q", msg)
	}
}

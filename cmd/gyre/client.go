package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gyre-cd/gyre/app"
)

// apiClient calls gyre's HTTP API (package web) with a bearer token and
// JSON bodies. Its methods return the server's error message as an
// *apiError.
type apiClient struct {
	server string // base URL, no trailing slash
	token  string
	http   *http.Client
}

// newAPIClient returns a client for the API at server. A server without a
// scheme ("127.0.0.1:8080") is taken as http.
func newAPIClient(server, token string) (*apiClient, error) {
	base, err := normalizeServer(server)
	if err != nil {
		return nil, err
	}
	return &apiClient{server: base, token: token, http: &http.Client{Timeout: time.Minute}}, nil
}

// normalizeServer checks a server URL and returns it without a trailing
// slash, with http:// added when no scheme is given.
func normalizeServer(server string) (string, error) {
	s := strings.TrimSpace(server)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("server %q: not an http(s) URL like http://127.0.0.1:8080", server)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// apiError is an error response from the API: its status and the message of
// its {"error": "..."} body.
type apiError struct {
	Status  int
	Message string
}

// Error returns the server's message; for 401 it adds the status and what to
// do about it.
func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = strings.ToLower(http.StatusText(e.Status))
	}
	if e.Status == http.StatusUnauthorized {
		return fmt.Sprintf("%s (401 Unauthorized: check --token, $%s or run `gyre login SERVER --token TOKEN`)", msg, envToken)
	}
	return msg
}

// isStatus reports whether err is an API error with the given status.
func isStatus(err error, status int) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == status
}

// do sends one request and returns the response body and headers for a 2xx
// status; any other status is an *apiError.
func (c *apiClient) do(ctx context.Context, method, path string, query url.Values, body any) ([]byte, http.Header, error) {
	u := c.server + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "gyre-cli/"+version)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nil, fmt.Errorf("server %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("server %s: %s %s: %w", c.server, method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, nil, &apiError{Status: resp.StatusCode, Message: errorMessage(data)}
	}
	return data, resp.Header, nil
}

// errorMessage returns the message of an error body: the "error" field of
// JSON, else the body's first line (a proxy's page), shortened.
func errorMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	s := strings.TrimSpace(string(body))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// getJSON fetches path and decodes the JSON body into out.
func (c *apiClient) getJSON(ctx context.Context, path string, query url.Values, out any) error {
	data, _, err := c.do(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("server %s: GET %s: decode response: %w", c.server, path, err)
	}
	return nil
}

// appPath is the API path of an Application, or of one of its
// sub-resources when sub is set.
func appPath(key types.NamespacedName, sub string) string {
	p := "/api/v1/applications/" + url.PathEscape(key.Namespace) + "/" + url.PathEscape(key.Name)
	if sub != "" {
		p += "/" + sub
	}
	return p
}

// appSummary is one item of GET /api/v1/applications.
type appSummary struct {
	Namespace      string            `json:"namespace"`
	Name           string            `json:"name"`
	RepoURL        string            `json:"repoURL,omitempty"`
	Path           string            `json:"path,omitempty"`
	TargetRevision string            `json:"targetRevision,omitempty"`
	Revision       string            `json:"revision,omitempty"`
	SyncStatus     string            `json:"syncStatus,omitempty"`
	HealthStatus   string            `json:"healthStatus,omitempty"`
	HealthMessage  string            `json:"healthMessage,omitempty"`
	OperationPhase string            `json:"operationPhase,omitempty"`
	LastSyncedAt   string            `json:"lastSyncedAt,omitempty"`
	Automated      bool              `json:"automated,omitempty"`
	Suspended      bool              `json:"suspended,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
}

// listQuery filters GET /api/v1/applications.
type listQuery struct {
	Label  string // k=v
	Sync   string
	Health string
	Limit  int // page size; 0 means the server's default
}

// listApplications fetches every page of the application list. raw holds
// each item as the server sent it, for -o json and yaml.
func (c *apiClient) listApplications(ctx context.Context, q listQuery) (items []appSummary, raw []json.RawMessage, err error) {
	v := url.Values{}
	for k, s := range map[string]string{"label": q.Label, "sync": q.Sync, "health": q.Health} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", fmt.Sprint(q.Limit))
	}
	for page := 0; ; page++ {
		var resp struct {
			Items    []json.RawMessage `json:"items"`
			Continue string            `json:"continue"`
		}
		if err := c.getJSON(ctx, "/api/v1/applications", v, &resp); err != nil {
			return nil, nil, err
		}
		for _, r := range resp.Items {
			var s appSummary
			if err := json.Unmarshal(r, &s); err != nil {
				return nil, nil, fmt.Errorf("server %s: application list: %w", c.server, err)
			}
			items, raw = append(items, s), append(raw, r)
		}
		if resp.Continue == "" || resp.Continue == v.Get("continue") || page > 10000 {
			return items, raw, nil
		}
		v.Set("continue", resp.Continue)
	}
}

// getApplication fetches one Application; raw is the object as the server
// sent it.
func (c *apiClient) getApplication(ctx context.Context, key types.NamespacedName) (*app.Application, json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.getJSON(ctx, appPath(key, ""), nil, &raw); err != nil {
		return nil, nil, err
	}
	a := &app.Application{}
	if err := json.Unmarshal(raw, a); err != nil {
		return nil, nil, fmt.Errorf("application %s: decode: %w", key, err)
	}
	return a, raw, nil
}

// diffItem is one object of GET and POST .../diff.
type diffItem struct {
	Key     app.ResourceKey `json:"key"`
	Status  string          `json:"status"`
	Diff    string          `json:"diff,omitempty"`
	Message string          `json:"message,omitempty"`
	// Refused: the Application's Project refuses the object.
	Refused bool `json:"refused,omitempty"`
}

// diffResponse is the body of GET and POST .../diff.
type diffResponse struct {
	Items     []diffItem `json:"items"`
	OutOfSync int        `json:"outOfSync"`
	// Revision is the commit compared, for GET .../diff?revision=REF;
	// Ref is that REF, as asked.
	Revision string `json:"revision,omitempty"`
	Ref      string `json:"-"`
}

// getDiff compares an Application with git now, or with its render at
// revision when that is set; raw is the body as sent.
func (c *apiClient) getDiff(ctx context.Context, key types.NamespacedName, revision string) (diffResponse, json.RawMessage, error) {
	var raw json.RawMessage
	var d diffResponse
	var q url.Values
	if revision != "" {
		q = url.Values{"revision": {revision}}
	}
	if err := c.getJSON(ctx, appPath(key, "diff"), q, &raw); err != nil {
		return d, nil, err
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, nil, fmt.Errorf("application %s: decode diff: %w", key, err)
	}
	d.Ref = revision
	return d, raw, nil
}

// manifestsResponse is the body of GET .../manifests.
type manifestsResponse struct {
	Revision string           `json:"revision"`
	Items    []map[string]any `json:"items"`
}

// getManifests renders an Application on the server at revision (empty:
// the revision it follows).
func (c *apiClient) getManifests(ctx context.Context, key types.NamespacedName, revision string) (manifestsResponse, error) {
	var q url.Values
	if revision != "" {
		q = url.Values{"revision": {revision}}
	}
	var m manifestsResponse
	err := c.getJSON(ctx, appPath(key, "manifests"), q, &m)
	return m, err
}

// postDiff compares an Application with objs, rendered here, instead of
// git's render; raw is the body as sent.
func (c *apiClient) postDiff(ctx context.Context, key types.NamespacedName, objs []*unstructured.Unstructured) (diffResponse, json.RawMessage, error) {
	body := struct {
		Objects []*unstructured.Unstructured `json:"objects"`
	}{Objects: objs}
	if body.Objects == nil {
		body.Objects = []*unstructured.Unstructured{}
	}
	var d diffResponse
	data, _, err := c.do(ctx, http.MethodPost, appPath(key, "diff"), nil, body)
	if err != nil {
		return d, nil, err
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return d, nil, fmt.Errorf("application %s: decode diff: %w", key, err)
	}
	return d, data, nil
}

// getHistory returns an Application's history, oldest first.
func (c *apiClient) getHistory(ctx context.Context, key types.NamespacedName) ([]app.HistoryEntry, error) {
	var resp struct {
		Items []app.HistoryEntry `json:"items"`
	}
	err := c.getJSON(ctx, appPath(key, "history"), nil, &resp)
	return resp.Items, err
}

// syncRequest is the body of POST .../sync.
type syncRequest struct {
	Revision  string            `json:"revision,omitempty"`
	Prune     bool              `json:"prune"`
	DryRun    bool              `json:"dryRun"`
	Resources []app.ResourceKey `json:"resources,omitempty"`
}

// rollbackRequest is the body of POST .../rollback.
type rollbackRequest struct {
	ID     int64 `json:"id"`
	Prune  bool  `json:"prune"`
	DryRun bool  `json:"dryRun,omitempty"`
}

// post sends a mutating request on an Application and returns the server's
// time of the response (its Date header), or the zero time when it sent
// none.
func (c *apiClient) post(ctx context.Context, key types.NamespacedName, sub string, body any) (time.Time, error) {
	_, h, err := c.do(ctx, http.MethodPost, appPath(key, sub), nil, body)
	if err != nil {
		return time.Time{}, err
	}
	t, _ := http.ParseTime(h.Get("Date"))
	return t, nil
}

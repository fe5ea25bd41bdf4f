package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// The tokens every test server knows, unless the test gives its own.
const (
	adminToken    = "admin-secret-token"
	readonlyToken = "readonly-secret-token"
	// teamAToken and teamAReadonlyToken are limited to project team-a.
	teamAToken         = "team-a-admin-token"
	teamAReadonlyToken = "team-a-readonly-token"
)

// testTokens returns the tokens above.
func testTokens() StaticTokens {
	return StaticTokens{
		adminToken:         {Name: "alice", Role: RoleAdmin},
		readonlyToken:      {Name: "dashboard", Role: RoleReadonly},
		teamAToken:         {Name: "team-a-ci", Role: RoleAdmin, Projects: []string{"team-a"}},
		teamAReadonlyToken: {Name: "team-a-dash", Role: RoleReadonly, Projects: []string{"team-a"}},
	}
}

// fakeBackend is an in-memory Backend that records what the API asked of it.
type fakeBackend struct {
	mu    sync.Mutex
	apps  map[types.NamespacedName]*app.Application
	trees map[types.NamespacedName][]app.TreeNode
	// full and results are the complete lists Resources and
	// OperationResult answer with; without an entry, the status's.
	full    map[types.NamespacedName][]app.ResourceStatus
	results map[types.NamespacedName]*app.ChangeSet
	diffs   []diff.Result
	// diffed are the objects of every DiffObjects call.
	diffed     [][]*unstructured.Unstructured
	ready      bool
	requestErr error
	requests   []app.Operation
	refreshed  []types.NamespacedName
	repoCalls  []string // "url@revision"
	forgotten  []string
	subs       []func(types.NamespacedName)
	projects   []*app.Project
}

func (b *fakeBackend) Projects() []*app.Project {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.projects
}

func newFakeBackend(apps ...*app.Application) *fakeBackend {
	b := &fakeBackend{apps: map[types.NamespacedName]*app.Application{}, trees: map[types.NamespacedName][]app.TreeNode{}, ready: true,
		full: map[types.NamespacedName][]app.ResourceStatus{}, results: map[types.NamespacedName]*app.ChangeSet{}}
	for _, a := range apps {
		b.apps[a.Key()] = a
	}
	return b
}

func (b *fakeBackend) Applications() []*app.Application {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*app.Application, 0, len(b.apps))
	for _, a := range b.apps {
		out = append(out, a)
	}
	return out
}

func (b *fakeBackend) Application(key types.NamespacedName) (*app.Application, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.apps[key]
	return a, ok
}

func (b *fakeBackend) Tree(a *app.Application) []app.TreeNode {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.trees[a.Key()]
}

func (b *fakeBackend) Resources(_ context.Context, a *app.Application) ([]app.ResourceStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if all, ok := b.full[a.Key()]; ok {
		return all, nil
	}
	return a.Status.Resources, nil
}

func (b *fakeBackend) OperationResult(a *app.Application) *app.ChangeSet {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cs, ok := b.results[a.Key()]; ok {
		return cs
	}
	if a.Status.OperationState == nil {
		return nil
	}
	return a.Status.OperationState.SyncResult
}

func (b *fakeBackend) Diff(_ context.Context, key types.NamespacedName) ([]diff.Result, error) {
	if _, ok := b.Application(key); !ok {
		return nil, fmt.Errorf("application %s: %w", key, ErrNotFound)
	}
	return b.diffs, nil
}

func (b *fakeBackend) DiffObjects(_ context.Context, key types.NamespacedName, objs []*unstructured.Unstructured) ([]diff.Result, error) {
	if _, ok := b.Application(key); !ok {
		return nil, fmt.Errorf("application %s: %w", key, ErrNotFound)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.diffed = append(b.diffed, objs)
	return b.diffs, nil
}

func (b *fakeBackend) Request(_ context.Context, key types.NamespacedName, op app.Operation) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.apps[key]; !ok {
		return fmt.Errorf("application %s: %w", key, ErrNotFound)
	}
	if b.requestErr != nil {
		return b.requestErr
	}
	b.requests = append(b.requests, op)
	return nil
}

func (b *fakeBackend) Refresh(key types.NamespacedName) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refreshed = append(b.refreshed, key)
}

func (b *fakeBackend) RefreshRepository(repoURL, revision string) []types.NamespacedName {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.repoCalls = append(b.repoCalls, repoURL+"@"+revision)
	return nil
}

func (b *fakeBackend) ForgetRepository(repoURL string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forgotten = append(b.forgotten, repoURL)
}

func (b *fakeBackend) Subscribe(fn func(types.NamespacedName)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs = append(b.subs, fn)
}

func (b *fakeBackend) Ready() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ready
}

// put adds or replaces a and tells the subscribers, as the reconciler does.
func (b *fakeBackend) put(a *app.Application) {
	b.mu.Lock()
	b.apps[a.Key()] = a
	subs := b.subs
	b.mu.Unlock()
	for _, fn := range subs {
		fn(a.Key())
	}
}

// remove deletes the Application key and tells the subscribers.
func (b *fakeBackend) remove(key types.NamespacedName) {
	b.mu.Lock()
	delete(b.apps, key)
	subs := b.subs
	b.mu.Unlock()
	for _, fn := range subs {
		fn(key)
	}
}

// snapshot returns copies of what the backend was asked.
func (b *fakeBackend) snapshot() (requests []app.Operation, refreshed []types.NamespacedName, repoCalls, forgotten []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append(requests, b.requests...), append(refreshed, b.refreshed...), append(repoCalls, b.repoCalls...), append(forgotten, b.forgotten...)
}

// fakeCluster serves fixed objects and events, and writes Applications
// to backend, as the reconciler's watch would show them.
type fakeCluster struct {
	objects map[app.ResourceKey]*unstructured.Unstructured
	events  map[app.ResourceKey][]corev1.Event
	backend *fakeBackend
	// writes are the Application writes, "create ns/name", "update
	// ns/name" or "delete ns/name", in order.
	writes []string
	// deletedWith are the finalizers each deleted Application carried.
	deletedWith map[types.NamespacedName][]string
}

func (c *fakeCluster) CreateApplication(_ context.Context, a *app.Application) (*app.Application, error) {
	if _, ok := c.backend.Application(a.Key()); ok {
		return nil, fmt.Errorf("applications %q: %w", a.Name, ErrAlreadyExists)
	}
	stored := a.DeepCopy()
	stored.UID = "uid-" + types.UID(a.Name)
	c.backend.put(stored)
	c.writes = append(c.writes, "create "+a.Key().String())
	return stored.DeepCopy(), nil
}

func (c *fakeCluster) UpdateApplication(_ context.Context, key types.NamespacedName, change func(*app.Application) error) (*app.Application, error) {
	cur, ok := c.backend.Application(key)
	if !ok {
		return nil, fmt.Errorf("application %s: %w", key, ErrNotFound)
	}
	next := cur.DeepCopy()
	if err := change(next); err != nil {
		return nil, err
	}
	c.backend.put(next)
	c.writes = append(c.writes, "update "+key.String())
	return next.DeepCopy(), nil
}

func (c *fakeCluster) DeleteApplication(_ context.Context, key types.NamespacedName) error {
	a, ok := c.backend.Application(key)
	if !ok {
		return fmt.Errorf("application %s: %w", key, ErrNotFound)
	}
	if c.deletedWith == nil {
		c.deletedWith = map[types.NamespacedName][]string{}
	}
	c.deletedWith[key] = a.Finalizers
	c.backend.remove(key)
	c.writes = append(c.writes, "delete "+key.String())
	return nil
}

func (c *fakeCluster) Resource(_ context.Context, _ *app.Application, key app.ResourceKey, _ string) (*unstructured.Unstructured, error) {
	obj, ok := c.objects[key]
	if !ok {
		return nil, ErrNotFound
	}
	return obj, nil
}

func (c *fakeCluster) Events(_ context.Context, _ *app.Application, key app.ResourceKey) ([]corev1.Event, error) {
	return c.events[key], nil
}

// testApp returns an Application in namespace ns named name, from repo at
// path.
func testApp(ns, name, repo, path string) *app.Application {
	a := &app.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"team": "a"}},
		Spec: app.Spec{
			Source:      app.Source{RepoURL: repo, Path: path, TargetRevision: "main"},
			Destination: app.Destination{Namespace: name},
		},
	}
	a.Status.Sync = app.SyncState{Status: app.Synced, Revision: strings.Repeat("a", 40)}
	a.Status.Health = app.HealthState{Status: app.Healthy}
	return a
}

// testServer is a Server over a fake backend and cluster, served by
// httptest.
type testServer struct {
	*httptest.Server
	backend *fakeBackend
	cluster *fakeCluster
	web     *Server
}

func newTestServer(t testing.TB, b *fakeBackend, opts Options) *testServer {
	t.Helper()
	c := &fakeCluster{objects: map[app.ResourceKey]*unstructured.Unstructured{}, events: map[app.ResourceKey][]corev1.Event{}, backend: b}
	opts.Backend = b
	if opts.Cluster == nil {
		opts.Cluster = c
	}
	if opts.Tokens == nil {
		opts.Tokens = testTokens()
	}
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, backend: b, cluster: c, web: s}
}

// do sends a request with token (none when empty) and returns the status
// and body.
func (ts *testServer) do(t testing.TB, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// getJSON GETs path as admin, wants 200, and decodes the body into v.
func (ts *testServer) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	code, body := ts.do(t, http.MethodGet, path, adminToken, "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

// wantError checks an answer's status and that its JSON error contains
// substr.
func wantError(t testing.TB, code int, body string, wantCode int, substr string) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("status %d, want %d; body %s", code, wantCode, body)
	}
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Fatalf("body %q is not a JSON error (%v)", body, err)
	}
	if !strings.Contains(e.Error, substr) {
		t.Fatalf("error %q does not contain %q", e.Error, substr)
	}
}

// eventually waits up to five seconds for cond.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// inProject returns a with spec.project set.
func inProject(a *app.Application, project string) *app.Application {
	a.Spec.Project = project
	return a
}

package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// routesWithoutApp are the API routes whose path names no Application,
// each with the test that checks what a token limited to projects gets
// there. A new such route fails TestScopeEveryRoute until it is added.
var routesWithoutApp = map[string]string{
	"GET /api/v1/applications":    "TestScopeList",
	"POST /api/v1/applications":   "TestCreateAppScope",
	"POST /api/v1/stream/ticket":  "TestStreamTicket",
	"GET /api/v1/stream":          "TestScopeStream, TestStreamTicket",
	"GET /api/v1/version":         "answers no application data",
	"GET /api/v1/projects":        "TestProjects",
	"GET /api/v1/projects/{name}": "TestProjects",
	"GET /api/v1/repositories":    "TestRepositoriesScope",
	"POST /api/v1/repositories":   "TestRepositoriesScope",
	"DELETE /api/v1/repositories": "TestRepositoriesScope",
	"GET /api/v1/clusters":        "TestClustersRoutes",
	"POST /api/v1/clusters":       "TestClustersRoutes",
	"DELETE /api/v1/clusters":     "TestClustersRoutes",
	"POST /api/webhook":           "takes no token",
	"/api/":                       "answers no route",
}

// wildcard matches a path wildcard of a route pattern.
var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// TestScopeEveryRoute walks every registered API route that names an
// Application with a token limited to project team-a, against an
// Application of project team-b, and wants what an Application that does
// not exist gets: 404, same message. A route that forgets appRoute fails
// here: the fixture gives it everything it needs to answer otherwise, as
// the unscoped admin's answers show.
func TestScopeEveryRoute(t *testing.T) {
	theirs := inProject(testApp("team-b-ns", "theirs", "https://git.example.com/org/repo.git", "theirs"), "team-b")
	theirs.Status.History = []app.HistoryEntry{{ID: 1, Revision: "abc"}}
	mine := inProject(testApp("team-a-ns", "mine", "https://git.example.com/org/repo.git", "mine"), "team-a")
	b := newFakeBackend(theirs, mine)
	pod := app.ResourceKey{Kind: "Pod", Namespace: "team-b-ns", Name: "web-1"}
	b.trees[theirs.Key()] = []app.TreeNode{{Key: pod, Version: "v1"}}
	ts := newTestServer(t, b, Options{})
	ts.cluster.objects[pod] = &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "web-1", "namespace": "team-b-ns"},
	}}
	ts.cluster.events[pod] = []corev1.Event{{Type: "Normal", Reason: "Started", LastTimestamp: metav1.Unix(1, 0)}}

	type call struct{ method, path, body string }
	build := func(pattern string, key types.NamespacedName) (call, error) {
		method, path, _ := strings.Cut(pattern, " ")
		var bad error
		path = wildcard.ReplaceAllStringFunc(path, func(w string) string {
			switch w {
			case "{namespace}":
				return url.PathEscape(key.Namespace)
			case "{name}":
				return url.PathEscape(key.Name)
			}
			bad = fmt.Errorf("route %q: path wildcard %s: teach TestScopeEveryRoute what to put there", pattern, w)
			return w
		})
		c := call{method: method, path: path}
		switch {
		case strings.HasSuffix(path, "/resource"), strings.HasSuffix(path, "/events"):
			c.path += "?" + url.Values{"kind": {pod.Kind}, "namespace": {pod.Namespace}, "name": {pod.Name}}.Encode()
		case strings.HasSuffix(path, "/rollback"):
			c.body = `{"id": 1}`
		case method == http.MethodPost && strings.HasSuffix(path, "/diff"):
			c.body = `{"objects": []}`
		case method == http.MethodPatch:
			c.body = `{"spec": {"source": {"path": "elsewhere"}}}`
		}
		return c, bad
	}

	var perApp []string
	for _, pattern := range ts.web.patterns {
		if _, listed := routesWithoutApp[pattern]; !wildcard.MatchString(pattern) || listed {
			if _, ok := routesWithoutApp[pattern]; !ok {
				t.Errorf("route %q names no application and no test checks what a token limited to projects gets there: write one and add the route to routesWithoutApp", pattern)
			}
			continue
		}
		perApp = append(perApp, pattern)
	}
	if len(perApp) < 10 {
		t.Fatalf("only %d routes name an application: %q", len(perApp), perApp)
	}
	for _, pattern := range perApp {
		t.Run(pattern, func(t *testing.T) {
			c, err := build(pattern, theirs.Key())
			if err != nil {
				t.Fatal(err)
			}
			gone, _ := build(pattern, types.NamespacedName{Namespace: "team-b-ns", Name: "nothing"})
			for _, token := range []string{teamAToken, teamAReadonlyToken} {
				code, body := ts.do(t, c.method, c.path, token, c.body)
				goneCode, goneBody := ts.do(t, gone.method, gone.path, token, gone.body)
				if code != goneCode || body != strings.ReplaceAll(goneBody, "nothing", "theirs") {
					t.Errorf("%s %s with a team-a token: %d %s; an application that does not exist gets %d %s", c.method, c.path, code, strings.TrimSpace(body), goneCode, strings.TrimSpace(goneBody))
				}
				if token == teamAToken {
					wantError(t, code, body, http.StatusNotFound, "application team-b-ns/theirs: not found")
				}
			}
		})
	}
	if requests, refreshed, _, _ := b.snapshot(); len(requests)+len(refreshed) > 0 {
		t.Fatalf("a team-a token reached team-b's application: operations %+v, refreshes %v", requests, refreshed)
	}
	// The fixture lets every route answer for the application: only the
	// scope made the answers above 404.
	for _, pattern := range perApp {
		c, _ := build(pattern, theirs.Key())
		if code, body := ts.do(t, c.method, c.path, adminToken, c.body); code >= 400 {
			t.Errorf("%s %s as the unscoped admin: %d %s; the fixture must let it succeed", c.method, c.path, code, body)
		}
	}
	// And a team-a token works on team-a's application.
	if code, body := ts.do(t, http.MethodGet, "/api/v1/applications/team-a-ns/mine", teamAReadonlyToken, ""); code != http.StatusOK {
		t.Fatalf("team-a token on team-a's application: %d %s", code, body)
	}
}

// TestScopeList: the list, its total and its pages hold only the
// applications of the token's projects, whatever the filters.
func TestScopeList(t *testing.T) {
	b := newFakeBackend()
	for i := range 12 {
		project := []string{"team-a", "team-b", ""}[i%3] // "" is project default
		a := testApp(fmt.Sprintf("ns-%d", i%2), fmt.Sprintf("app-%02d", i), "https://git.example.com/org/repo.git", fmt.Sprintf("apps/%02d", i))
		b.apps[a.Key()] = inProject(a, project)
	}
	ts := newTestServer(t, b, Options{})
	list := func(token, query string) AppList {
		t.Helper()
		code, body := ts.do(t, http.MethodGet, "/api/v1/applications?"+query, token, "")
		if code != http.StatusOK {
			t.Fatalf("list %s: %d %s", query, code, body)
		}
		var l AppList
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", 4},
		{"namespace=ns-0", 2},
		{"name=app-01", 0}, // team-b's
		{"name=app-03", 1},
		{"search=apps/01", 0},
		{"sync=Synced", 4},
	} {
		l := list(teamAReadonlyToken, tc.query)
		if l.Total != tc.want || len(l.Items) != tc.want {
			t.Errorf("team-a list %q: total %d, %d items; want %d", tc.query, l.Total, len(l.Items), tc.want)
		}
		for _, it := range l.Items {
			a, _ := b.Application(types.NamespacedName{Namespace: it.Namespace, Name: it.Name})
			if a.ProjectName() != "team-a" {
				t.Errorf("team-a list %q has %s/%s of project %s", tc.query, it.Namespace, it.Name, a.ProjectName())
			}
		}
	}
	var names []string
	cont := ""
	for range 5 {
		l := list(teamAToken, "limit=3&continue="+cont)
		if l.Total != 4 {
			t.Fatalf("page total %d, want 4", l.Total)
		}
		for _, it := range l.Items {
			names = append(names, it.Name)
		}
		if cont = l.Continue; cont == "" {
			break
		}
	}
	if strings.Join(names, ",") != "app-00,app-06,app-03,app-09" {
		t.Errorf("team-a pages hold %v, want app-00,app-06 (ns-0) and app-03,app-09 (ns-1)", names)
	}
	if l := list(adminToken, ""); l.Total != 12 {
		t.Errorf("unscoped list total %d, want 12", l.Total)
	}
}

// TestScopeStream: a stream with a token limited to team-a hears of
// team-a's applications only, and that one left its view when it is
// deleted or moved to another project; an unscoped stream hears of all.
func TestScopeStream(t *testing.T) {
	const repo = "https://git.example.com/org/repo.git"
	old := inProject(testApp("a", "old", repo, ""), "team-a")         // there before the server
	oldTheirs := inProject(testApp("b", "old-b", repo, ""), "team-b") // likewise
	b := newFakeBackend(old, oldTheirs)
	ts := newTestServer(t, b, Options{})
	scoped := openStreamWith(t, ts, "/api/v1/stream", teamAReadonlyToken)
	all := openStreamWith(t, ts, "/api/v1/stream", readonlyToken)

	b.put(inProject(testApp("b", "theirs", repo, ""), "team-b"))
	b.remove(oldTheirs.Key())
	b.put(inProject(testApp("a", "mine", repo, ""), "team-a"))
	b.put(inProject(testApp("a", "moving", repo, ""), "team-a"))
	b.put(inProject(testApp("a", "moving", repo, ""), "team-b"))
	b.remove(old.Key())
	b.put(inProject(testApp("zz", "marker", repo, ""), "team-a"))

	// Changes coalesce: what matters is each key's last event.
	last := func(events <-chan sseEvent) map[string]string {
		got := map[string]string{}
		for {
			ev := nextEvent(t, events)
			if ev.event == "comment" {
				continue
			}
			var key struct{ Namespace, Name string }
			if err := json.Unmarshal([]byte(ev.data), &key); err != nil {
				t.Fatal(err)
			}
			got[key.Namespace+"/"+key.Name] = ev.event
			if key.Name == "marker" {
				return got
			}
		}
	}
	want := map[string]string{
		"a/mine":    "application",
		"a/moving":  "application-deleted", // moved to team-b
		"a/old":     "application-deleted",
		"zz/marker": "application",
	}
	if got := last(scoped); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("team-a stream heard %v, want %v", got, want)
	}
	want["a/moving"], want["b/theirs"], want["b/old-b"] = "application", "application", "application-deleted"
	if got := last(all); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("unscoped stream heard %v, want %v", got, want)
	}
}

// openStreamWith opens the stream at path with token as a bearer header.
func openStreamWith(t *testing.T, ts *testServer, path, token string) <-chan sseEvent {
	t.Helper()
	return openStreamRequest(t, ts, path, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) })
}

func TestTokensFromSecretProjects(t *testing.T) {
	tokens, err := TokensFromSecret(secretWith(map[string][]byte{
		"admin.ci":           []byte("tok-ci"),
		"readonly.ci":        []byte("tok-ci-ro"),
		"projects.ci":        []byte("team-b, team-a\nteam-a"),
		"readonly.dashboard": []byte("tok-dash"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]string{"tok-ci": "admin [team-a team-b]", "tok-ci-ro": "readonly [team-a team-b]", "tok-dash": "readonly []"} {
		id, ok := tokens.Lookup(tok)
		if got := fmt.Sprintf("%s %v", id.Role, id.Projects); !ok || got != want {
			t.Errorf("%s = %q, %v; want %q", tok, got, ok, want)
		}
	}

	// Bad keys are reported and left out; the others still work, and a
	// token whose projects key is broken is refused rather than unlimited.
	tokens, err = TokensFromSecret(secretWith(map[string][]byte{
		"admin.ci":       []byte("tok-ci"),
		"projects.ci":    []byte(" ,\n"),
		"projects.ghost": []byte("team-a"),
		"admin.ok":       []byte("tok-ok"),
		"readonly.a":     []byte("same"),
		"readonly.b":     []byte("same"),
	}))
	for _, want := range []string{`key "projects.ci": no projects listed`, `key "admin.ci": left out`, `key "projects.ghost": no token key`, `key "readonly.b": same token as readonly.a`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %s", err, want)
		}
	}
	for tok, want := range map[string]bool{"tok-ci": false, "tok-ok": true, "same": false} {
		if _, ok := tokens.Lookup(tok); ok != want {
			t.Errorf("%s accepted: %v, want %v", tok, ok, want)
		}
	}
}

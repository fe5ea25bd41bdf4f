package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/types"
)

// benchApps returns n applications over 20 namespaces and 50 repositories;
// every seventh is Degraded and every third OutOfSync.
func benchApps(n int) *fakeBackend {
	b := newFakeBackend()
	for i := range n {
		a := testApp(fmt.Sprintf("ns-%02d", i%20), fmt.Sprintf("app-%04d", i), fmt.Sprintf("https://git.example.com/org/repo-%02d.git", i%50), fmt.Sprintf("apps/%04d", i))
		a.Spec.SyncPolicy = &app.SyncPolicy{Automated: &app.AutomatedSync{Prune: true}}
		if i%7 == 0 {
			a.Status.Health = app.HealthState{Status: app.Degraded, Message: "Deployment web: 0/3 ready"}
		}
		if i%3 == 0 {
			a.Status.Sync.Status = app.OutOfSync
		}
		b.apps[a.Key()] = a
	}
	return b
}

// BenchmarkList measures GET /api/v1/applications over 2,000 applications
// through the whole handler (auth, filter, sort, page, JSON), without the
// network.
func BenchmarkList(b *testing.B) {
	ts := newTestServer(b, benchApps(2000), Options{})
	for _, bc := range []struct{ name, query string }{
		{"first page", "limit=100"},
		{"filtered", "limit=100&health=Degraded&sync=OutOfSync&search=repo-1"},
		{"label selector", "limit=100&label=team%3Da"},
		{"third page", "limit=100&continue=" + encodeContinue(types.NamespacedName{Namespace: "ns-02", Name: "app-0100"})},
		{"all", ""},
	} {
		for _, changed := range []bool{false, true} {
			name := bc.name
			if changed {
				// Every request follows a change, so the index is rebuilt
				// from Backend.Applications: the cost on a busy server.
				name += " after a change"
			}
			b.Run(name, func(b *testing.B) { benchList(b, ts, bc.query, changed) })
		}
	}
}

func benchList(b *testing.B, ts *testServer, query string, changed bool) {
	h := ts.web.Handler()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/applications?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+readonlyToken)
	b.ReportAllocs()
	for b.Loop() {
		if changed {
			ts.web.index.changed(types.NamespacedName{})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

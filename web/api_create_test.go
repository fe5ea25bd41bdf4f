package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/types"
)

// appJSON returns the JSON of an Application named ns/name in project,
// from a repository whose address carries a password.
func appJSON(ns, name, project, path string) string {
	a := inProject(testApp(ns, name, "https://bot:hunter2@git.example.com/org/repo.git", path), project)
	a.Status = app.Status{}
	b, err := json.Marshal(a)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestCreateApp(t *testing.T) {
	ts := newTestServer(t, newFakeBackend(), Options{})
	key := types.NamespacedName{Namespace: "apps", Name: "web"}

	code, body := ts.do(t, http.MethodPost, "/api/v1/applications", adminToken, appJSON("apps", "web", "", "deploy"))
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	var got app.Application
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Key() != key || got.Spec.Source.Path != "deploy" || got.UID == "" {
		t.Errorf("create answered %+v; want the stored web Application", got.ObjectMeta)
	}
	if strings.Contains(body, "hunter2") {
		t.Errorf("create answered the repository password: %s", body)
	}
	stored, ok := ts.backend.Application(key)
	if !ok || stored.Spec.Source.RepoURL != "https://bot:hunter2@git.example.com/org/repo.git" {
		t.Fatalf("stored %+v; want the Application as posted", stored)
	}

	t.Run("exists", func(t *testing.T) {
		code, body := ts.do(t, http.MethodPost, "/api/v1/applications", adminToken, appJSON("apps", "web", "", "other"))
		wantError(t, code, body, http.StatusConflict, "apps/web")
		if a, _ := ts.backend.Application(key); a.Spec.Source.Path != "deploy" {
			t.Errorf("a refused create changed the Application: path %q", a.Spec.Source.Path)
		}
	})
	t.Run("upsert", func(t *testing.T) {
		code, body := ts.do(t, http.MethodPost, "/api/v1/applications?upsert=true", adminToken, appJSON("apps", "web", "", "other"))
		if code != http.StatusOK {
			t.Fatalf("upsert: %d %s", code, body)
		}
		if a, _ := ts.backend.Application(key); a.Spec.Source.Path != "other" {
			t.Errorf("upsert left path %q, want other", a.Spec.Source.Path)
		}
	})
	t.Run("invalid spec", func(t *testing.T) {
		bad := strings.Replace(appJSON("apps", "bad", "", "deploy"), `"destination":{`, `"destination":{"server":"https://elsewhere:6443","name":"elsewhere",`, 1)
		code, body := ts.do(t, http.MethodPost, "/api/v1/applications", adminToken, bad)
		wantError(t, code, body, http.StatusBadRequest, "spec.destination: set server or name")
		if _, ok := ts.backend.Application(types.NamespacedName{Namespace: "apps", Name: "bad"}); ok {
			t.Error("an invalid Application was created")
		}
	})
	t.Run("no name", func(t *testing.T) {
		code, body := ts.do(t, http.MethodPost, "/api/v1/applications", adminToken, `{"spec": {"source": {"repoURL": "https://x"}}}`)
		wantError(t, code, body, http.StatusBadRequest, "metadata.name")
	})
	t.Run("readonly", func(t *testing.T) {
		code, _ := ts.do(t, http.MethodPost, "/api/v1/applications", readonlyToken, appJSON("apps", "ro", "", "deploy"))
		if code != http.StatusForbidden {
			t.Errorf("readonly create: %d, want 403", code)
		}
	})
}

// TestCreateAppScope: a token limited to projects creates only in them.
func TestCreateAppScope(t *testing.T) {
	ts := newTestServer(t, newFakeBackend(), Options{})
	code, body := ts.do(t, http.MethodPost, "/api/v1/applications", teamAToken, appJSON("team-b-ns", "theirs", "team-b", "x"))
	wantError(t, code, body, http.StatusForbidden, `may not create an Application in project "team-b"`)
	code, body = ts.do(t, http.MethodPost, "/api/v1/applications", teamAToken, appJSON("team-a-ns", "nameless", "", "x"))
	wantError(t, code, body, http.StatusForbidden, `project "default"`)
	if len(ts.cluster.writes) > 0 {
		t.Fatalf("refused creates wrote %v", ts.cluster.writes)
	}
	code, body = ts.do(t, http.MethodPost, "/api/v1/applications", teamAToken, appJSON("team-a-ns", "mine", "team-a", "x"))
	if code != http.StatusCreated {
		t.Fatalf("team-a create in team-a: %d %s", code, body)
	}
}

func TestPatchApp(t *testing.T) {
	a := inProject(testApp("apps", "web", "https://git.example.com/org/repo.git", "deploy"), "team-a")
	a.Spec.SyncPolicy = &app.SyncPolicy{Automated: &app.AutomatedSync{Prune: true}}
	ts := newTestServer(t, newFakeBackend(a), Options{})
	const path = "/api/v1/applications/apps/web"

	code, body := ts.do(t, http.MethodPatch, path, adminToken, `{"spec": {"source": {"targetRevision": "v2"}, "syncPolicy": {"automated": null}}}`)
	if code != http.StatusOK {
		t.Fatalf("patch: %d %s", code, body)
	}
	got, _ := ts.backend.Application(a.Key())
	if s := got.Spec.Source; s.TargetRevision != "v2" || s.Path != "deploy" || s.RepoURL != a.Spec.Source.RepoURL {
		t.Errorf("patched source %+v; want revision v2, the rest kept", s)
	}
	if got.Spec.SyncPolicy == nil || got.Spec.SyncPolicy.Automated != nil {
		t.Errorf("patched syncPolicy %+v; want automated removed", got.Spec.SyncPolicy)
	}

	for _, tt := range []struct {
		name, token, body string
		code              int
		want              string
	}{
		{"invalid after merge", adminToken, `{"spec": {"destination": {"server": "https://elsewhere:6443", "name": "elsewhere"}}}`, http.StatusBadRequest, "spec.destination: set server or name"},
		{"unknown field", adminToken, `{"spec": {"sorce": {}}}`, http.StatusBadRequest, "sorce"},
		{"not spec", adminToken, `{"metadata": {"name": "x"}}`, http.StatusBadRequest, "metadata"},
		{"empty", adminToken, ``, http.StatusBadRequest, "merge patch"},
		{"move out of its projects", teamAToken, `{"spec": {"project": "team-b"}}`, http.StatusForbidden, `may not move an Application in project "team-b"`},
		{"readonly", teamAReadonlyToken, `{"spec": {"source": {"path": "x"}}}`, http.StatusForbidden, "admin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := ts.do(t, http.MethodPatch, path, tt.token, tt.body)
			wantError(t, code, body, tt.code, tt.want)
			if now, _ := ts.backend.Application(a.Key()); now.Spec.Project != "team-a" || now.Spec.Source.Path != "deploy" || now.Spec.Destination.Server != "" {
				t.Errorf("a refused patch changed the spec: %+v", now.Spec)
			}
		})
	}
	t.Run("in its projects", func(t *testing.T) {
		code, body := ts.do(t, http.MethodPatch, path, teamAToken, `{"spec": {"source": {"path": "deploy/v2"}}}`)
		if code != http.StatusOK {
			t.Fatalf("team-a patch: %d %s", code, body)
		}
	})
}

func TestMergePatch(t *testing.T) {
	var doc, patch any
	_ = json.Unmarshal([]byte(`{"a": {"b": 1, "c": [1, 2]}, "d": "x"}`), &doc)
	_ = json.Unmarshal([]byte(`{"a": {"b": null, "c": [3], "e": {"f": true}}, "g": 2}`), &patch)
	got, _ := json.Marshal(mergePatch(doc, patch))
	if want := `{"a":{"c":[3],"e":{"f":true}},"d":"x","g":2}`; string(got) != want {
		t.Errorf("mergePatch = %s, want %s", got, want)
	}
}

func TestDeleteApp(t *testing.T) {
	for _, tt := range []struct {
		name       string
		query      string
		finalizers []string
		want       []string // the finalizers when deleted
		cascade    bool
	}{
		{"cascade by default adds the finalizer", "", nil, []string{app.ResourcesFinalizer}, true},
		{"cascade keeps the finalizer", "?cascade=true", []string{"other", app.ResourcesFinalizer}, []string{"other", app.ResourcesFinalizer}, true},
		{"no cascade removes the finalizer", "?cascade=false", []string{"other", app.ResourcesFinalizer}, []string{"other"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := testApp("apps", "web", "https://git.example.com/org/repo.git", "deploy")
			a.Finalizers = tt.finalizers
			ts := newTestServer(t, newFakeBackend(a), Options{})
			code, body := ts.do(t, http.MethodDelete, "/api/v1/applications/apps/web"+tt.query, adminToken, "")
			if code != http.StatusOK {
				t.Fatalf("delete: %d %s", code, body)
			}
			var resp DeleteResponse
			if err := json.Unmarshal([]byte(body), &resp); err != nil || !resp.Deleted || resp.Cascade != tt.cascade {
				t.Errorf("answer %s (%v); want deleted, cascade %v", body, err, tt.cascade)
			}
			got, deleted := ts.cluster.deletedWith[a.Key()]
			if !deleted || !slices.Equal(got, tt.want) {
				t.Errorf("deleted %v with finalizers %q; want %q", deleted, got, tt.want)
			}
			if _, ok := ts.backend.Application(a.Key()); ok {
				t.Error("the Application is still there")
			}
		})
	}

	a := inProject(testApp("apps", "web", "https://git.example.com/org/repo.git", "deploy"), "team-b")
	ts := newTestServer(t, newFakeBackend(a), Options{})
	code, body := ts.do(t, http.MethodDelete, "/api/v1/applications/apps/web?cascade=maybe", adminToken, "")
	wantError(t, code, body, http.StatusBadRequest, "cascade")
	code, body = ts.do(t, http.MethodDelete, "/api/v1/applications/apps/web", teamAToken, "")
	wantError(t, code, body, http.StatusNotFound, "application apps/web: not found")
	code, body = ts.do(t, http.MethodDelete, "/api/v1/applications/apps/missing", adminToken, "")
	wantError(t, code, body, http.StatusNotFound, "not found")
	if len(ts.cluster.writes) > 0 {
		t.Errorf("refused deletes wrote %v", ts.cluster.writes)
	}
}

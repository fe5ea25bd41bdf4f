package web

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gyre-cd/gyre/app"
)

// TestProjects: the Project list shows every Project with its rules and
// how many Applications use it, the implicit default while none is named
// "default"; a token limited to projects sees only those, and another
// Project answers as one that does not exist.
func TestProjects(t *testing.T) {
	b := newFakeBackend()
	for i, project := range []string{"team-a", "team-a", "team-b", ""} {
		a := testApp("gyre", string(rune('a'+i)), "https://git.example.com/org/repo.git", "apps")
		b.apps[a.Key()] = inProject(a, project)
	}
	teamA := &app.Project{Spec: app.ProjectSpec{Description: "Team A", SourceRepos: []string{"https://git.example.com/team-a/*"}}}
	teamA.Name = "team-a"
	teamB := &app.Project{Spec: app.ProjectSpec{Description: "Team B"}}
	teamB.Name = "team-b"
	b.projects = []*app.Project{teamB, teamA}
	ts := newTestServer(t, b, Options{})
	list := func(token string) []ProjectView {
		t.Helper()
		code, body := ts.do(t, http.MethodGet, "/api/v1/projects", token, "")
		if code != http.StatusOK {
			t.Fatalf("list: %d %s", code, body)
		}
		var l ProjectList
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	all := list(adminToken)
	if len(all) != 3 || all[0].Name != "default" || !all[0].Implicit || all[1].Name != "team-a" || all[2].Name != "team-b" {
		t.Fatalf("projects %+v, want default (implicit), team-a, team-b", all)
	}
	if all[0].Applications != 1 || all[1].Applications != 2 || all[2].Applications != 1 {
		t.Errorf("application counts %d %d %d, want 1 2 1", all[0].Applications, all[1].Applications, all[2].Applications)
	}
	if all[1].Spec.Description != "Team A" || len(all[1].Spec.SourceRepos) != 1 {
		t.Errorf("team-a spec %+v", all[1].Spec)
	}
	if scoped := list(teamAReadonlyToken); len(scoped) != 1 || scoped[0].Name != "team-a" {
		t.Errorf("team-a token sees %+v, want team-a only", scoped)
	}
	if code, body := ts.do(t, http.MethodGet, "/api/v1/projects/team-a", teamAToken, ""); code != http.StatusOK {
		t.Errorf("get own project: %d %s", code, body)
	}
	codeOther, bodyOther := ts.do(t, http.MethodGet, "/api/v1/projects/team-b", teamAToken, "")
	codeNone, bodyNone := ts.do(t, http.MethodGet, "/api/v1/projects/nope", teamAToken, "")
	if codeOther != http.StatusNotFound || codeNone != http.StatusNotFound {
		t.Errorf("another project: %d, a missing one: %d; want 404 for both", codeOther, codeNone)
	}
	if len(bodyOther) == 0 || len(bodyNone) == 0 {
		t.Error("404 without a message")
	}
	// A real default Project replaces the implicit one.
	def := &app.Project{Spec: app.ProjectSpec{Description: "locked down"}}
	def.Name = "default"
	b.projects = append(b.projects, def)
	if got := list(adminToken); got[0].Implicit || got[0].Spec.Description != "locked down" {
		t.Errorf("default project %+v, want the real one", got[0])
	}
}

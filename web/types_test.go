package web

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
)

// TestSummarizeSources: the list's summary names every source, chart and
// ref included and credentials left out, and keeps the flat fields of the
// first source for older clients.
func TestSummarizeSources(t *testing.T) {
	const (
		digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		sha    = "4f2c1e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e"
	)
	gitApp := testApp("gyre", "git", "https://git.example.com/org/repo.git", "guestbook")

	chartApp := testApp("gyre", "chart", "", "")
	chartApp.Spec.Source = app.Source{RepoURL: "https://bob:s3cret@charts.example.com", Chart: "demo", TargetRevision: "1.*"}
	chartApp.Status.Sync.Revision = "1.2.0@" + digest

	multi := testApp("gyre", "multi", "", "")
	multi.Spec.Source = app.Source{}
	multi.Spec.Sources = []app.Source{
		{RepoURL: "oci://registry.example.com/charts", Chart: "podinfo", TargetRevision: "6.*", Helm: &app.HelmSource{ValueFiles: []string{"$values/prod.yaml"}}},
		{RepoURL: "https://alice:hunter2@git.example.com/org/values.git", TargetRevision: "main", Ref: "values"},
		{RepoURL: "https://git.example.com/org/extra.git", Path: "extra", TargetRevision: "v1"},
	}
	multi.Status.Sync.Revisions = []string{"6.1.0@" + digest, sha, sha}
	multi.Status.Sync.Revision = app.JoinRevisions(multi.Status.Sync.Revisions)

	for _, tc := range []struct {
		a                                    *app.Application
		repoURL, path, chart, targetRevision string
		sources                              []SourceSummary
		revisions                            []string
	}{{
		a:       gitApp,
		repoURL: "https://git.example.com/org/repo.git", path: "guestbook", targetRevision: "main",
		sources: []SourceSummary{{RepoURL: "https://git.example.com/org/repo.git", Path: "guestbook", TargetRevision: "main"}},
	}, {
		a:       chartApp,
		repoURL: "https://charts.example.com", chart: "demo", targetRevision: "1.*",
		sources: []SourceSummary{{RepoURL: "https://charts.example.com", Chart: "demo", TargetRevision: "1.*"}},
	}, {
		a:       multi,
		repoURL: "oci://registry.example.com/charts", chart: "podinfo", targetRevision: "6.*",
		sources: []SourceSummary{
			{RepoURL: "oci://registry.example.com/charts", Chart: "podinfo", TargetRevision: "6.*"},
			{RepoURL: "https://git.example.com/org/values.git", TargetRevision: "main", Ref: "values"},
			{RepoURL: "https://git.example.com/org/extra.git", Path: "extra", TargetRevision: "v1"},
		},
		revisions: []string{"6.1.0@" + digest, sha, sha},
	}} {
		s := summarize(tc.a)
		if s.RepoURL != tc.repoURL || s.Path != tc.path || s.Chart != tc.chart || s.TargetRevision != tc.targetRevision {
			t.Errorf("%s: repoURL, path, chart, targetRevision = %q, %q, %q, %q; want %q, %q, %q, %q", tc.a.Name,
				s.RepoURL, s.Path, s.Chart, s.TargetRevision, tc.repoURL, tc.path, tc.chart, tc.targetRevision)
		}
		if !reflect.DeepEqual(s.Sources, tc.sources) {
			t.Errorf("%s: sources = %+v, want %+v", tc.a.Name, s.Sources, tc.sources)
		}
		if !reflect.DeepEqual(s.Revisions, tc.revisions) || s.Revision != tc.a.Status.Sync.Revision {
			t.Errorf("%s: revision %q, revisions %q; want %q, %q", tc.a.Name, s.Revision, s.Revisions, tc.a.Status.Sync.Revision, tc.revisions)
		}
	}

	// The summary does not share the status's slice: a change to it does
	// not reach an answer already built.
	s := summarize(multi)
	s.Revisions[0] = "changed"
	if multi.Status.Sync.Revisions[0] == "changed" {
		t.Error("the summary's revisions alias the Application's status")
	}

	// Through the API: the list answers every source, without credentials,
	// and finds an application by any of its sources.
	ts := newTestServer(t, newFakeBackend(gitApp, chartApp, multi), Options{})
	var list AppList
	ts.getJSON(t, "/api/v1/applications", &list)
	byName := map[string]AppSummary{}
	for _, it := range list.Items {
		byName[it.Name] = it
	}
	if got := byName["multi"].Sources; len(got) != 3 || got[1].Ref != "values" || got[2].Path != "extra" || got[0].Chart != "podinfo" {
		t.Errorf("GET /api/v1/applications: multi's sources = %+v", got)
	}
	if got := byName["chart"]; got.Chart != "demo" || len(got.Sources) != 1 || got.Sources[0].Chart != "demo" {
		t.Errorf("GET /api/v1/applications: chart = %+v", got)
	}
	_, body := ts.do(t, "GET", "/api/v1/applications", readonlyToken, "")
	for _, secret := range []string{"hunter2", "s3cret"} {
		if strings.Contains(body, secret) {
			t.Errorf("GET /api/v1/applications shows %q: %s", secret, body)
		}
	}
	if !strings.Contains(body, `"chart":"demo"`) || !strings.Contains(body, `"sources":[`) {
		t.Errorf("GET /api/v1/applications has no chart or sources field: %s", body)
	}
	for search, want := range map[string]string{"extra": "multi", "podinfo": "multi", "demo": "chart"} {
		var found AppList
		ts.getJSON(t, "/api/v1/applications?search="+search, &found)
		if len(found.Items) != 1 || found.Items[0].Name != want {
			t.Errorf("search %q found %+v, want only %s", search, found.Items, want)
		}
	}
}

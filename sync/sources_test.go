package sync

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/helmrepo/helmrepotest"
	"github.com/gyre-cd/gyre/source"
	"k8s.io/apimachinery/pkg/types"
)

// TestMultipleSourcesWithRef renders three sources into one Application: a
// chart from a Helm repository whose value file comes from a git
// repository named by ref, the ref source itself (not rendered), and plain
// manifests from another git repository. Status and history record every
// source's revision; a push to the values repository re-renders the chart
// with the new values. A value file naming a ref no source has is an
// invalid spec, and nothing is applied.
func TestMultipleSourcesWithRef(t *testing.T) {
	t.Parallel()
	ns, bad := cluster.Namespace(t), cluster.Namespace(t)
	const password = "multi-pw-62f0b4c8"
	srv := helmrepotest.NewServer(t, helmrepotest.Options{Username: "gyre", Password: password, TLS: true})
	srv.Add("demo", "1.0.0", demoChart("v1"))
	chartCreds.register(t, source.RepoTypeHelm, srv.URL, source.Credentials{Username: "gyre", Password: password, CAData: srv.CAPEM()})
	values := newRepo(t)
	valuesSHA := values.commit(map[string]*string{"envs/prod.yaml": s("greeting: from-git\nfromFile: git-prod\n")})
	extra := newRepo(t)
	extraSHA := extra.commit(map[string]*string{"extra/cm.yaml": s(configMap("extra", "plain"))})
	sources := func(valueFile string) []app.Source {
		return []app.Source{
			{RepoURL: srv.URL, Chart: "demo", TargetRevision: "1.0.0", Helm: &app.HelmSource{ValueFiles: []string{valueFile}}},
			{RepoURL: values.dir, TargetRevision: "main", Ref: "values"},
			{RepoURL: extra.dir, TargetRevision: "main", Path: "extra"},
		}
	}
	multi := func(valueFile string) func(*app.Application) {
		return func(a *app.Application) { a.Spec.Source, a.Spec.Sources = app.Source{}, sources(valueFile) }
	}
	key := newApp(t, ns, "multi", values, "", multi("$values/envs/prod.yaml"))

	chartRev := "1.0.0@" + srv.Digest("demo", "1.0.0")
	revs := []string{chartRev, valuesSHA, extraSHA}
	a := syncedAt(t, key, app.JoinRevisions(revs))
	if !slices.Equal(a.Status.Sync.Revisions, revs) {
		t.Errorf("status.sync.revisions %v, want %v", a.Status.Sync.Revisions, revs)
	}
	if len(a.Status.History) != 1 {
		t.Fatalf("history %+v, want one entry", a.Status.History)
	}
	h := a.Status.History[0]
	if !slices.Equal(h.Revisions, revs) || len(h.Sources) != 3 || h.Sources[0].Chart != "demo" || h.Sources[1].Ref != "values" || h.Sources[2].Path != "extra" {
		t.Errorf("history entry %+v, want the three sources at %v", h, revs)
	}
	wantData(t, ns, "demo-config", map[string]string{"greeting": "from-git", "fromFile": "git-prod", "chartVersion": "1.0.0"})
	wantData(t, ns, "extra", map[string]string{"value": "plain"})
	if got, want := namespaceObjects(t, ns), []string{"ConfigMap/demo-config", "ConfigMap/extra", "Deployment/demo"}; !slices.Equal(got, want) {
		t.Errorf("objects %v, want %v (the ref source renders nothing of its own)", got, want)
	}

	// A push to the values repository re-renders the chart.
	valuesSHA2 := values.commit(map[string]*string{"envs/prod.yaml": s("greeting: changed-in-git\nfromFile: git-prod\n")})
	values.push()
	revs = []string{chartRev, valuesSHA2, extraSHA}
	a = syncedAt(t, key, app.JoinRevisions(revs))
	wantData(t, ns, "demo-config", map[string]string{"greeting": "changed-in-git"})
	if last := a.Status.History[len(a.Status.History)-1]; !slices.Equal(last.Revisions, revs) {
		t.Errorf("history after the push records %v, want %v", last.Revisions, revs)
	}

	// A value file from a ref that no source has.
	badKey := newApp(t, bad, "bad-ref", values, "", multi("$nothere/x.yaml"))
	a = hasCondition(t, badKey, app.ConditionInvalidSpecError, `"$nothere/x.yaml"`, `ref "nothere"`)
	if a.Status.Sync.Status == app.Synced || len(a.Status.History) > 0 {
		t.Errorf("an invalid spec was synced: %s, history %d", a.Status.Sync.Status, len(a.Status.History))
	}
	if objs := namespaceObjects(t, bad); len(objs) > 0 {
		t.Errorf("an invalid spec applied %v", objs)
	}
	assertNoSecret(t, password, ns, bad)
}

// TestKustomizeHelmChartsFromChartRepository renders a kustomization whose
// helmCharts take a chart from a Helm repository (TLS, basic auth): the
// chart is fetched through the chart cache, inflated with the entry's
// values and release name, and the kustomization's namePrefix applies to
// it. A Project that allows the git repository but not the chart
// repository refuses the app, naming the chart repository, and nothing is
// applied.
func TestKustomizeHelmChartsFromChartRepository(t *testing.T) {
	t.Parallel()
	ns, refused := cluster.Namespace(t), cluster.Namespace(t)
	const password = "kustomize-pw-d81e0a37"
	srv := helmrepotest.NewServer(t, helmrepotest.Options{Username: "gyre", Password: password, TLS: true})
	srv.Add("demo", "1.0.0", demoChart("v1"))
	chartCreds.register(t, source.RepoTypeHelm, srv.URL, source.Credentials{Username: "gyre", Password: password, CAData: srv.CAPEM()})
	r := newRepo(t)
	sha := r.commit(map[string]*string{"k/kustomization.yaml": s(fmt.Sprintf(`namePrefix: pre-
helmCharts:
- name: demo
  repo: %s
  version: 1.0.0
  releaseName: r
  valuesInline:
    greeting: from-kustomize
`, srv.URL))})

	key := newApp(t, ns, "kust", r, "k", nil)
	a := syncedAt(t, key, sha)
	if a.Status.SourceType != app.SourceKustomize {
		t.Errorf("source type %q, want Kustomize", a.Status.SourceType)
	}
	wantData(t, ns, "pre-demo-config", map[string]string{"greeting": "from-kustomize", "fromFile": "chart-default", "chartVersion": "1.0.0"})
	if got, want := namespaceObjects(t, ns), []string{"ConfigMap/pre-demo-config", "Deployment/pre-demo"}; !slices.Equal(got, want) {
		t.Errorf("objects %v, want %v", got, want)
	}
	if srv.Requests(helmrepotest.ArchivePath("demo", "1.0.0")) == 0 {
		t.Error("the chart was not downloaded from the repository")
	}

	proj := "charts-" + refused
	createProject(t, proj, app.ProjectSpec{
		SourceRepos:      []string{r.dir},
		Destinations:     []app.ProjectDestination{{Server: "*", Namespace: refused}},
		SourceNamespaces: []string{refused},
	})
	refusedKey := types.NamespacedName{Namespace: refused, Name: "kust"}
	newApp(t, refused, "kust", r, "k", func(a *app.Application) { a.Spec.Project = proj })
	a = hasCondition(t, refusedKey, app.ConditionPermissionDeniedError, "helmCharts", `"demo"`, srv.URL, "(sourceRepos)")
	if a.Status.Sync.Status == app.Synced || len(a.Status.History) > 0 {
		t.Errorf("an app whose chart repository its project refuses was synced: %s, history %d", a.Status.Sync.Status, len(a.Status.History))
	}
	if objs := namespaceObjects(t, refused); len(objs) > 0 {
		t.Errorf("a refused app applied %v", objs)
	}
	assertNoSecret(t, password, ns, refused)
}

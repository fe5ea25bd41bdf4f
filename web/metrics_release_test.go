package web

import (
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/source"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
)

// seriesOf counts the series of the metric family name in reg.
func seriesOf(t *testing.T, reg *prometheus.Registry, name string) map[string]int {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" || l.GetName() == "repo" {
					out[l.GetValue()]++
				}
			}
		}
	}
	return out
}

func TestMetricsForgetDeletedAppsAndRepositories(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	gone := types.NamespacedName{Namespace: "team", Name: "gone"}
	stays := types.NamespacedName{Namespace: "team", Name: "stays"}
	other := types.NamespacedName{Namespace: "other", Name: "gone"} // same name, other namespace
	for _, k := range []types.NamespacedName{gone, stays, other} {
		m.OperationFinished(k, app.OperationSucceeded)
	}
	m.OperationFinished(gone, app.OperationFailed)
	m.GitRequest("https://git.example.com/org/gone", source.RequestFetch, time.Second, nil)
	m.GitRequest("https://git.example.com/org/gone", source.RequestListRefs, time.Second, nil)
	m.GitRequest("https://git.example.com/org/stays", source.RequestListRefs, time.Second, nil)

	m.ForgetApp(gone)
	m.RepositoryEvicted("https://git.example.com/org/gone")

	syncs := seriesOf(t, reg, "gyre_app_sync_total")
	if syncs["gone"] != 1 || syncs["stays"] != 1 {
		t.Errorf("gyre_app_sync_total series by name after forgetting team/gone: %v; want one each for stays and other/gone", syncs)
	}
	for _, name := range []string{"gyre_git_request_total", "gyre_git_request_duration_seconds"} {
		if got := seriesOf(t, reg, name); got["https://git.example.com/org/gone"] != 0 || got["https://git.example.com/org/stays"] != 1 {
			t.Errorf("%s series by repo after releasing org/gone: %v; want only org/stays", name, got)
		}
	}
}

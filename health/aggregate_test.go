package health

import (
	"testing"

	"github.com/gyre-cd/gyre/app"
)

func TestAggregate(t *testing.T) {
	api := app.ResourceKey{Group: "apps", Kind: "Deployment", Namespace: "prod", Name: "api"}
	db := app.ResourceKey{Group: "apps", Kind: "StatefulSet", Namespace: "prod", Name: "db"}
	svc := app.ResourceKey{Kind: "Service", Namespace: "prod", Name: "api"}
	cm := app.ResourceKey{Kind: "ConfigMap", Namespace: "prod", Name: "cfg"}
	r := func(k app.ResourceKey, s app.HealthStatus, msg string) Result {
		return Result{Key: k, Health: app.HealthState{Status: s, Message: msg}}
	}
	tests := []struct {
		name    string
		results []Result
		want    app.HealthState
	}{
		{"nothing", nil, app.HealthState{Status: app.Healthy}},
		{"all healthy", []Result{r(api, app.Healthy, "3 of 3"), r(svc, app.Healthy, "")}, app.HealthState{Status: app.Healthy}},
		{"progressing wins over healthy", []Result{r(svc, app.Healthy, ""), r(api, app.Progressing, "waiting for rollout to finish")},
			app.HealthState{Status: app.Progressing, Message: "apps/Deployment/prod/api: waiting for rollout to finish"}},
		{"degraded wins over missing", []Result{r(cm, app.Missing, ""), r(db, app.Degraded, "crash"), r(api, app.Progressing, "x")},
			app.HealthState{Status: app.Degraded, Message: "apps/StatefulSet/prod/db: crash"}},
		{"missing without message", []Result{r(api, app.Healthy, ""), r(cm, app.Missing, "")},
			app.HealthState{Status: app.Missing, Message: "ConfigMap/prod/cfg is Missing"}},
		{"suspended", []Result{r(api, app.Suspended, "deployment is paused"), r(svc, app.Healthy, "")},
			app.HealthState{Status: app.Suspended, Message: "apps/Deployment/prod/api: deployment is paused"}},
		{"first of equals, counting the rest", []Result{r(api, app.Degraded, "a"), r(db, app.Degraded, "b"), r(svc, app.Degraded, "c")},
			app.HealthState{Status: app.Degraded, Message: "apps/Deployment/prod/api: a (and 2 more Degraded)"}},
		{"unknown is worse than progressing", []Result{r(api, app.Progressing, "p"), r(db, app.HealthUnknown, "cannot read")},
			app.HealthState{Status: app.HealthUnknown, Message: "apps/StatefulSet/prod/db: cannot read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Aggregate(tt.results...); got != tt.want {
				t.Errorf("Aggregate() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

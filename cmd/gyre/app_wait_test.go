package main

import (
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
)

func TestAppWait(t *testing.T) {
	progressing := func() *app.Application {
		a := testApp("gyre", "guestbook")
		a.Status.Sync.Status, a.Status.Health.Status = app.OutOfSync, app.Progressing
		return a
	}
	degraded := testApp("gyre", "guestbook")
	degraded.Status.Health = app.HealthState{Status: app.Degraded, Message: "Deployment/demo/guestbook: rollout past its deadline"}
	syncedOnly := testApp("gyre", "guestbook")
	syncedOnly.Status.Health.Status = app.Progressing

	tests := []struct {
		name   string
		states []*app.Application
		args   []string
		code   int
		want   string
	}{
		{name: "reached", states: []*app.Application{progressing(), progressing(), testApp("gyre", "guestbook")}, args: []string{"--sync", "--health"}, code: 0, want: "gyre/guestbook: Synced to 0123456, Healthy"},
		{name: "sync only", states: []*app.Application{syncedOnly}, args: []string{"--sync"}, code: 0, want: "Synced"},
		{name: "timeout", states: []*app.Application{progressing()}, args: []string{"--timeout", "50ms"}, code: 1, want: "gyre: application gyre/guestbook: timed out after 50ms: sync is OutOfSync, not Synced, health is Progressing, not Healthy\n"},
		{name: "degraded", states: []*app.Application{progressing(), degraded}, args: []string{"--health"}, code: 1, want: "gyre: application gyre/guestbook: health is Degraded: Deployment/demo/guestbook: rollout past its deadline\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.add(tt.states...)
			r := runCLI(t, nil, f.against(append([]string{"app", "wait", "guestbook"}, tt.args...)...)...)
			out := r.stdout
			if tt.code != 0 {
				out = r.stderr
			}
			if r.code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", r.code, r.stdout, r.stderr, tt.code, tt.want)
			}
		})
	}

	f := newFakeAPI(t)
	r := runCLI(t, nil, f.against("app", "wait", "nope", "--timeout", "5s")...)
	if r.code != 1 || r.stderr != "gyre: application gyre/nope not found\n" {
		t.Errorf("missing app: exit %d, stderr %q", r.code, r.stderr)
	}
}

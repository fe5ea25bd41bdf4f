package notify

import (
	"slices"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// status builds an Application status for tracker tables: health, sync,
// and an operation that started at second start (0: none) in phase, which
// finished at second finish when it is final.
func status(h app.HealthStatus, s app.SyncStatus, start int64, phase app.OperationPhase) *app.Application {
	a := &app.Application{Status: app.Status{Health: app.HealthState{Status: h}, Sync: app.SyncState{Status: s}}}
	if start > 0 {
		op := &app.OperationState{Phase: phase, StartedAt: metav1.NewTime(time.Unix(start, 0))}
		if phase.Completed() {
			f := metav1.NewTime(time.Unix(start+1, 0))
			op.FinishedAt = &f
		}
		a.Status.OperationState = op
	}
	return a
}

func TestTracker(t *testing.T) {
	const (
		H, D, P, U = app.Healthy, app.Degraded, app.Progressing, app.HealthUnknown
		S, O, X    = app.Synced, app.OutOfSync, app.SyncUnknown
		run, ok    = app.OperationRunning, app.OperationSucceeded
		fail, erro = app.OperationFailed, app.OperationError
	)
	for _, tc := range []struct {
		name string
		seq  []*app.Application // the first is the state at start
		want []Event
	}{
		{"the state at start fires nothing", []*app.Application{status(D, O, 1, run)}, nil},
		{"the same status again fires nothing", []*app.Application{status(H, S, 1, ok), status(H, S, 1, ok), status(H, S, 1, ok)}, nil},
		{"a sync that runs and succeeds", []*app.Application{status(H, S, 0, ""), status(H, S, 5, run), status(H, S, 5, ok)}, []Event{SyncStarted, SyncSucceeded}},
		{"a sync that fails", []*app.Application{status(H, S, 1, ok), status(H, S, 5, run), status(H, S, 5, fail)}, []Event{SyncStarted, SyncFailed}},
		{"a sync that cannot run", []*app.Application{status(H, S, 1, ok), status(H, S, 5, run), status(H, S, 5, erro)}, []Event{SyncStarted, SyncFailed}},
		{"a sync first seen finished fires its end only", []*app.Application{status(H, S, 1, ok), status(H, S, 5, ok)}, []Event{SyncSucceeded}},
		{"a running sync at start fires its end", []*app.Application{status(H, S, 5, run), status(H, S, 5, ok)}, []Event{SyncSucceeded}},
		{"a second sync in the same second", []*app.Application{status(H, S, 5, run), status(H, S, 5, ok), status(H, S, 5, run), status(H, S, 5, fail)},
			[]Event{SyncSucceeded, SyncStarted, SyncFailed}},
		{"degraded and recovered", []*app.Application{status(H, S, 0, ""), status(D, S, 0, ""), status(H, S, 0, "")}, []Event{HealthDegraded, HealthRecovered}},
		{"degraded at start, recovered", []*app.Application{status(D, S, 0, ""), status(H, S, 0, "")}, []Event{HealthRecovered}},
		{"one degraded episode through other states", []*app.Application{status(H, S, 0, ""), status(D, S, 0, ""), status(P, S, 0, ""), status(U, S, 0, ""), status(D, S, 0, "")},
			[]Event{HealthDegraded}},
		{"progressing to healthy is not a recovery", []*app.Application{status(P, S, 0, ""), status(H, S, 0, "")}, nil},
		{"out of sync once until synced", []*app.Application{status(H, S, 0, ""), status(H, O, 0, ""), status(H, X, 0, ""), status(H, O, 0, ""), status(H, S, 0, ""), status(H, O, 0, "")},
			[]Event{OutOfSync, OutOfSync}},
		{"a sync's end comes before the health it left", []*app.Application{status(H, S, 5, run), status(D, O, 5, fail)}, []Event{SyncFailed, HealthDegraded, OutOfSync}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(tc.seq[0])
			var got []Event
			ids := map[string]bool{}
			for _, a := range tc.seq[1:] {
				for _, o := range tr.observe(a) {
					got = append(got, o.Event)
					id := string(o.Event) + "/" + o.ID
					if ids[id] {
						t.Errorf("occurrence id %s given twice", id)
					}
					ids[id] = true
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("events %v, want %v", got, tc.want)
			}
		})
	}
}

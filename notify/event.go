package notify

import (
	"slices"
	"strconv"
	"time"

	"github.com/gyre-cd/gyre/app"
)

// Event is something that happened to an Application that a Notifier may
// send.
type Event string

// The events. Each is a transition gyre saw while running; the state an
// Application is in when gyre starts (or when it is created) fires
// nothing.
const (
	// SyncStarted: an operation (sync or rollback) began to run.
	SyncStarted Event = "SyncStarted"
	// SyncSucceeded: an operation finished in phase Succeeded.
	SyncSucceeded Event = "SyncSucceeded"
	// SyncFailed: an operation finished in phase Failed or Error.
	SyncFailed Event = "SyncFailed"
	// HealthDegraded: the Application's health became Degraded. It fires
	// once per episode: Degraded → Progressing → Degraded sends nothing
	// new until the Application has been Healthy.
	HealthDegraded Event = "HealthDegraded"
	// HealthRecovered: the Application became Healthy after
	// HealthDegraded.
	HealthRecovered Event = "HealthRecovered"
	// OutOfSync: the Application's sync status became OutOfSync. It fires
	// once until the Application has been Synced again.
	OutOfSync Event = "OutOfSync"
)

// Events returns every event, in the order the CRD's enum lists them.
func Events() []Event {
	return []Event{SyncStarted, SyncSucceeded, SyncFailed, HealthDegraded, HealthRecovered, OutOfSync}
}

// Known reports whether e is one of Events.
func (e Event) Known() bool { return slices.Contains(Events(), e) }

// Occurrence is one event of one Application, with what identifies it
// among others of its kind.
type Occurrence struct {
	Event Event
	// ID tells this occurrence from earlier ones of the same event and
	// Application: the operation's start (and finish) time for sync
	// events, a count of episodes for the others. Delivery uses it to
	// send each occurrence once.
	ID string
}

// tracker follows one Application's status and says which events a new
// observation of it amounts to. It holds the facts the events depend on,
// not the last object, so that a status that passes through an
// in-between state (Degraded → Unknown → Degraded) fires once.
type tracker struct {
	started   time.Time // StartedAt of the last operation seen
	finished  time.Time // FinishedAt of the last operation seen finished
	running   bool      // that operation was last seen Running or Terminating
	ops       int       // operations seen, for Occurrence.ID
	degraded  bool      // health was Degraded and has not been Healthy since
	outOfSync bool      // sync was OutOfSync and has not been Synced since
	episodes  int       // degraded and out-of-sync episodes begun, for Occurrence.ID
}

// newTracker starts following a from its current state, which fires
// nothing.
func newTracker(a *app.Application) *tracker {
	t := &tracker{}
	t.observe(a)
	return t
}

// observe records a's status and returns the events it amounts to, in the
// order they happened: a sync's start before its end, and the end of a
// sync before the health and sync status it left.
//
// An operation is new when its startedAt differs from the last one's, or
// when it runs after the last one was seen finished (two operations may
// start within the second a timestamp holds). SyncStarted fires for a new
// operation seen running; one first seen finished fires only its end.
func (t *tracker) observe(a *app.Application) []Occurrence {
	var out []Occurrence
	if op := a.Status.OperationState; op != nil && !op.StartedAt.IsZero() {
		running := !op.Phase.Completed()
		if !op.StartedAt.Time.Equal(t.started) || (running && !t.running) {
			t.started = op.StartedAt.Time
			t.ops++
			t.finished = time.Time{}
			if running {
				out = append(out, Occurrence{SyncStarted, t.opID("started")})
			}
		}
		if !running && op.FinishedAt != nil && (t.running || !op.FinishedAt.Time.Equal(t.finished)) {
			t.finished = op.FinishedAt.Time
			e := SyncFailed
			if op.Phase == app.OperationSucceeded {
				e = SyncSucceeded
			}
			out = append(out, Occurrence{e, t.opID("finished")})
		}
		t.running = running
	}
	switch a.Status.Health.Status {
	case app.Degraded:
		if !t.degraded {
			t.degraded = true
			t.episodes++
			out = append(out, Occurrence{HealthDegraded, t.episodeID()})
		}
	case app.Healthy:
		if t.degraded {
			t.degraded = false
			out = append(out, Occurrence{HealthRecovered, t.episodeID()})
		}
	}
	switch a.Status.Sync.Status {
	case app.OutOfSync:
		if !t.outOfSync {
			t.outOfSync = true
			t.episodes++
			out = append(out, Occurrence{OutOfSync, t.episodeID()})
		}
	case app.Synced:
		t.outOfSync = false
	}
	return out
}

func (t *tracker) opID(what string) string {
	return "operation-" + strconv.Itoa(t.ops) + "-" + what + "-" + t.started.UTC().Format(time.RFC3339)
}

func (t *tracker) episodeID() string { return "episode-" + strconv.Itoa(t.episodes) }

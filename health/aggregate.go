package health

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
)

// Result is the health of one object, as Aggregate takes it.
type Result struct {
	Key    app.ResourceKey
	Health app.HealthState
}

// Aggregate returns an Application's health from its objects' results: the
// worst status wins (app.HealthStatus.Worse), and the message leads with the
// key of the first object, in the given order, that has it, e.g.
// "apps/Deployment/prod/api: waiting for rollout to finish: …", noting how
// many more share the status. No results, or only Healthy ones, is Healthy
// with no message.
//
// The caller passes only what counts: not hooks, not objects the
// Application ignores, and an object git declares that does not exist as
// app.Missing.
func Aggregate(results ...Result) app.HealthState {
	worst := -1
	for i, r := range results {
		if worst < 0 || r.Health.Status.Worse(results[worst].Health.Status) {
			worst = i
		}
	}
	if worst < 0 || results[worst].Health.Status == app.Healthy {
		return app.HealthState{Status: app.Healthy}
	}
	w := results[worst]
	msg := w.Key.String()
	if w.Health.Message != "" {
		msg += ": " + w.Health.Message
	} else {
		msg += " is " + string(w.Health.Status)
	}
	more := 0
	for _, r := range results {
		if r.Health.Status == w.Health.Status {
			more++
		}
	}
	if more--; more > 0 {
		msg += fmt.Sprintf(" (and %d more %s)", more, w.Health.Status)
	}
	return app.HealthState{Status: w.Health.Status, Message: msg}
}

package sync

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// waitPoll is how often the in-memory live cache is looked at while a wave
// settles; it costs no API request.
const waitPoll = 20 * time.Millisecond

// waitHealthy waits until every applied object is healthy (or has no
// health), as seen in the live cache at or after the applied generation. A
// Degraded object fails the wait at once; the timeout fails it with what is
// still not ready.
func (r *Reconciler) waitHealthy(ctx context.Context, dst *target, applied []*unstructured.Unstructured, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(waitPoll)
	defer tick.Stop()
	for {
		pending, err := r.pendingHealth(dst, applied)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("not healthy after %s: %s", timeout, app.JoinMessages(pending, "; ", app.MaxMessageLength))
		case <-tick.C:
		}
	}
}

// pendingHealth lists the objects that are not healthy yet, or returns an
// error naming the first Degraded one.
func (r *Reconciler) pendingHealth(dst *target, applied []*unstructured.Unstructured) ([]string, error) {
	var pending []string
	for _, want := range applied {
		k := app.KeyOf(want)
		live, ok := dst.live.Get(k)
		if !ok || live.GetUID() != want.GetUID() || live.GetGeneration() < want.GetGeneration() {
			pending = append(pending, k.String()+": waiting for the cluster to report it")
			continue
		}
		h, ok := r.opts.Health.Check(live)
		if !ok {
			continue
		}
		switch h.Status {
		case app.Healthy, app.Suspended:
		case app.Degraded:
			return nil, fmt.Errorf("%s is Degraded: %s", k, h.Message)
		default:
			pending = append(pending, fmt.Sprintf("%s is %s: %s", k, h.Status, h.Message))
		}
	}
	sort.Strings(pending)
	return pending, nil
}

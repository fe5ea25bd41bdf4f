package notify

import (
	"context"
	"fmt"
	gosync "sync"

	"k8s.io/apimachinery/pkg/types"
)

// job is one notification waiting for its Notifier's worker.
type job struct {
	// id is the de-duplication key: Notifier UID, Application, event and
	// the occurrence's ID.
	id   string
	uid  types.UID
	data Data
}

// rememberedJobs bounds how many delivered job ids a worker remembers.
const rememberedJobs = 1024

// worker delivers one Notifier's notifications, one at a time and in the
// order they happened, so that a slow or dead receiver delays only its own
// Notifier and a SyncStarted never arrives after its SyncSucceeded. It
// also keeps the Notifier's status.
type worker struct {
	c      *Controller
	key    types.NamespacedName
	jobs   chan job
	poked  chan struct{} // the Notifier changed: check its spec condition
	cancel context.CancelFunc

	mu     gosync.Mutex
	queued map[string]bool // ids waiting in jobs; guarded by mu

	// Touched by the worker's goroutine only.
	done      map[string]bool // ids delivered or given up on
	doneOrder []string        // the same, oldest first, to forget the oldest
}

// newWorkerLocked starts the worker of the Notifier key. c.mu is held.
func (c *Controller) newWorkerLocked(key types.NamespacedName) *worker {
	ctx, cancel := context.WithCancel(c.ctx)
	w := &worker{
		c: c, key: key, cancel: cancel,
		jobs:   make(chan job, c.opts.QueueSize),
		poked:  make(chan struct{}, 1),
		queued: map[string]bool{},
		done:   map[string]bool{},
	}
	go w.run(ctx)
	return w
}

// enqueue queues j unless the same job waits already; it reports false
// when the queue is full. It never blocks.
func (w *worker) enqueue(j job) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.queued[j.id] {
		return true
	}
	select {
	case w.jobs <- j:
		w.queued[j.id] = true
		return true
	default:
		return false
	}
}

// poke asks the worker to look at its Notifier's spec again.
func (w *worker) poke() {
	select {
	case w.poked <- struct{}{}:
	default:
	}
}

func (w *worker) stop() { w.cancel() }

func (w *worker) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.poked:
			w.checkSpec(ctx)
		case j := <-w.jobs:
			w.mu.Lock()
			delete(w.queued, j.id)
			w.mu.Unlock()
			if !w.done[j.id] {
				w.deliver(ctx, j)
				w.remember(j.id)
			}
		}
	}
}

// remember records that id is done, forgetting the oldest past
// rememberedJobs.
func (w *worker) remember(id string) {
	w.done[id] = true
	w.doneOrder = append(w.doneOrder, id)
	if len(w.doneOrder) > rememberedJobs {
		delete(w.done, w.doneOrder[0])
		w.doneOrder = w.doneOrder[1:]
	}
}

// checkSpec sets the Ready condition from the spec: False with reason
// InvalidSpec when it is invalid; True (Accepted) when it is valid and the
// condition does not describe this generation yet or said InvalidSpec.
func (w *worker) checkSpec(ctx context.Context) {
	n, _, err := w.c.current(w.key)
	if n == nil {
		return
	}
	if err != nil {
		w.c.setReady(ctx, w.key, n.Generation, false, ReasonInvalidSpec, err.Error())
		return
	}
	w.c.setReady(ctx, w.key, n.Generation, true, ReasonAccepted, "")
}

// deliver sends j with the Notifier's current spec and secret, and
// records the outcome in the metric and the status.
func (w *worker) deliver(ctx context.Context, j job) {
	n, r, _ := w.c.current(w.key)
	if n == nil || r == nil || n.UID != j.uid {
		return // deleted, replaced or now invalid: its spec no longer asks
	}
	d := j.data
	err := func() error {
		secret, err := w.c.secret(ctx, n)
		if err != nil {
			return err
		}
		req, err := buildRequest(n, r, secret, d)
		if err != nil {
			return scrub(err, secret)
		}
		return w.c.sender.send(ctx, req, secret)
	}()
	if ctx.Err() != nil {
		return // stopped: neither sent nor failed
	}
	w.c.observe(w.key, r.target, d.Event, err)
	if err != nil {
		err = fmt.Errorf("%s of %s/%s: %w", d.Event, d.Namespace, d.Application, err)
		w.c.log.Warn("notification failed", "notifier", w.key.String(), "type", string(r.target), "event", string(d.Event), "application", d.Namespace+"/"+d.Application, "err", err)
		w.c.setReady(ctx, w.key, n.Generation, false, ReasonDeliveryFailed, err.Error())
		return
	}
	w.c.log.Debug("notification sent", "notifier", w.key.String(), "type", string(r.target), "event", string(d.Event), "application", d.Namespace+"/"+d.Application)
	w.c.setReady(ctx, w.key, n.Generation, true, ReasonDelivered, "")
}

package sync

import (
	"slices"
	gosync "sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
)

// urgentStreak is how many Applications the urgent lane may hand out in a
// row while the other lane waits: live objects that never settle must not
// hold back new commits for ever.
const urgentStreak = 8

// lanes orders the Applications waiting in the work queue. Those someone is
// waiting on go first: a refresh a person or a webhook asked for, and a
// change of one of the app's live objects (drift, or the health a sync
// waits for). The rest, new revisions of a whole repository, resyncs and
// Application edits, keep their order behind them. Without lanes, a push
// that moves a repository of 1,000 apps queues the one app it changed
// behind the 999 it did not, and an app that just synced shows Progressing
// until every app queued meanwhile had its turn.
//
// It is the queue beneath client-go's work queue, which calls Push, Touch,
// Len and Pop under its own lock and keeps each key at most once.
type lanes struct {
	mu     gosync.Mutex
	marked map[types.NamespacedName]bool // to go urgent when next added
	urgent []types.NamespacedName
	normal []types.NamespacedName
	streak int // urgent keys handed out since the last normal one
}

var _ workqueue.Queue[types.NamespacedName] = (*lanes)(nil)

// newQueue returns the Reconciler's rate-limited work queue over l.
func newQueue(l *lanes) workqueue.TypedRateLimitingInterface[types.NamespacedName] {
	const name = "applications"
	return workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedMaxOfRateLimiter(
			workqueue.NewTypedItemExponentialFailureRateLimiter[types.NamespacedName](100*time.Millisecond, 2*time.Minute),
		),
		workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{
			Name: name,
			DelayingQueue: workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[types.NamespacedName]{
				Name:  name,
				Queue: workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[types.NamespacedName]{Name: name, Queue: l}),
			}),
		})
}

// mark puts k in the urgent lane when it is next added; an Add of k while
// it waits in the other lane moves it (Touch).
func (l *lanes) mark(k types.NamespacedName) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.marked == nil {
		l.marked = map[types.NamespacedName]bool{}
	}
	l.marked[k] = true
}

// Push adds k, which is not queued, to the lane it belongs in.
func (l *lanes) Push(k types.NamespacedName) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.marked[k] {
		delete(l.marked, k)
		l.urgent = append(l.urgent, k)
		return
	}
	l.normal = append(l.normal, k)
}

// Touch is called when k, already queued, is added again: a marked key
// moves to the urgent lane.
func (l *lanes) Touch(k types.NamespacedName) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.marked[k] {
		return
	}
	delete(l.marked, k)
	if i := slices.Index(l.normal, k); i >= 0 {
		l.normal = slices.Delete(l.normal, i, i+1)
		l.urgent = append(l.urgent, k)
	}
}

// Len is the number of keys queued in both lanes.
func (l *lanes) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.urgent) + len(l.normal)
}

// Pop takes the next key: an urgent one, unless urgentStreak of them went
// in a row and a normal one waits. The work queue calls it only when Len
// is not 0.
func (l *lanes) Pop() types.NamespacedName {
	l.mu.Lock()
	defer l.mu.Unlock()
	take := func(q *[]types.NamespacedName) types.NamespacedName {
		k := (*q)[0]
		(*q)[0] = types.NamespacedName{}
		*q = (*q)[1:]
		return k
	}
	if len(l.urgent) > 0 && (l.streak < urgentStreak || len(l.normal) == 0) {
		l.streak++
		return take(&l.urgent)
	}
	l.streak = 0
	return take(&l.normal)
}

// addUrgent queues k in the urgent lane (see lanes).
func (r *Reconciler) addUrgent(k types.NamespacedName) {
	r.lanes.mark(k)
	r.queue.Add(k)
}

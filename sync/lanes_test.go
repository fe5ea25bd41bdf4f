package sync

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// TestLanesOrder drives the work queue the Reconciler uses: marked keys are
// handed out before the others, a marked key already waiting moves ahead,
// a key marked while it is being processed comes back urgent, and a
// stream of urgent keys lets a normal one through every urgentStreak.
func TestLanesOrder(t *testing.T) {
	l := &lanes{}
	q := newQueue(l)
	defer q.ShutDown()
	key := func(i int) types.NamespacedName {
		return types.NamespacedName{Namespace: "ns", Name: fmt.Sprint("app-", i)}
	}
	get := func() types.NamespacedName {
		t.Helper()
		k, quit := q.Get()
		if quit {
			t.Fatal("queue shut down")
		}
		q.Done(k)
		return k
	}
	urgent := func(k types.NamespacedName) { l.mark(k); q.Add(k) }

	for i := range 5 {
		q.Add(key(i))
	}
	urgent(key(9))
	urgent(key(3)) // waiting in the normal lane: moves ahead
	q.Add(key(9))  // added again unmarked: stays urgent
	want := []int{9, 3, 0, 1, 2, 4}
	for _, w := range want {
		if got := get(); got != key(w) {
			t.Fatalf("got %s, want %s (order %v)", got, key(w), want)
		}
	}
	if q.Len() != 0 {
		t.Fatalf("%d keys left", q.Len())
	}

	// Marked while processing: it comes back in the urgent lane.
	q.Add(key(1))
	q.Add(key(2))
	k, _ := q.Get() // app-1
	urgent(k)
	q.Done(k)
	if got := get(); got != key(1) {
		t.Fatalf("after Done got %s, want %s back first", got, key(1))
	}
	if got := get(); got != key(2) {
		t.Fatalf("got %s, want %s", got, key(2))
	}

	// A steady stream of urgent keys: a normal one every urgentStreak.
	q.Add(key(100))
	for i := range urgentStreak + 2 {
		urgent(key(200 + i))
	}
	for i := range urgentStreak {
		if got := get(); got != key(200+i) {
			t.Fatalf("urgent %d: got %s", i, got)
		}
	}
	if got := get(); got != key(100) {
		t.Fatalf("after %d urgent keys got %s, want the waiting normal %s", urgentStreak, got, key(100))
	}
	for i := urgentStreak; i < urgentStreak+2; i++ {
		if got := get(); got != key(200+i) {
			t.Fatalf("urgent %d: got %s", i, got)
		}
	}
}

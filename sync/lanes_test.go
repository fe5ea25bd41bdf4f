package sync

import (
	"fmt"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
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

// TestRepositoryMovedWaitsForARequestedRefresh: the apps of a repository
// that moved are queued at once, unless a refresh someone asked for is
// under way; then they come movedDelay later.
func TestRepositoryMovedWaitsForARequestedRefresh(t *testing.T) {
	inf := cache.NewSharedIndexInformer(&cache.ListWatch{}, &unstructured.Unstructured{}, 0, cache.Indexers{})
	l := &lanes{}
	r := &Reconciler{apps: inf, lanes: l, queue: newQueue(l)}
	defer r.queue.ShutDown()
	src := app.Source{RepoURL: "https://git.example.com/apps.git", Path: "a"}
	for _, name := range []string{"pushed", "other"} {
		a := &app.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: app.Spec{Source: src}}
		if err := inf.GetStore().Add(a); err != nil {
			t.Fatal(err)
		}
	}
	elsewhere := &app.Application{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "ns"},
		Spec: app.Spec{Source: app.Source{RepoURL: "https://git.example.com/other.git"}}}
	if err := inf.GetStore().Add(elsewhere); err != nil {
		t.Fatal(err)
	}

	r.repositoryMoved(repositoryKey(src))
	if n := r.queue.Len(); n != 2 {
		t.Fatalf("%d apps queued when the repository moved, want its 2 at once", n)
	}
	for range 2 {
		k, _ := r.queue.Get()
		r.queue.Done(k)
	}

	r.refreshes = map[types.NamespacedName]int{{Namespace: "ns", Name: "pushed"}: 1}
	start := time.Now()
	r.repositoryMoved(repositoryKey(src))
	if n := r.queue.Len(); n != 0 {
		t.Fatalf("%d apps queued at once while a refresh was under way, want none", n)
	}
	for range 2 {
		k, _ := r.queue.Get()
		if waited := time.Since(start); waited < movedDelay {
			t.Errorf("%s queued after %s, before movedDelay (%s)", k, waited, movedDelay)
		}
		r.queue.Done(k)
	}
}

package web

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/types"
)

// maxIndexAge bounds how long the index is reused without a change
// notification, in case a backend misses one.
const maxIndexAge = 30 * time.Second

// appIndex keeps the backend's Applications sorted by namespace and name and
// reuses them until the backend reports a change through Subscribe. The
// reconciler decodes every Application on each Applications call (about
// 150µs each, so 0.3s for 2,000), which the list, /metrics and webhooks
// would otherwise pay on every request.
type appIndex struct {
	backend Backend
	now     func() time.Time

	build sync.Mutex // held while one caller rebuilds, so others wait for its result

	mu      sync.Mutex
	gen     uint64 // bumped on every change notification
	builtAt time.Time
	builtOf uint64 // the gen the snapshot reflects
	sorted  []*app.Application
	valid   bool
}

func newAppIndex(b Backend, now func() time.Time) *appIndex {
	return &appIndex{backend: b, now: now}
}

// changed records that key changed; the next call of apps rebuilds.
func (x *appIndex) changed(types.NamespacedName) {
	x.mu.Lock()
	x.gen++
	x.mu.Unlock()
}

// fresh returns the snapshot when it is still current.
func (x *appIndex) fresh() ([]*app.Application, uint64, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	ok := x.valid && x.builtOf == x.gen && x.now().Sub(x.builtAt) < maxIndexAge
	return x.sorted, x.gen, ok
}

// apps returns every Application, sorted by namespace and name. The slice
// and the Applications are shared: callers must not change them.
func (x *appIndex) apps() []*app.Application {
	if s, _, ok := x.fresh(); ok {
		return s
	}
	x.build.Lock()
	defer x.build.Unlock()
	s, gen, ok := x.fresh()
	if ok {
		return s
	}
	// gen is read before the backend is: a change that the list below
	// misses is notified after it, and leaves the snapshot stale.
	start := x.now()
	s = slices.Clone(x.backend.Applications())
	slices.SortFunc(s, compareApps)
	x.mu.Lock()
	x.sorted, x.builtOf, x.builtAt, x.valid = s, gen, start, true
	x.mu.Unlock()
	return s
}

// compareApps orders Applications by namespace and name.
func compareApps(a, b *app.Application) int {
	return compareKey(a, b.Key())
}

// compareKey orders a against the Application with key k.
func compareKey(a *app.Application, k types.NamespacedName) int {
	if c := strings.Compare(a.Namespace, k.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, k.Name)
}

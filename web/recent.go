package web

import (
	"crypto/sha256"
	"sync"
	"time"
)

// recent is a bounded set of keys, each with a value, that expire ttl after
// they were added; adding beyond max forgets the oldest. It holds the event
// stream's tickets and the webhook deliveries already handled. Keys are
// kept as SHA-256 digests: the memory a key takes does not depend on its
// length, and the time a lookup takes depends on no byte of a key held.
type recent[V any] struct {
	now func() time.Time
	ttl time.Duration
	max int

	mu    sync.Mutex
	items map[[sha256.Size]byte]recentItem[V]
	order []recentRef // by expiry, oldest first; may name items removed since
}

type recentItem[V any] struct {
	value   V
	expires time.Time
}

type recentRef struct {
	digest  [sha256.Size]byte
	expires time.Time
}

func newRecent[V any](now func() time.Time, ttl time.Duration, max int) *recent[V] {
	return &recent[V]{now: now, ttl: ttl, max: max, items: map[[sha256.Size]byte]recentItem[V]{}}
}

// add adds key with v and reports true, or reports false, changing
// nothing, when key is held and has not expired.
func (r *recent[V]) add(key string, v V) bool {
	digest := sha256.Sum256([]byte(key))
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expireLocked(now)
	if _, held := r.items[digest]; held {
		return false
	}
	for len(r.order) >= r.max {
		r.popLocked()
	}
	expires := now.Add(r.ttl)
	r.items[digest] = recentItem[V]{v, expires}
	r.order = append(r.order, recentRef{digest, expires})
	return true
}

// take removes key and returns its value, if it is held and has not
// expired.
func (r *recent[V]) take(key string) (V, bool) {
	digest := sha256.Sum256([]byte(key))
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	it, held := r.items[digest]
	delete(r.items, digest)
	if !held || !now.Before(it.expires) {
		var zero V
		return zero, false
	}
	return it.value, true
}

// remove forgets key.
func (r *recent[V]) remove(key string) {
	digest := sha256.Sum256([]byte(key))
	r.mu.Lock()
	delete(r.items, digest)
	r.mu.Unlock()
}

// expireLocked forgets the keys that expired by now.
func (r *recent[V]) expireLocked(now time.Time) {
	for len(r.order) > 0 && !now.Before(r.order[0].expires) {
		r.popLocked()
	}
}

// popLocked forgets the oldest key, unless it was removed (and perhaps
// added again) since.
func (r *recent[V]) popLocked() {
	ref := r.order[0]
	r.order = r.order[1:]
	if it, ok := r.items[ref.digest]; ok && it.expires.Equal(ref.expires) {
		delete(r.items, ref.digest)
	}
}

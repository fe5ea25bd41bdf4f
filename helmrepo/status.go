package helmrepo

import (
	"sort"
	"sync"
	"time"

	"github.com/gyre-cd/gyre/source"
)

// requestLog is a repository's source.RepositoryStatus as requests end.
// It has a lock of its own, so recording never waits for the repository's.
type requestLog struct {
	mu   sync.Mutex
	last source.RepositoryStatus
}

// record notes a request of typ that ended at end with err. Index and tag
// listings count as listings, downloads and pulls as fetches.
func (l *requestLog) record(typ source.RequestType, end time.Time, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last.CheckedAt, l.last.Err = end, err
	if err != nil {
		return
	}
	switch typ {
	case RequestIndex, RequestTags:
		l.last.ListedAt = end
	case RequestDownload, RequestPull:
		l.last.FetchedAt = end
	}
}

// status returns what r's log holds.
func (r *repository) status() source.RepositoryStatus {
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	s := r.log.last
	s.URL = r.key
	return s
}

// merge adds b, a status of the same Key (another chart of one registry),
// to a: the latest request decides reachability.
func merge(a, b source.RepositoryStatus) source.RepositoryStatus {
	if b.CheckedAt.After(a.CheckedAt) {
		a.CheckedAt, a.Err = b.CheckedAt, b.Err
	}
	if b.ListedAt.After(a.ListedAt) {
		a.ListedAt = b.ListedAt
	}
	if b.FetchedAt.After(a.FetchedAt) {
		a.FetchedAt = b.FetchedAt
	}
	return a
}

// Status returns what the cache last heard from the server of repoURL: when
// it last fetched the index (ListedAt) and an archive (FetchedAt), and
// whether the last request succeeded. ok is false when the cache does not
// hold the repository.
func (c *Cache) Status(repoURL string) (_ source.RepositoryStatus, ok bool) {
	key, err := Key(repoURL)
	if err != nil {
		return source.RepositoryStatus{}, false
	}
	var s source.RepositoryStatus
	for _, r := range c.repositories() {
		if r.key == key {
			s, ok = merge(s, r.status()), true
		}
	}
	s.URL = key
	return s, ok
}

// Statuses returns the status of every repository the cache holds, by Key.
func (c *Cache) Statuses() []source.RepositoryStatus {
	byKey := map[string]source.RepositoryStatus{}
	for _, r := range c.repositories() {
		s := merge(byKey[r.key], r.status())
		s.URL = r.key
		byKey[r.key] = s
	}
	out := make([]source.RepositoryStatus, 0, len(byKey))
	for _, s := range byKey {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	return out
}

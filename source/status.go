package source

import (
	"sort"
	"sync"
	"time"
)

// RepositoryStatus is what the Cache last heard from one repository's
// server: whether it answered, and when it last listed refs and fetched.
// The CLI and API show it beside the repository's credentials, so that
// "is my Secret right?" has an answer without reading logs.
type RepositoryStatus struct {
	// URL is the repository's identity (NormalizeURL): no credentials.
	URL string
	// CheckedAt is when the last ref listing or fetch ended; zero before
	// the first.
	CheckedAt time.Time
	// Err is why that last request failed, nil when it succeeded. Its
	// message holds no password or token; errors.Is finds ErrAuth,
	// ErrUnreachable and the other sentinels in it.
	Err error
	// ListedAt is when a ref listing last succeeded; zero if none did.
	ListedAt time.Time
	// FetchedAt is when a fetch last succeeded; zero if none did.
	FetchedAt time.Time
}

// Reachable reports whether the last request to the repository succeeded.
// It is false too before the first request.
func (s RepositoryStatus) Reachable() bool { return !s.CheckedAt.IsZero() && s.Err == nil }

// requestLog is a repository's RepositoryStatus as requests end. It has a
// lock of its own, so recording never waits for the repository's.
type requestLog struct {
	mu   sync.Mutex
	last RepositoryStatus
}

// record notes a request of typ that ended at end with err.
func (l *requestLog) record(typ RequestType, end time.Time, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last.CheckedAt, l.last.Err = end, err
	if err != nil {
		return
	}
	switch typ {
	case RequestListRefs:
		l.last.ListedAt = end
	case RequestFetch:
		// A fetch lists refs on the way.
		l.last.ListedAt, l.last.FetchedAt = end, end
	}
}

// status returns the repository's status.
func (r *repository) status() RepositoryStatus {
	r.requests.mu.Lock()
	defer r.requests.mu.Unlock()
	s := r.requests.last
	s.URL = r.key
	return s
}

// Status returns what the cache last heard from the server of repoURL.
// ok is false when the cache does not hold the repository: no caller has
// used it, or it was released for being idle.
func (c *Cache) Status(repoURL string) (_ RepositoryStatus, ok bool) {
	key, err := c.key(repoURL)
	if err != nil {
		return RepositoryStatus{}, false
	}
	c.mu.Lock()
	r := c.repos[key]
	c.mu.Unlock()
	if r == nil {
		return RepositoryStatus{}, false
	}
	return r.status(), true
}

// Statuses returns the status of every repository the cache holds, by URL.
func (c *Cache) Statuses() []RepositoryStatus {
	c.mu.Lock()
	repos := make([]*repository, 0, len(c.repos))
	for _, r := range c.repos {
		repos = append(repos, r)
	}
	c.mu.Unlock()
	out := make([]RepositoryStatus, 0, len(repos))
	for _, r := range repos {
		out = append(out, r.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	return out
}

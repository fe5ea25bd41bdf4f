package source_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/gyre-cd/gyre/source"
)

// gatedTransport holds every ref advertisement and every pack upload until
// its gate opens, and counts how many arrived, so a test can see how many
// network requests concurrent callers caused while they all wait.
type gatedTransport struct {
	transport.Transport
	gate             chan struct{}
	adverts, uploads *atomic.Int64
}

func (g gatedTransport) NewUploadPackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.UploadPackSession, error) {
	s, err := g.Transport.NewUploadPackSession(ep, auth)
	if err != nil {
		return nil, err
	}
	return gatedSession{s, g}, nil
}

type gatedSession struct {
	transport.UploadPackSession
	g gatedTransport
}

func (s gatedSession) AdvertisedReferencesContext(ctx context.Context) (*packp.AdvRefs, error) {
	s.g.adverts.Add(1)
	<-s.g.gate
	return s.UploadPackSession.AdvertisedReferencesContext(ctx)
}

func (s gatedSession) UploadPack(ctx context.Context, req *packp.UploadPackRequest) (*packp.UploadPackResponse, error) {
	s.g.uploads.Add(1)
	return s.UploadPackSession.UploadPack(ctx, req)
}

// TestConcurrentResolvesCollapse checks that 50 apps resolving one
// repository at the same moment cause one ref listing and one fetch: the
// first listing is held at the transport until every goroutine is blocked
// (synctest.Wait), so a missing collapse would show as more arrivals.
func TestConcurrentResolvesCollapse(t *testing.T) {
	repo := newTestRepo(t)
	sha := repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	synctest.Test(t, func(t *testing.T) {
		var adverts, uploads atomic.Int64
		gate := make(chan struct{})
		c, _, _ := newCache(t, source.Options{
			WrapTransport: func(_ string, tr transport.Transport) transport.Transport {
				return gatedTransport{Transport: tr, gate: gate, adverts: &adverts, uploads: &uploads}
			},
		})
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				got, err := c.Resolve(context.Background(), repo.dir, "main")
				if err != nil || got != sha {
					t.Errorf("Resolve = %q, %v; want %s", got, err, sha)
				}
			})
		}
		synctest.Wait()
		if n := adverts.Load(); n != 1 {
			t.Errorf("50 concurrent resolves started %d ref listings, want 1", n)
		}
		close(gate)
		wg.Wait()
		// The listing, then one fetch (which advertises refs again).
		if a, u := adverts.Load(), uploads.Load(); a != 2 || u != 1 {
			t.Errorf("50 concurrent resolves: %d ref advertisements and %d pack uploads, want 2 and 1", a, u)
		}
	})
}

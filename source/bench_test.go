package source_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/source"
)

// benchSetup returns a cache that has resolved main of a local repository
// (file://) with 20 commits and 10 branches, so main is in the cache.
func benchSetup(b *testing.B) (*source.Cache, *counts, string, string) {
	b.Helper()
	repo := newTestRepo(b)
	var sha string
	for i := range 20 {
		sha = repo.commit(fmt.Sprint("commit ", i), map[string]string{
			fmt.Sprintf("apps/app%d/deploy.yaml", i%5): fmt.Sprintf("replicas: %d\n", i),
		})
		if i%2 == 0 {
			repo.branch(fmt.Sprint("feature-", i), sha)
		}
	}
	c, n, _ := newCache(b, source.Options{
		PollInterval: time.Hour,
		Logger:       slog.New(slog.DiscardHandler),
	})
	url := "file://" + repo.dir
	if got, err := c.Resolve(context.Background(), url, "main"); err != nil || got != sha {
		b.Fatalf("Resolve = %q, %v", got, err)
	}
	return c, n, url, sha
}

// BenchmarkResolveCached resolves an unchanged revision within the poll
// interval: no network, no fetch.
func BenchmarkResolveCached(b *testing.B) {
	c, n, url, sha := benchSetup(b)
	ctx := context.Background()
	lists, fetches := n.wire()
	b.ReportAllocs()
	for b.Loop() {
		got, err := c.Resolve(ctx, url, "main")
		if err != nil || got != sha {
			b.Fatalf("Resolve = %q, %v", got, err)
		}
	}
	if l, f := n.wire(); l != lists || f != fetches {
		b.Fatalf("cached resolves used the network: %d listings, %d fetches", l-lists, f-fetches)
	}
}

// BenchmarkResolveWithRefListing resolves an unchanged revision after the
// listing was dropped: one ref listing of a file:// repository per
// resolve, and no fetch.
func BenchmarkResolveWithRefListing(b *testing.B) {
	c, n, url, sha := benchSetup(b)
	ctx := context.Background()
	lists, fetches := n.wire()
	b.ReportAllocs()
	for b.Loop() {
		c.Refresh(url)
		got, err := c.Resolve(ctx, url, "main")
		if err != nil || got != sha {
			b.Fatalf("Resolve = %q, %v", got, err)
		}
	}
	l, f := n.wire()
	if f != fetches {
		b.Fatalf("unchanged revision fetched %d times", f-fetches)
	}
	b.ReportMetric(float64(l-lists)/float64(b.N), "listings/op")
}

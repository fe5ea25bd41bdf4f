package source_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/internal/testsupport"
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

// BenchmarkFetchOneChange fetches a commit that changes one file of a
// repository of 1,000 folders of 4 files, served by real git over HTTP:
// the fetch a push to a monorepo costs. About 110 ms of it is the
// server's: two git http-backend runs for the ref listings (one to see the
// change, one that starts the fetch) and one for the pack.
func BenchmarkFetchOneChange(b *testing.B) {
	root := b.TempDir()
	dir := filepath.Join(root, "apps")
	git := func(args ...string) string {
		b.Helper()
		return testsupport.GitCLI(b, dir, args...)
	}
	srv := httptest.NewServer(testsupport.GitHTTPHandler(b, root))
	b.Cleanup(srv.Close)
	for i := range 1000 {
		for j := range 4 {
			p := filepath.Join(dir, fmt.Sprintf("app-%04d", i), fmt.Sprintf("f%d.yaml", j))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(p, fmt.Appendf(nil, "kind: ConfigMap\nmetadata: {name: app-%04d-%d}\ndata: {v: \"0\"}\n", i, j), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-q", "-m", "apps")
	git("gc", "-q") // packed, as git hosts keep them
	c, _, _ := newCache(b, source.Options{PollInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	url := srv.URL + "/apps"
	ctx := context.Background()
	if _, err := c.Resolve(ctx, url, "main"); err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		b.StopTimer()
		n++
		p := filepath.Join(dir, fmt.Sprintf("app-%04d", n%1000), "f0.yaml")
		if err := os.WriteFile(p, fmt.Appendf(nil, "kind: ConfigMap\ndata: {v: \"%d\"}\n", n), 0o644); err != nil {
			b.Fatal(err)
		}
		git("commit", "-q", "-am", fmt.Sprint("change ", n))
		want := git("rev-parse", "HEAD")
		c.Refresh(url)
		b.StartTimer()
		if got, err := c.Resolve(ctx, url, "main"); err != nil || got != want {
			b.Fatalf("Resolve = %q, %v; want %s", got, err, want)
		}
	}
}

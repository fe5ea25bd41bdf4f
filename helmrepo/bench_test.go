package helmrepo

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// bigIndex is an index.yaml of one chart with 5,000 versions, 0.0.0 to
// 49.99.0, as Helm writes them.
func bigIndex() []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nentries:\n  big:\n")
	for major := 49; major >= 0; major-- {
		for minor := 99; minor >= 0; minor-- {
			v := fmt.Sprintf("%d.%d.0", major, minor)
			fmt.Fprintf(&b, "  - apiVersion: v2\n    name: big\n    version: %s\n    created: \"2026-01-01T00:00:00Z\"\n"+
				"    digest: %x\n    urls:\n    - charts/big-%s.tgz\n", v, sha256.Sum256([]byte(v)), v)
		}
	}
	return []byte(b.String())
}

// indexServer serves data as index.yaml, counting requests.
func indexServer(tb testing.TB, data []byte) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(data)
	}))
	tb.Cleanup(srv.Close)
	return srv, &n
}

// BenchmarkResolveIndex5000 resolves against an index of 5,000 versions:
// through the Cache (the answer memoised for the index), and the scan that
// fills the memo, for a constraint whose match is 3,900 versions down.
func BenchmarkResolveIndex5000(b *testing.B) {
	data := bigIndex()
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := parseIndex(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	idx, err := parseIndex(data)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			cv, err := idx.match("big", ">=10 <11")
			if err != nil || cv.version != "10.99.0" {
				b.Fatal(cv, err)
			}
		}
	})
	b.Run("cache", func(b *testing.B) {
		srv, _ := indexServer(b, data)
		c, err := New(Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		for b.Loop() {
			ch, err := c.Resolve(ctx, srv.URL, "big", "~10.5")
			if err != nil || ch.Version != "10.5.0" {
				b.Fatal(ch, err)
			}
		}
	})
}

// BenchmarkResolve100AppsOneFetch has 100 apps resolve one repository at
// once, after the index went stale each time: one (conditional) fetch
// serves them all.
func BenchmarkResolve100AppsOneFetch(b *testing.B) {
	srv, fetches := indexServer(b, bigIndex())
	c, err := New(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	revs := []string{"~10.5", "49.*", "^3", ">=1 <2", "7.7.0"}
	for b.Loop() {
		c.Refresh(srv.URL)
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				if _, err := c.Resolve(ctx, srv.URL, "big", revs[i%len(revs)]); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(fetches.Load())/float64(b.N), "fetches/op")
	if fetches.Load() > int64(b.N) {
		b.Fatalf("%d fetches for %d rounds of 100 apps", fetches.Load(), b.N)
	}
}

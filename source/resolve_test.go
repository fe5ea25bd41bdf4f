package source_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/source"
)

func TestResolveRevisions(t *testing.T) {
	repo := newTestRepo(t)
	first := repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	second := repo.commit("second", map[string]string{"a.yaml": "a: 2\n"})
	third := repo.commit("third", map[string]string{"b.yaml": "b: 1\n"})
	repo.branch("dev", second)
	repo.tag("v1.0.0", first, false)
	annotated := repo.tag("v2.0.0", second, true)
	repo.tag("dev-or-tag", first, true)
	repo.branch("dev-or-tag", third)

	tests := []struct {
		name, revision, want string
	}{
		{"empty is HEAD", "", third},
		{"HEAD", "HEAD", third},
		{"branch", "main", third},
		{"other branch", "dev", second},
		{"full branch ref", "refs/heads/dev", second},
		{"lightweight tag", "v1.0.0", first},
		{"annotated tag peeled to its commit", "v2.0.0", second},
		{"tag wins over branch of the same name", "dev-or-tag", first},
		{"full ref picks the branch", "refs/heads/dev-or-tag", third},
		{"full SHA at a tip", third, third},
		{"full SHA in history", first, first},
		{"upper-case full SHA", strings.ToUpper(second), second},
		{"short SHA at a tip", third[:7], third},
		{"short SHA in history", first[:8], first},
	}
	c, _, _ := newCache(t, source.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Resolve(context.Background(), repo.dir, tt.revision)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.revision, err)
			}
			if got != tt.want {
				t.Errorf("Resolve(%q) = %s, want %s", tt.revision, got, tt.want)
			}
		})
	}
	if annotated == second {
		t.Fatal("test setup: annotated tag should point at a tag object, not the commit")
	}
}

func TestResolveFromColdCache(t *testing.T) {
	// Each case with a fresh cache, so the order of fetches is the case's.
	repo := newTestRepo(t)
	first := repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	repo.commit("second", map[string]string{"a.yaml": "a: 2\n"})
	repo.tag("v1", first, true)

	for _, rev := range []string{first, first[:6], "v1"} {
		c, _, _ := newCache(t, source.Options{})
		got, err := c.Resolve(context.Background(), "file://"+repo.dir, rev)
		if err != nil || got != first {
			t.Errorf("Resolve(%q) = %q, %v; want %s", rev, got, err, first)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	repo := newTestRepo(t)
	sha := repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	missing := strings.Repeat("ab", 20)

	tests := []struct {
		name, url, revision string
		is                  error
		mention             []string
	}{
		{"unknown branch", repo.dir, "nope", source.ErrRevisionNotFound, []string{"file://" + repo.dir, `"nope"`}},
		{"unknown full SHA", repo.dir, missing, source.ErrRevisionNotFound, []string{missing}},
		{"unknown short SHA", repo.dir, "abcdef1", source.ErrRevisionNotFound, []string{"abcdef1"}},
		{"no repository there", repo.dir + "-absent", "main", source.ErrRepositoryNotFound, []string{repo.dir + "-absent"}},
		{"unsupported scheme", "ftp://example.com/repo", "main", nil, []string{"ftp"}},
	}
	c, _, _ := newCache(t, source.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Resolve(context.Background(), tt.url, tt.revision)
			if err == nil {
				t.Fatal("Resolve succeeded, want an error")
			}
			var e *source.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not a *source.Error: %v", err, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
	if got, err := c.Resolve(context.Background(), repo.dir, "main"); err != nil || got != sha {
		t.Errorf("after errors, Resolve(main) = %q, %v", got, err)
	}
}

func TestResolveMissingSHADoesNotFetchEveryTime(t *testing.T) {
	repo := newTestRepo(t)
	repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	c, n, _ := newCache(t, source.Options{})
	for range 5 {
		if _, err := c.Resolve(context.Background(), repo.dir, "deadbeef"); !errors.Is(err, source.ErrRevisionNotFound) {
			t.Fatalf("Resolve(deadbeef) = %v, want ErrRevisionNotFound", err)
		}
	}
	if got := n.fetches(); got != 1 {
		t.Errorf("5 resolves of a missing SHA within one interval made %d fetches, want 1", got)
	}
}

func TestResolveSpellingsShareOneRepository(t *testing.T) {
	repo := newTestRepo(t)
	repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	c, n, _ := newCache(t, source.Options{})
	for _, u := range []string{repo.dir, "file://" + repo.dir, repo.dir + "/", "file://" + repo.dir + "/./"} {
		if _, err := c.Resolve(context.Background(), u, "main"); err != nil {
			t.Fatalf("Resolve(%s): %v", u, err)
		}
	}
	if n.lists() != 1 || n.fetches() != 1 {
		t.Errorf("four spellings of one repository made %d listings and %d fetches, want 1 and 1", n.lists(), n.fetches())
	}
}

func TestResolveHonoursContext(t *testing.T) {
	repo := newTestRepo(t)
	repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	c, _, _ := newCache(t, source.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Resolve(ctx, repo.dir, "main")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Resolve with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestResolveUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/org/repo"
	ln.Close()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer hang.Close()

	c, _, _ := newCache(t, source.Options{Timeout: 200 * time.Millisecond})
	for _, tt := range []struct {
		name, url string
		also      error
	}{
		{"connection refused", closed, nil},
		{"server never answers", hang.URL + "/org/repo", context.DeadlineExceeded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Resolve(context.Background(), tt.url, "main")
			if !errors.Is(err, source.ErrUnreachable) {
				t.Fatalf("Resolve = %v, want ErrUnreachable", err)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Errorf("Resolve = %v, want it to wrap %v", err, tt.also)
			}
			if !strings.Contains(err.Error(), strings.TrimPrefix(tt.url, "http://")) {
				t.Errorf("error %q does not name the repository", err)
			}
		})
	}
}

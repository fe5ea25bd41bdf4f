package testsupport_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/internal/testsupport"
)

func TestRepoCommitsAndRemoves(t *testing.T) {
	r := testsupport.NewRepo(t)
	if h := r.Head(); h != "" {
		t.Fatalf("Head of an empty repository = %q", h)
	}
	one := r.Commit("one", map[string]string{"a/b.yaml": "b: 1\n"})
	if got := r.Head(); got != one || len(one) != 40 {
		t.Fatalf("Head = %q after committing %q", got, one)
	}
	if data, err := os.ReadFile(filepath.Join(r.Dir, "a", "b.yaml")); err != nil || string(data) != "b: 1\n" {
		t.Fatalf("a/b.yaml = %q, %v", data, err)
	}
	two := r.Remove("two", "a/b.yaml")
	if two == one || r.Head() != two {
		t.Fatalf("Remove made %q, head %q", two, r.Head())
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "a", "b.yaml")); !os.IsNotExist(err) {
		t.Fatalf("a/b.yaml still there: %v", err)
	}
	// Same commits, same SHAs: the dates are fixed.
	again := testsupport.NewRepo(t)
	if sha := again.Commit("one", map[string]string{"a/b.yaml": "b: 1\n"}); sha != one {
		t.Errorf("the same commit in a new repository is %s, want %s", sha, one)
	}
}

func TestStallServerHoldsRequests(t *testing.T) {
	s := testsupport.NewStallServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	if resp, err := http.Get(s.URL); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("before Stall: %v %v", resp, err)
	}
	s.Stall()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		t.Fatalf("a stalled server answered: %s", resp.Status)
	}
	testsupport.Eventually(t, 5*time.Second, func() (bool, string) {
		now, most, total := s.Held()
		return now == 0 && most == 1 && total == 1, fmt.Sprintf("held %d now, %d at most, %d in all", now, most, total)
	})
	s.Resume()
	if resp, err := http.Get(s.URL); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after Resume: %v %v", resp, err)
	}
}

func TestMetricsValue(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# TYPE requests_total counter\nrequests_total{code=\"200\",verb=\"get\"} 3\nrequests_total{code=\"error\",verb=\"get\"} 2\nrequests_total{code=\"error\",verb=\"list\"} 1\n# TYPE go_goroutines gauge\ngo_goroutines 42\n")
	}))
	defer srv.Close()
	m, err := testsupport.ScrapeMetrics(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		match map[string]string
		want  float64
		found bool
	}{
		{"requests_total", nil, 6, true},
		{"requests_total", map[string]string{"code": "error"}, 3, true},
		{"requests_total", map[string]string{"code": "error", "verb": "list"}, 1, true},
		{"requests_total", map[string]string{"code": "500"}, 0, false},
		{"go_goroutines", nil, 42, true},
		{"missing", nil, 0, false},
	} {
		got, found := m.Value(tt.name, tt.match)
		if got != tt.want || found != tt.found {
			t.Errorf("Value(%s, %v) = %v, %v; want %v, %v", tt.name, tt.match, got, found, tt.want, tt.found)
		}
	}
}

package oci

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBudget checks that a call stops reading once the registry has sent
// more than the call's budget, whatever the responses claim.
func TestBudget(t *testing.T) {
	body := strings.Repeat("x", 64<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)

	get := func(b *budget) (int, error) {
		tr := &callTransport{ctx: context.Background(), base: http.DefaultTransport, budget: b}
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		return int(n), err
	}

	b := newBudget(100 << 10)
	if n, err := get(b); err != nil || n != len(body) {
		t.Fatalf("first response under budget: read %d, %v", n, err)
	}
	if _, err := get(b); !errors.Is(err, errBudget) {
		t.Errorf("second response over budget: err = %v, want errBudget", err)
	}
	if !b.exceeded.Load() {
		t.Error("budget not marked exceeded")
	}
	if _, err := get(b); !errors.Is(err, errBudget) {
		t.Errorf("request after the budget is spent: err = %v, want errBudget", err)
	}
}

// TestCallTransportContext checks that requests run under the call's
// context even when the client starts them from context.Background, as
// Helm's does.
func TestCallTransportContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tr := &callTransport{ctx: ctx, base: http.DefaultTransport, budget: newBudget(1 << 20)}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&http.Client{Transport: tr}).Do(req)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestScrub(t *testing.T) {
	msg := scrub(`GET "https://h/v2/": pw=hunter2-long basic Z3lyZTpodW50ZXIyLWxvbmc=`, "gyre", "hunter2-long")
	if strings.Contains(msg, "hunter2-long") || strings.Contains(msg, "Z3lyZTpodW50ZXIyLWxvbmc=") {
		t.Errorf("scrub left a secret: %q", msg)
	}
}

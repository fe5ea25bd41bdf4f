package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func testSender() *sender {
	return &sender{client: newHTTPClient(2 * time.Second), attempts: 3, backoff: time.Millisecond, maxBackoff: 5 * time.Millisecond}
}

// TestSendRetries: server errors and 429 are retried up to the attempts;
// other 4xx answers are not.
func TestSendRetries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		codes     []int // answers in turn; the last repeats
		wantCalls int32
		wantErr   string
	}{
		{"succeeds at once", []int{200}, 1, ""},
		{"fails twice, then succeeds", []int{500, 503, 204}, 3, ""},
		{"rate limited, then succeeds", []int{429, 200}, 2, ""},
		{"fails every time", []int{502}, 3, "HTTP 502"},
		{"refused for good", []int{400, 200}, 1, "HTTP 400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				w.WriteHeader(tc.codes[min(n, len(tc.codes)-1)])
			}))
			defer srv.Close()
			err := testSender().send(context.Background(), request{URL: srv.URL, Header: http.Header{}, Where: "here"}, "")
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d requests, want %d", got, tc.wantCalls)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("send = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestSendRedirects: a redirect to the same host is followed; one to
// another host is not, and the other host sees no request (nor the token).
func TestSendRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/ok", http.StatusTemporaryRedirect)
		case "/away":
			http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
		}
	}))
	defer srv.Close()
	s := testSender()
	if err := s.send(context.Background(), request{URL: srv.URL + "/same", Header: http.Header{}, Where: "here"}, ""); err != nil {
		t.Errorf("redirect to the same host: %v", err)
	}
	err := s.send(context.Background(), request{URL: srv.URL + "/away", Header: http.Header{"Authorization": {"Bearer t0ken"}}, Where: "here"}, "t0ken")
	if err == nil || !strings.Contains(err.Error(), "redirect to another host refused") {
		t.Errorf("redirect to another host: %v, want it refused", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
}

// TestSendKeepsSecrets: neither the URL (a Slack webhook's is the secret)
// nor what a server echoes reaches the error.
func TestSendKeepsSecrets(t *testing.T) {
	const secret = "T000/B000/XXXXsecretXXXX"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such hook: "+r.URL.Path, http.StatusNotFound)
	}))
	defer srv.Close()
	err := testSender().send(context.Background(), request{URL: srv.URL + "/" + secret, Header: http.Header{}, Where: "Slack incoming webhook"}, srv.URL+"/"+secret)
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "XXXXsecretXXXX") {
		t.Errorf("the error carries the secret: %v", err)
	}
	// A connection error quotes the URL in net/http's own message.
	err = testSender().send(context.Background(), request{URL: "http://127.0.0.1:1/" + secret, Header: http.Header{}, Where: "Slack incoming webhook"}, "http://127.0.0.1:1/"+secret)
	if err == nil || strings.Contains(err.Error(), "XXXXsecretXXXX") {
		t.Errorf("connection error = %v, want one without the secret", err)
	}
}

// TestSendTimesOut: a server that never answers costs one timeout per
// attempt, not forever.
func TestSendTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	s := &sender{client: newHTTPClient(100 * time.Millisecond), attempts: 2, backoff: time.Millisecond, maxBackoff: time.Millisecond}
	err := s.send(context.Background(), request{URL: srv.URL, Header: http.Header{}, Where: "here"}, "")
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("send = %v, want a timeout", err)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	gyresync "github.com/gyre-cd/gyre/sync"
	"github.com/gyre-cd/gyre/web"
	"k8s.io/apimachinery/pkg/types"
)

func TestStartWebPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, _, err = startWeb(t.Context(), ln.Addr().String(), http.NotFoundHandler(), "", "")
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("err = %q, want one line saying the port is in use", err)
	}
}

// TestStartWebShutdown: a request that never ends on its own (an event
// stream) does not hold up the shutdown.
func TestStartWebShutdown(t *testing.T) {
	streaming := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			close(streaming)
			<-r.Context().Done()
			return
		}
		fmt.Fprint(w, "ok")
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done, err := startWeb(ctx, "127.0.0.1:0", h, "", "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("body %q", body)
	}
	stream, err := http.Get("http://" + addr.String() + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	<-streaming
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := http.Get("http://" + addr.String() + "/"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestStartWebTLSNeedsBoth(t *testing.T) {
	if _, _, err := startWeb(t.Context(), "127.0.0.1:0", http.NotFoundHandler(), "cert.pem", ""); err == nil {
		t.Fatal("a certificate without a key was accepted")
	}
}

func TestWebError(t *testing.T) {
	key := types.NamespacedName{Namespace: "gyre", Name: "guestbook"}
	for _, tc := range []struct {
		in   error
		want error
	}{
		{gyresync.ErrOperationInProgress, web.ErrOperationInProgress},
		{fmt.Errorf("%w: gyre/guestbook", gyresync.ErrNotFound), web.ErrNotFound},
	} {
		got := webError(key, tc.in)
		if !errors.Is(got, tc.want) || !errors.Is(got, tc.in) || !strings.Contains(got.Error(), "gyre/guestbook") {
			t.Errorf("webError(%v) = %v, want it to match %v", tc.in, got, tc.want)
		}
	}
	if err := webError(key, errors.New("boom")); errors.Is(err, web.ErrNotFound) || errors.Is(err, web.ErrOperationInProgress) {
		t.Errorf("a plain error was classified: %v", err)
	}
}

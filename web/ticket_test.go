package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// ticket asks for a stream ticket with token and returns it.
func (ts *testServer) ticket(t *testing.T, token string) StreamTicket {
	t.Helper()
	code, body := ts.do(t, http.MethodPost, "/api/v1/stream/ticket", token, "")
	if code != http.StatusOK {
		t.Fatalf("POST /api/v1/stream/ticket: %d %s", code, body)
	}
	var tk StreamTicket
	if err := json.Unmarshal([]byte(body), &tk); err != nil || len(tk.Ticket) < 20 {
		t.Fatalf("ticket answer %s: %v", body, err)
	}
	return tk
}

// TestStreamTicket: a ticket opens the stream once, within a minute, with
// the scope of the token it was issued to; it is refused after, and so is
// a token in the URL.
func TestStreamTicket(t *testing.T) {
	clock := newFakeClock()
	b := newFakeBackend()
	ts := newTestServer(t, b, Options{now: clock.Now})

	code, body := ts.do(t, http.MethodPost, "/api/v1/stream/ticket", "", "")
	wantError(t, code, body, http.StatusUnauthorized, "authentication required")
	code, body = ts.do(t, http.MethodPost, "/api/v1/stream/ticket", "nope", "")
	wantError(t, code, body, http.StatusUnauthorized, "invalid token")

	tk := ts.ticket(t, teamAReadonlyToken)
	if want := clock.Now().Add(time.Minute); !tk.ExpiresAt.Equal(want) {
		t.Errorf("ticket expires at %v, want %v", tk.ExpiresAt, want)
	}
	if strings.Contains(tk.Ticket, teamAReadonlyToken) {
		t.Fatal("the ticket holds the token")
	}
	events := openStreamRequest(t, ts, "/api/v1/stream?ticket="+tk.Ticket, func(*http.Request) {})
	const repo = "https://git.example.com/org/repo.git"
	b.put(inProject(testApp("b", "theirs", repo, ""), "team-b"))
	b.put(inProject(testApp("zz", "mine", repo, ""), "team-a"))
	for ev := nextEvent(t, events); ev.event != "application" || !strings.Contains(ev.data, `"name":"mine"`); ev = nextEvent(t, events) {
		if strings.Contains(ev.data, "theirs") {
			t.Fatalf("a team-a ticket's stream heard of team-b's application: %+v", ev)
		}
	}

	code, body = ts.do(t, http.MethodGet, "/api/v1/stream?ticket="+tk.Ticket, "", "")
	wantError(t, code, body, http.StatusUnauthorized, "used or expired")
	code, body = ts.do(t, http.MethodGet, "/api/v1/stream?ticket=made-up", "", "")
	wantError(t, code, body, http.StatusUnauthorized, "used or expired")

	late := ts.ticket(t, readonlyToken)
	clock.Advance(time.Minute)
	code, body = ts.do(t, http.MethodGet, "/api/v1/stream?ticket="+late.Ticket, "", "")
	wantError(t, code, body, http.StatusUnauthorized, "used or expired")

	code, body = ts.do(t, http.MethodGet, "/api/v1/stream?token="+readonlyToken, "", "")
	wantError(t, code, body, http.StatusUnauthorized, "does not take ?token=")
	// A ticket opens the stream only; it is no token for the API.
	other := ts.ticket(t, adminToken)
	code, body = ts.do(t, http.MethodGet, "/api/v1/applications", other.Ticket, "")
	wantError(t, code, body, http.StatusUnauthorized, "invalid token")
}

// TestStreamEndsWithToken: a ticket stands for its token, so once the
// token is removed the ticket no longer opens the stream, and a stream
// opened with it ends.
func TestStreamEndsWithToken(t *testing.T) {
	tokens := NewTokenSet(testTokens())
	ts := newTestServer(t, newFakeBackend(), Options{Tokens: tokens, KeepAlive: 20 * time.Millisecond})
	open := ts.ticket(t, readonlyToken)
	unused := ts.ticket(t, readonlyToken)
	events := openStreamRequest(t, ts, "/api/v1/stream?ticket="+open.Ticket, func(*http.Request) {})

	without := testTokens()
	delete(without, readonlyToken)
	tokens.Store(without)

	deadline := time.After(5 * time.Second)
	for ended := false; !ended; {
		select {
		case _, more := <-events:
			ended = !more
		case <-deadline:
			t.Fatal("the stream still runs 5s after its token was removed")
		}
	}
	code, body := ts.do(t, http.MethodGet, "/api/v1/stream?ticket="+unused.Ticket, "", "")
	wantError(t, code, body, http.StatusUnauthorized, "invalid token")
}

// TestRecentBounded: the set behind tickets and webhook deliveries forgets
// keys when they expire and, beyond its size, the oldest first.
func TestRecentBounded(t *testing.T) {
	clock := newFakeClock()
	r := newRecent[int](clock.Now, time.Minute, 3)
	for i, k := range []string{"a", "b", "c"} {
		if !r.add(k, i) {
			t.Fatalf("add %s: held already", k)
		}
	}
	if r.add("b", 9) {
		t.Fatal("b added twice")
	}
	r.add("d", 3) // forgets a, the oldest
	if !r.add("a", 0) {
		t.Fatal("a is still held beyond the bound")
	}
	if v, ok := r.take("c"); !ok || v != 2 {
		t.Fatalf("take c = %v, %v", v, ok)
	}
	if _, ok := r.take("c"); ok {
		t.Fatal("c taken twice")
	}
	clock.Advance(time.Minute)
	if _, ok := r.take("d"); ok {
		t.Fatal("d taken after it expired")
	}
	if !r.add("b", 1) {
		t.Fatal("b is still held after it expired")
	}
	if len(r.items) > 3 || len(r.order) > 3 {
		t.Fatalf("%d items, %d in order; want at most 3", len(r.items), len(r.order))
	}
}

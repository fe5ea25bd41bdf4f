package web

import (
	"crypto/rand"
	"net/http"
	"time"
)

// A browser's EventSource cannot send an Authorization header, and a token
// in a URL ends up in proxy logs and browser history. So the UI first asks
// POST /api/v1/stream/ticket, with its bearer token, for a ticket: a random
// string good for one connection to GET /api/v1/stream?ticket= within
// ticketTTL. The ticket stands for the token it was issued to: the stream
// looks that token up when it opens and again before each write, so it
// reads with the token's projects, and ends when the token is removed.

const (
	// ticketTTL is how long an unused stream ticket is accepted.
	ticketTTL = time.Minute
	// maxTickets bounds the tickets held at once; issuing one more drops
	// the oldest.
	maxTickets = 10_000
)

// streamTicket answers POST /api/v1/stream/ticket with a ticket for one
// connection to the event stream.
func (s *Server) streamTicket(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	ticket := rand.Text() // 128 random bits
	expires := s.now().Add(ticketTTL)
	s.tickets.add(ticket, bearerToken(r))
	writeJSON(w, http.StatusOK, StreamTicket{Ticket: ticket, ExpiresAt: expires.UTC()})
}

// streamCaller authenticates a request for the event stream, by a bearer
// token or by ?ticket=, and returns the token, to be looked up again while
// the stream runs, and the caller, whose role on a stream is readonly. A
// token in the query is refused: the stream used to take one there.
func (s *Server) streamCaller(r *http.Request) (string, Identity, error) {
	q := r.URL.Query()
	token := bearerToken(r)
	switch {
	case q.Has("token"):
		return "", Identity{}, statusError(http.StatusUnauthorized, "the stream does not take ?token=: get a ticket from POST /api/v1/stream/ticket and pass ?ticket=")
	case token != "":
	case q.Get("ticket") != "":
		var ok bool
		if token, ok = s.tickets.take(q.Get("ticket")); !ok {
			return "", Identity{}, statusError(http.StatusUnauthorized, "invalid, used or expired stream ticket: get a new one from POST /api/v1/stream/ticket")
		}
	default:
		return "", Identity{}, statusError(http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token>, or ?ticket= from POST /api/v1/stream/ticket")
	}
	id, err := s.identify(token, RoleReadonly)
	if err != nil {
		return "", Identity{}, err
	}
	id.Role = RoleReadonly
	return token, id, nil
}

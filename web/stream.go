package web

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// hub fans the backend's change notifications out to the open event
// streams. Each stream keeps the set of keys that changed since it last
// wrote, so a burst of changes to one application costs one event and a slow
// client never holds up the backend.
type hub struct {
	mu      sync.Mutex
	clients map[*streamClient]struct{}
}

func newHub() *hub {
	return &hub{clients: map[*streamClient]struct{}{}}
}

// publish records that key changed, for every stream. It never blocks.
func (h *hub) publish(key types.NamespacedName) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		c.add(key)
	}
}

func (h *hub) join() *streamClient {
	c := &streamClient{pending: map[types.NamespacedName]struct{}{}, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	return c
}

func (h *hub) leave(c *streamClient) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

// streamClient is one open event stream.
type streamClient struct {
	mu      sync.Mutex
	pending map[types.NamespacedName]struct{}
	wake    chan struct{} // holds a token while pending is not empty
}

func (c *streamClient) add(key types.NamespacedName) {
	c.mu.Lock()
	c.pending[key] = struct{}{}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// take returns the keys that changed, sorted, and empties the set.
func (c *streamClient) take() []types.NamespacedName {
	c.mu.Lock()
	keys := slices.Collect(maps.Keys(c.pending))
	clear(c.pending)
	c.mu.Unlock()
	slices.SortFunc(keys, func(a, b types.NamespacedName) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return keys
}

// The server-sent event types of /api/v1/stream.
const (
	// eventApplication carries the AppSummary of an application that was
	// added or changed.
	eventApplication = "application"
	// eventDeleted carries {"namespace", "name"} of an application that no
	// longer exists.
	eventDeleted = "application-deleted"
)

// streamWriteTimeout bounds one write to a stream, so that a client that
// stopped reading is dropped.
const streamWriteTimeout = 30 * time.Second

// stream answers GET /api/v1/stream with server-sent events: an
// "application" event whenever an application changes and a comment every
// KeepAlive.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	c := s.streams.join()
	defer s.streams.leave(c)

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	send := func(write func()) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		write()
		return bw.Flush() == nil && rc.Flush() == nil
	}
	if !send(func() { fmt.Fprint(bw, "retry: 3000\n: connected\n\n") }) {
		return
	}
	tick := time.NewTicker(s.opts.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if !send(func() { fmt.Fprint(bw, ": keep-alive\n\n") }) {
				return
			}
		case <-c.wake:
			ok := send(func() {
				for _, key := range c.take() {
					event, data := s.changeEvent(key)
					writeEvent(bw, event, data)
				}
			})
			if !ok {
				return
			}
		}
	}
}

// changeEvent returns the event type and data that tell a stream about key.
func (s *Server) changeEvent(key types.NamespacedName) (string, any) {
	if a, ok := s.opts.Backend.Application(key); ok {
		return eventApplication, summarize(a)
	}
	return eventDeleted, struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	}{key.Namespace, key.Name}
}

// writeEvent writes one server-sent event; JSON holds no newline, so data
// fits on one line.
func writeEvent(bw *bufio.Writer, event string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		return
	}
	fmt.Fprintf(bw, "event: %s\ndata: %s\n\n", event, b)
}

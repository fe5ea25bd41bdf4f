package web

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gyre-cd/gyre/app"
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

// publish records that key changed, for every stream whose caller sees one
// of projects: the projects the Application had before the change and has
// after it, as far as they are known. It never blocks.
func (h *hub) publish(key types.NamespacedName, projects []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		c.add(key, projects)
	}
}

func (h *hub) join(caller Identity) *streamClient {
	c := &streamClient{who: caller, pending: map[types.NamespacedName][]string{}, wake: make(chan struct{}, 1)}
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
	who     Identity                          // the caller, as of the last token lookup
	pending map[types.NamespacedName][]string // changed keys → the projects they had
	wake    chan struct{}                     // holds a token while pending is not empty
}

// caller returns the identity the stream serves.
func (c *streamClient) caller() Identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.who
}

// setCaller replaces the identity, whose projects may have changed with a
// reload of the tokens.
func (c *streamClient) setCaller(id Identity) {
	c.mu.Lock()
	c.who = id
	c.mu.Unlock()
}

// add records that key changed, unless the caller sees none of projects.
func (c *streamClient) add(key types.NamespacedName, projects []string) {
	c.mu.Lock()
	if len(c.who.Projects) > 0 && !slices.ContainsFunc(projects, c.who.sees) {
		c.mu.Unlock()
		return
	}
	seen := c.pending[key]
	for _, p := range projects {
		if !slices.Contains(seen, p) {
			seen = append(seen, p)
		}
	}
	c.pending[key] = seen
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// change is one pending key and the projects its Application had.
type change struct {
	key      types.NamespacedName
	projects []string
}

// take returns the keys that changed, sorted, and empties the set.
func (c *streamClient) take() []change {
	c.mu.Lock()
	out := make([]change, 0, len(c.pending))
	for k, ps := range c.pending {
		out = append(out, change{k, ps})
	}
	clear(c.pending)
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b change) int {
		return cmp.Or(cmp.Compare(a.key.Namespace, b.key.Namespace), cmp.Compare(a.key.Name, b.key.Name))
	})
	return out
}

// projectMemory remembers the project of every Application the server has
// heard of. When an Application is deleted or moves to another project,
// the backend no longer says which project it was in; the stream needs
// that to tell the callers of that project, and only them, that it is
// gone from their view.
type projectMemory struct {
	mu sync.Mutex
	m  map[types.NamespacedName]string
}

func newProjectMemory() *projectMemory {
	return &projectMemory{m: map[types.NamespacedName]string{}}
}

// learn records the projects of apps that it does not know yet.
func (p *projectMemory) learn(apps []*app.Application) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range apps {
		if _, ok := p.m[a.Key()]; !ok {
			p.m[a.Key()] = a.ProjectName()
		}
	}
}

// change records that key's Application is now in project (or, with
// exists false, deleted) and returns the projects it had before and has
// now, where known.
func (p *projectMemory) change(key types.NamespacedName, project string, exists bool) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	if old, ok := p.m[key]; ok {
		out = append(out, old)
	}
	if exists {
		p.m[key] = project
		if !slices.Contains(out, project) {
			out = append(out, project)
		}
	} else {
		delete(p.m, key)
	}
	return out
}

// The server-sent event types of /api/v1/stream.
const (
	// eventApplication carries the AppSummary of an application that was
	// added or changed.
	eventApplication = "application"
	// eventDeleted carries {"namespace", "name"} of an application that no
	// longer exists, or that the caller no longer sees.
	eventDeleted = "application-deleted"
)

// streamWriteTimeout bounds one write to a stream, so that a client that
// stopped reading is dropped.
const streamWriteTimeout = 30 * time.Second

// stream answers GET /api/v1/stream with server-sent events: an
// "application" event whenever an application the caller sees changes and a
// comment every KeepAlive. It looks the caller's token up again before
// each write, and ends when the token is no longer valid.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	token, caller, err := s.streamCaller(r)
	if err != nil {
		writeAuthError(w, err)
		return
	}
	c := s.streams.join(caller)
	defer s.streams.leave(c)
	stillValid := func() bool {
		id, ok := s.opts.Tokens.Lookup(token)
		if ok {
			id.Role = RoleReadonly
			c.setCaller(id)
		}
		return ok
	}

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
			if !stillValid() || !send(func() { fmt.Fprint(bw, ": keep-alive\n\n") }) {
				return
			}
		case <-c.wake:
			if !stillValid() {
				return
			}
			who := c.caller()
			ok := send(func() {
				for _, ch := range c.take() {
					if event, data, ok := s.changeEvent(who, ch); ok {
						writeEvent(bw, event, data)
					}
				}
			})
			if !ok {
				return
			}
		}
	}
}

// changeEvent returns the event type and data that tell caller about ch,
// and false when caller is not to hear of it: an Application it sees gets
// its summary; one it saw (ch.projects) and sees no more, because it was
// deleted or moved to another project, a deletion.
func (s *Server) changeEvent(caller Identity, ch change) (string, any, bool) {
	if a, ok := s.opts.Backend.Application(ch.key); ok && caller.seesApp(a) {
		return eventApplication, summarize(a), true
	}
	if len(caller.Projects) > 0 && !slices.ContainsFunc(ch.projects, caller.sees) {
		return "", nil, false
	}
	return eventDeleted, struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	}{ch.key.Namespace, ch.key.Name}, true
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

package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/source"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/types"
)

// sseEvent is one server-sent event read from a stream.
type sseEvent struct{ event, data string }

// readEvents sends the events of the stream body to a channel until it ends.
func readEvents(r *bufio.Reader) <-chan sseEvent {
	ch := make(chan sseEvent, 16)
	go func() {
		defer close(ch)
		var ev sseEvent
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				if ev.event != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ch <- sseEvent{event: "comment", data: line[1:]}
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return ch
}

// openStream connects to the event stream and waits for its greeting;
// with header, it sends the readonly token as a bearer header.
func openStream(t *testing.T, ts *testServer, path string, header bool) <-chan sseEvent {
	t.Helper()
	return openStreamRequest(t, ts, path, func(req *http.Request) {
		if header {
			req.Header.Set("Authorization", "Bearer "+readonlyToken)
		}
	})
}

// openStreamRequest connects to the event stream with a request prepare
// finishes, and waits for its greeting.
func openStreamRequest(t *testing.T, ts *testServer, path string, prepare func(*http.Request)) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+path, nil)
	prepare(req)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := readEvents(bufio.NewReader(resp.Body))
	if ev := nextEvent(t, events); ev.event != "comment" || ev.data != " connected" {
		t.Fatalf("first event %+v, want the connected comment", ev)
	}
	return events
}

func nextEvent(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return sseEvent{}
}

func TestStream(t *testing.T) {
	b := newFakeBackend()
	ts := newTestServer(t, b, Options{KeepAlive: 50 * time.Millisecond})
	events := openStream(t, ts, "/api/v1/stream", true)

	a := testApp("gyre", "guestbook", "https://git.example.com/org/repo.git", "guestbook")
	a.Status.Sync.Status = app.OutOfSync
	b.put(a)
	var got sseEvent
	for got = nextEvent(t, events); got.event == "comment"; got = nextEvent(t, events) {
		if got.data != " keep-alive" {
			t.Fatalf("comment %q", got.data)
		}
	}
	var s AppSummary
	if err := json.Unmarshal([]byte(got.data), &s); err != nil || got.event != "application" {
		t.Fatalf("event %+v: %v", got, err)
	}
	if s.Name != "guestbook" || s.SyncStatus != app.OutOfSync {
		t.Fatalf("summary %+v", s)
	}

	b.remove(a.Key())
	for got = nextEvent(t, events); got.event == "comment"; got = nextEvent(t, events) {
	}
	if got.event != "application-deleted" || !strings.Contains(got.data, `"name":"guestbook"`) {
		t.Fatalf("event %+v, want application-deleted", got)
	}
}

// TestStreamAuth: the stream takes a bearer header or a ticket, and no
// longer a token in the URL.
func TestStreamAuth(t *testing.T) {
	ts := newTestServer(t, newFakeBackend(), Options{})
	if code, _ := ts.do(t, http.MethodGet, "/api/v1/stream", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("stream without token: %d", code)
	}
	code, body := ts.do(t, http.MethodGet, "/api/v1/stream?token="+readonlyToken, "", "")
	wantError(t, code, body, http.StatusUnauthorized, "ticket")
	openStream(t, ts, "/api/v1/stream", true) // the CLI's way
	if code, _ := ts.do(t, http.MethodGet, "/api/v1/applications?token="+adminToken, "", ""); code != http.StatusUnauthorized {
		t.Fatalf("a query token outside the stream: %d", code)
	}
}

func TestMetrics(t *testing.T) {
	b := newFakeBackend(
		testApp("gyre", "guestbook", "https://user:hunter2@git.example.com/org/repo.git", "guestbook"),
		testApp("gyre", "podinfo", "https://git.example.com/org/repo.git", "podinfo"),
	)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, b, Options{Registry: reg, Metrics: m})
	key := types.NamespacedName{Namespace: "gyre", Name: "guestbook"}
	m.Reconciled(key, 120*time.Millisecond)
	m.Rendered("Helm", 300*time.Millisecond)
	m.OperationFinished(key, app.OperationSucceeded)
	m.GitRequest("https://git.example.com/org/repo", source.RequestFetch, time.Second, nil)
	rt := m.WrapTransport(roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusNotFound, Body: http.NoBody}, nil
	}))
	req, _ := http.NewRequest(http.MethodGet, "https://k8s/api/v1/namespaces/x/pods/p", nil)
	if _, err := rt.RoundTrip(req); err != nil {
		t.Fatal(err)
	}

	code, body := ts.do(t, http.MethodGet, "/metrics", "", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	if strings.Contains(body, "hunter2") {
		t.Error("a repository password reached /metrics")
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	info := families["gyre_app_info"]
	if info == nil || len(info.Metric) != 2 {
		t.Fatalf("gyre_app_info = %v", info)
	}
	labels := map[string]string{}
	for _, l := range info.Metric[0].Label {
		labels[l.GetName()] = l.GetValue()
	}
	want := map[string]string{
		"name": "guestbook", "namespace": "gyre", "repo": "https://git.example.com/org/repo.git",
		"dest_namespace": "guestbook", "sync_status": "Synced", "health_status": "Healthy",
	}
	for k, v := range want {
		if labels[k] != v {
			t.Errorf("gyre_app_info label %s = %q, want %q", k, labels[k], v)
		}
	}
	for _, name := range []string{
		"gyre_app_sync_total", "gyre_app_reconcile_duration_seconds", "gyre_git_request_total",
		"gyre_git_request_duration_seconds", "gyre_render_duration_seconds", "gyre_kube_request_total",
		"go_goroutines", "process_cpu_seconds_total",
	} {
		if families[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	kube := families["gyre_kube_request_total"].Metric[0].Label
	if kube[0].GetValue() != "404" || kube[1].GetValue() != "get" {
		t.Errorf("gyre_kube_request_total labels = %v", kube)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	gosync "sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/web"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
)

// The clock the tests' Controllers read, so that payloads are exact.
var fixedNow = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

const (
	revision  = "0123456789abcdef0123456789abcdef01234567"
	revision2 = "89abcdef0123456789abcdef0123456789abcdef"
	waitFor   = 30 * time.Second
)

// env is a running Controller and what a test reads back from it.
type env struct {
	c       *Controller
	stop    context.CancelFunc
	logs    *testsupport.LockedBuffer
	metrics *prometheus.Registry
}

// start runs a Controller with fast retries and a fixed clock, limited to
// namespace ns (empty: all), until the test ends; change adjusts its
// options.
func start(t *testing.T, ns string, change func(*Options)) *env {
	t.Helper()
	return startConfig(t, cluster.Config, ns, change)
}

// startConfig is start with a client configuration of the test's own.
func startConfig(t *testing.T, cfg *rest.Config, ns string, change func(*Options)) *env {
	t.Helper()
	e := &env{logs: &testsupport.LockedBuffer{}, metrics: prometheus.NewRegistry()}
	m, err := web.NewMetrics(e.metrics)
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Namespace = ns
	o.Timeout = 5 * time.Second
	o.Backoff, o.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	o.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.Observer = m
	o.Now = func() time.Time { return fixedNow }
	if change != nil {
		change(&o)
	}
	c, err := New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	e.c, e.stop = c, cancel
	return e
}

// counted returns gyre_notifications_total for notifier ns/name, event
// and result.
func (e *env) counted(t *testing.T, ns, name string, ev Event, result string) float64 {
	t.Helper()
	families, err := e.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != "gyre_notifications_total" {
			continue
		}
		for _, s := range f.Metric {
			l := map[string]string{}
			for _, p := range s.Label {
				l[p.GetName()] = p.GetValue()
			}
			if l["notifier"] == ns+"/"+name && l["event"] == string(ev) && l["result"] == result {
				sum += s.Counter.GetValue()
			}
		}
	}
	return sum
}

// received is one request a receiver got.
type received struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// event decodes the event of a body that is Data as JSON.
func (r received) event(t *testing.T) Event {
	t.Helper()
	var d Data
	if err := json.Unmarshal(r.Body, &d); err != nil {
		t.Fatalf("%s: body is not Data: %v\n%s", r.Path, err, r.Body)
	}
	return d.Event
}

// receiver is the local end of every notification in the tests: it
// records each request by path and answers with the codes a test sets
// (200 once they run out).
type receiver struct {
	URL string

	mu    gosync.Mutex
	got   map[string][]received
	codes map[string][]int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: map[string][]received{}, codes: map[string][]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got[req.URL.Path] = append(r.got[req.URL.Path], received{req.Method, req.URL.Path, req.Header.Clone(), body})
		code := http.StatusOK
		if c := r.codes[req.URL.Path]; len(c) > 0 {
			code, r.codes[req.URL.Path] = c[0], c[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer to %s", req.URL.Path)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// answer makes the next requests to path get codes, in turn.
func (r *receiver) answer(path string, codes ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.codes[path] = codes
}

// at returns the requests to path so far.
func (r *receiver) at(path string) []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got[path]...)
}

// wait returns the requests to path once there are at least n.
func (r *receiver) wait(t *testing.T, path string, n int) []received {
	t.Helper()
	testsupport.Eventually(t, waitFor, func() (bool, string) {
		got := r.at(path)
		return len(got) >= n, fmt.Sprintf("%d requests to %s, want %d", len(got), path, n)
	})
	return r.at(path)
}

// events returns the events of the requests to path, whose bodies are
// Data.
func (r *receiver) events(t *testing.T, path string) []Event {
	t.Helper()
	var out []Event
	for _, q := range r.at(path) {
		out = append(out, q.event(t))
	}
	return out
}

// newApp creates an Application in ns with labels and project (empty:
// default), whose repository is on GitHub.
func newApp(t *testing.T, ns, name string, labels map[string]string, project string) {
	t.Helper()
	a := &app.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: app.Spec{
			Project:     project,
			Source:      app.Source{RepoURL: "https://github.com/gyre-cd/demo.git", Path: "guestbook"},
			Destination: app.Destination{Namespace: ns},
		},
	}
	u, err := a.ToUnstructured()
	if err != nil {
		t.Fatal(err)
	}
	delete(u.Object, "status")
	if _, err := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Application %s/%s: %v", ns, name, err)
	}
}

// setStatus changes the status of Application ns/name through the status
// subresource, as the reconciler would.
func setStatus(t *testing.T, ns, name string, change func(*app.Status)) {
	t.Helper()
	apps := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := apps.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		a, err := app.FromUnstructured(u)
		if err != nil {
			return err
		}
		change(&a.Status)
		if u, err = a.ToUnstructured(); err != nil {
			return err
		}
		_, err = apps.UpdateStatus(context.Background(), u, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("status of Application %s/%s: %v", ns, name, err)
	}
}

// operation returns an operation that started at second n after fixedNow,
// in phase, finished a second later when the phase is final.
func operation(n int, phase app.OperationPhase, message string) *app.OperationState {
	op := &app.OperationState{
		Operation: app.Operation{Sync: &app.SyncOperation{}},
		Phase:     phase,
		Message:   message,
		StartedAt: metav1.NewTime(fixedNow.Add(time.Duration(n) * time.Second)),
	}
	if phase.Completed() {
		f := metav1.NewTime(op.StartedAt.Add(time.Second))
		op.FinishedAt = &f
		op.SyncResult = &app.ChangeSet{Revision: revision2}
	}
	return op
}

// health returns a change that sets the Application's health.
func health(h app.HealthStatus, msg string) func(*app.Status) {
	return func(s *app.Status) { s.Health = app.HealthState{Status: h, Message: msg} }
}

// syncStatus returns a change that sets the Application's sync status at
// revision.
func syncStatus(st app.SyncStatus) func(*app.Status) {
	return func(s *app.Status) { s.Sync.Status, s.Sync.Revision = st, revision }
}

// newNotifier creates a Notifier in ns.
func newNotifier(t *testing.T, ns, name string, spec Spec) {
	t.Helper()
	if _, err := createNotifier(ns, name, spec); err != nil {
		t.Fatalf("create Notifier %s/%s: %v", ns, name, err)
	}
}

func createNotifier(ns, name string, spec Spec) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&Notifier{Spec: spec})
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(app.SchemeGroupVersion().String())
	u.SetKind(Kind)
	u.SetNamespace(ns)
	u.SetName(name)
	delete(u.Object, "status")
	return cluster.Dynamic.Resource(GroupVersionResource()).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{})
}

// getNotifier reads Notifier ns/name.
func getNotifier(t *testing.T, ns, name string) *Notifier {
	t.Helper()
	u, err := cluster.Dynamic.Resource(GroupVersionResource()).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := FromUnstructured(u)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitReady waits until Notifier ns/name's Ready condition has reason
// and returns it.
func waitReady(t *testing.T, ns, name, reason string) metav1.Condition {
	t.Helper()
	var c *metav1.Condition
	testsupport.Eventually(t, waitFor, func() (bool, string) {
		n := getNotifier(t, ns, name)
		c = meta.FindStatusCondition(n.Status.Conditions, ConditionReady)
		if c == nil {
			return false, "no Ready condition"
		}
		return c.Reason == reason && c.ObservedGeneration == n.Generation, fmt.Sprintf("Ready=%s %s: %s (generation %d of %d), want reason %s", c.Status, c.Reason, c.Message, c.ObservedGeneration, n.Generation, reason)
	})
	return *c
}

// newSecret creates a Secret in ns holding value under key.
func newSecret(t *testing.T, ns, name, key, value string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: map[string]string{key: value}}
	if _, err := cluster.Client.CoreV1().Secrets(ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// webhook returns a webhook spec that posts Data to the receiver's path.
func webhook(r *receiver, path string, events ...Event) Spec {
	return Spec{Events: events, Webhook: &WebhookTarget{URL: r.URL + path}}
}

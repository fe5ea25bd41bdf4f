package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// appsAt returns "<namespace>/<name>" of the Application of each request
// to path, whose bodies are Data.
func appsAt(t *testing.T, r *receiver, path string) []string {
	t.Helper()
	var out []string
	for _, q := range r.at(path) {
		var d Data
		if err := json.Unmarshal(q.Body, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d.Namespace+"/"+d.Application)
	}
	return out
}

// TestSelection: selector, projects and application globs each narrow what
// a Notifier sends, and all of them must hold.
func TestSelection(t *testing.T) {
	ns := cluster.Namespace(t)
	r := newReceiver(t)
	newApp(t, ns, "api-1", map[string]string{"tier": "backend"}, "payments")
	newApp(t, ns, "web", map[string]string{"tier": "frontend"}, "")
	newApp(t, ns, "web-2", map[string]string{"tier": "backend"}, "payments") // every Notifier's
	start(t, ns, nil)
	notifiers := map[string]Spec{
		"all":      webhook(r, "/all", OutOfSync),
		"backend":  webhook(r, "/backend", OutOfSync),
		"payments": webhook(r, "/payments", OutOfSync),
		"named":    webhook(r, "/named", OutOfSync),
		"both":     webhook(r, "/both", OutOfSync),
	}
	notifiers["backend"] = withSelector(notifiers["backend"], "tier", "backend")
	s := notifiers["payments"]
	s.Projects = []string{"payments"}
	notifiers["payments"] = s
	s = notifiers["named"]
	s.Applications = []string{"web*"}
	notifiers["named"] = s
	s = withSelector(notifiers["both"], "tier", "backend")
	s.Applications = []string{"web*"}
	notifiers["both"] = s
	for name, spec := range notifiers {
		newNotifier(t, ns, name, spec)
	}
	for name := range notifiers {
		waitReady(t, ns, name, ReasonAccepted)
	}

	for _, a := range []string{"api-1", "web", "web-2"} {
		setStatus(t, ns, a, syncStatus(app.OutOfSync))
	}
	// Each Notifier sends in order, and web-2 (selected by all) came last:
	// once it is there, whatever else was queued is there too.
	for name := range notifiers {
		r.wait(t, "/"+name, 1)
		testsupport.Eventually(t, waitFor, func() (bool, string) {
			got := appsAt(t, r, "/"+name)
			return slices.Contains(got, ns+"/web-2"), fmt.Sprintf("%s got %v, waiting for web-2", name, got)
		})
	}
	for name, want := range map[string][]string{
		"all":      {"api-1", "web", "web-2"},
		"backend":  {"api-1", "web-2"},
		"payments": {"api-1", "web-2"},
		"named":    {"web", "web-2"},
		"both":     {"web-2"},
	} {
		for i := range want {
			want[i] = ns + "/" + want[i]
		}
		if got := appsAt(t, r, "/"+name); !slices.Equal(got, want) {
			t.Errorf("Notifier %s sent about %v, want %v", name, got, want)
		}
	}
}

func withSelector(s Spec, key, value string) Spec {
	s.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{key: value}}
	return s
}

// TestSystemNamespaceSeesAll: a Notifier in gyre's system namespace sends
// about Applications of every namespace; one elsewhere only about its own
// namespace's.
func TestSystemNamespaceSeesAll(t *testing.T) {
	sys, team, other := cluster.Namespace(t), cluster.Namespace(t), cluster.Namespace(t)
	r := newReceiver(t)
	newApp(t, other, "elsewhere", nil, "")
	newApp(t, team, "mine", nil, "")
	start(t, "", func(o *Options) { o.SystemNamespace = sys })
	newNotifier(t, sys, "global", webhook(r, "/global", OutOfSync))
	newNotifier(t, team, "local", webhook(r, "/local", OutOfSync))
	waitReady(t, sys, "global", ReasonAccepted)
	waitReady(t, team, "local", ReasonAccepted)

	setStatus(t, other, "elsewhere", syncStatus(app.OutOfSync))
	setStatus(t, team, "mine", syncStatus(app.OutOfSync))
	r.wait(t, "/global", 2)
	r.wait(t, "/local", 1) // after "elsewhere", had it been queued
	if got, want := appsAt(t, r, "/global"), []string{other + "/elsewhere", team + "/mine"}; !slices.Equal(got, want) {
		t.Errorf("the system namespace's Notifier sent about %v, want %v", got, want)
	}
	if got, want := appsAt(t, r, "/local"), []string{team + "/mine"}; !slices.Equal(got, want) {
		t.Errorf("a team's Notifier sent about %v, want %v", got, want)
	}
}

// TestNothingTwice: the state Applications are in when the Controller
// starts fires nothing; resyncs, repeated updates and states in between
// (Degraded → Progressing → Degraded) send nothing again; and a restarted
// Controller sends only what happens after it started.
func TestNothingTwice(t *testing.T) {
	ns := cluster.Namespace(t)
	r := newReceiver(t)
	newApp(t, ns, "guestbook", nil, "")
	setStatus(t, ns, "guestbook", func(s *app.Status) {
		syncStatus(app.OutOfSync)(s)
		health(app.Degraded, "Pod/web-1: CrashLoopBackOff")(s)
		s.OperationState = operation(1, app.OperationFailed, "boom")
	})
	newNotifier(t, ns, "all", webhook(r, "/all", Events()...))
	first := start(t, ns, func(o *Options) { o.ResyncPeriod = time.Second }) // client-go's shortest
	waitReady(t, ns, "all", ReasonAccepted)
	base := first.c.updates.Load()
	testsupport.Eventually(t, waitFor, func() (bool, string) {
		n := first.c.updates.Load() - base
		return n >= 3, fmt.Sprintf("%d Application updates (resyncs) handled, want 3", n)
	})
	setStatus(t, ns, "guestbook", health(app.Progressing, "Deployment/web: rolling out"))
	setStatus(t, ns, "guestbook", health(app.Degraded, "Pod/web-2: CrashLoopBackOff"))
	setStatus(t, ns, "guestbook", func(s *app.Status) { s.Sync.Status = app.SyncUnknown })
	setStatus(t, ns, "guestbook", syncStatus(app.OutOfSync))
	setStatus(t, ns, "guestbook", func(s *app.Status) { s.OperationState = operation(1, app.OperationFailed, "boom, again") })

	setStatus(t, ns, "guestbook", func(s *app.Status) { s.OperationState = operation(5, app.OperationRunning, "") })
	r.wait(t, "/all", 1)
	if got := r.events(t, "/all"); !slices.Equal(got, []Event{SyncStarted}) {
		t.Fatalf("sent %v, want only SyncStarted", got)
	}

	first.stop()
	start(t, ns, nil)
	setStatus(t, ns, "guestbook", func(s *app.Status) { s.OperationState = operation(5, app.OperationSucceeded, "") })
	setStatus(t, ns, "guestbook", health(app.Healthy, ""))
	r.wait(t, "/all", 3)
	if got, want := r.events(t, "/all"), []Event{SyncStarted, SyncSucceeded, HealthRecovered}; !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
}

// TestRetries: a receiver that fails twice and then answers gets the
// notification three times, and it counts as one sent, none failed.
func TestRetries(t *testing.T) {
	ns := cluster.Namespace(t)
	r := newReceiver(t)
	r.answer("/flaky", http.StatusInternalServerError, http.StatusBadGateway)
	newApp(t, ns, "guestbook", nil, "")
	e := start(t, ns, nil)
	newNotifier(t, ns, "flaky", webhook(r, "/flaky", OutOfSync))
	waitReady(t, ns, "flaky", ReasonAccepted)

	setStatus(t, ns, "guestbook", syncStatus(app.OutOfSync))
	waitReady(t, ns, "flaky", ReasonDelivered)
	if got := r.events(t, "/flaky"); !slices.Equal(got, []Event{OutOfSync, OutOfSync, OutOfSync}) {
		t.Errorf("requests %v, want OutOfSync three times", got)
	}
	if sent, failed := e.counted(t, ns, "flaky", OutOfSync, "sent"), e.counted(t, ns, "flaky", OutOfSync, "failed"); sent != 1 || failed != 0 {
		t.Errorf("gyre_notifications_total sent %v failed %v, want 1 and 0", sent, failed)
	}
}

// TestFailures: a receiver that hangs holds up only its own Notifier
// (others keep sending, and Application updates go on), and fails it after
// its attempts with DeliveryFailed and the failed metric; a 4xx answer is
// not retried; no condition or log line carries the secret, even when the
// receiver echoes it; a later success makes the Notifier Ready again.
func TestFailures(t *testing.T) {
	ns := cluster.Namespace(t)
	r := newReceiver(t)
	stall := testsupport.NewStallServer(t, nil)
	const token = "XXXXs3cretXXXX"
	slackPath := "/services/T000/B000/" + token
	newSecret(t, ns, "slack", "url", r.URL+slackPath)
	r.answer(slackPath, http.StatusNotFound)
	newApp(t, ns, "guestbook", nil, "")
	e := start(t, ns, func(o *Options) { o.Timeout, o.Attempts = 500*time.Millisecond, 2 })
	newNotifier(t, ns, "stuck", Spec{Events: []Event{OutOfSync}, Webhook: &WebhookTarget{URL: stall.URL + "/stuck"}})
	newNotifier(t, ns, "ok", webhook(r, "/ok", OutOfSync, HealthDegraded))
	newNotifier(t, ns, "slack", Spec{Events: []Event{OutOfSync, HealthDegraded}, SecretRef: &SecretRef{Name: "slack", Key: "url"}, Slack: &SlackTarget{}})
	for _, n := range []string{"stuck", "ok", "slack"} {
		waitReady(t, ns, n, ReasonAccepted)
	}

	setStatus(t, ns, "guestbook", syncStatus(app.OutOfSync))
	testsupport.Eventually(t, waitFor, func() (bool, string) {
		held, _, _ := stall.Held()
		got := len(r.at("/ok"))
		return held == 1 && got == 1, fmt.Sprintf("%d requests held by the hanging receiver, %d delivered to the other, want 1 and 1", held, got)
	})

	c := waitReady(t, ns, "slack", ReasonDeliveryFailed)
	if !strings.Contains(c.Message, "HTTP 404") {
		t.Errorf("slack: %s, want HTTP 404", c.Message)
	}
	if strings.Contains(c.Message, token) || strings.Contains(e.logs.String(), token) {
		t.Errorf("the secret leaked:\ncondition: %s\nlogs:\n%s", c.Message, e.logs.String())
	}
	if got := len(r.at(slackPath)); got != 1 {
		t.Errorf("a 404 was tried %d times, want once", got)
	}

	c = waitReady(t, ns, "stuck", ReasonDeliveryFailed)
	if c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "OutOfSync of "+ns+"/guestbook") || !strings.Contains(c.Message, "timed out") {
		t.Errorf("stuck: %s %s, want False saying OutOfSync timed out", c.Status, c.Message)
	}
	if n := e.counted(t, ns, "stuck", OutOfSync, "failed"); n != 1 {
		t.Errorf("gyre_notifications_total failed for stuck = %v, want 1", n)
	}
	if n := e.counted(t, ns, "slack", OutOfSync, "failed"); n != 1 {
		t.Errorf("gyre_notifications_total failed for slack = %v, want 1", n)
	}

	// The next event finds Slack answering again.
	setStatus(t, ns, "guestbook", health(app.Degraded, "Pod/web-1: OOMKilled"))
	r.wait(t, slackPath, 2)
	waitReady(t, ns, "slack", ReasonDelivered)
	if n := e.counted(t, ns, "slack", HealthDegraded, "sent"); n != 1 {
		t.Errorf("gyre_notifications_total sent for slack = %v, want 1", n)
	}
	if got := r.events(t, "/ok"); !slices.Equal(got, []Event{OutOfSync, HealthDegraded}) {
		t.Errorf("the other Notifier sent %v", got)
	}
}

// TestSecretOfAnotherNamespace: a Notifier naming a Secret of another
// namespace is refused with a condition and sends nothing; without a
// namespace, the Secret of the Notifier's own namespace is read.
func TestSecretOfAnotherNamespace(t *testing.T) {
	ns, otherNS := cluster.Namespace(t), cluster.Namespace(t)
	r := newReceiver(t)
	newSecret(t, otherNS, "hook", "url", r.URL+"/from-other")
	newSecret(t, ns, "hook", "url", r.URL+"/from-own")
	newApp(t, ns, "guestbook", nil, "")
	start(t, ns, nil)
	newNotifier(t, ns, "cross", Spec{Events: []Event{OutOfSync}, SecretRef: &SecretRef{Name: "hook", Key: "url", Namespace: otherNS}, Slack: &SlackTarget{}})
	newNotifier(t, ns, "own", Spec{Events: []Event{OutOfSync}, SecretRef: &SecretRef{Name: "hook", Key: "url"}, Slack: &SlackTarget{}})
	c := waitReady(t, ns, "cross", ReasonInvalidSpec)
	if c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "reads Secrets of its own namespace only") {
		t.Errorf("cross: %s %s", c.Status, c.Message)
	}
	waitReady(t, ns, "own", ReasonAccepted)

	setStatus(t, ns, "guestbook", syncStatus(app.OutOfSync))
	r.wait(t, "/from-own", 1)
	if got := r.at("/from-other"); len(got) != 0 {
		t.Errorf("the Secret of another namespace was used: %d requests", len(got))
	}
}

// TestAPIServerRefuses: the CRD's schema refuses an unknown event, a spec
// without a target or with two, and Slack without a Secret.
func TestAPIServerRefuses(t *testing.T) {
	ns := cluster.Namespace(t)
	hook := &WebhookTarget{URL: "https://hooks.example.com"}
	for _, tc := range []struct {
		name string
		spec Spec
		want string
	}{
		{"unknown event", Spec{Events: []Event{"SyncExploded"}, Webhook: hook}, `Unsupported value: "SyncExploded"`},
		{"no target", Spec{Events: []Event{OutOfSync}}, "set exactly one of webhook, slack, github and alertmanager"},
		{"two targets", Spec{Events: []Event{OutOfSync}, Webhook: hook, Alertmanager: &AlertmanagerTarget{URL: "http://am:9093"}}, "set exactly one of"},
		{"slack without a secret", Spec{Events: []Event{OutOfSync}, Slack: &SlackTarget{}}, "slack needs secretRef"},
		{"no events", Spec{Webhook: hook}, "spec.events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := createNotifier(ns, "bad", tc.spec)
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("create = %v, want Invalid with %q", err, tc.want)
			}
		})
	}
}

// TestBadBodyTemplate: a template that does not produce JSON makes the
// Notifier InvalidSpec, and it sends nothing until fixed; fixed, it is
// Accepted at the new generation and sends what happens next.
func TestBadBodyTemplate(t *testing.T) {
	ns := cluster.Namespace(t)
	r := newReceiver(t)
	newApp(t, ns, "guestbook", nil, "")
	start(t, ns, nil)
	spec := webhook(r, "/hook", OutOfSync, HealthDegraded)
	spec.Webhook.BodyTemplate = `{"app": {{ .Application }}}`
	newNotifier(t, ns, "hook", spec)
	c := waitReady(t, ns, "hook", ReasonInvalidSpec)
	if !strings.Contains(c.Message, "webhook: bodyTemplate: output is not valid JSON") {
		t.Errorf("condition message %q", c.Message)
	}
	setStatus(t, ns, "guestbook", syncStatus(app.OutOfSync)) // not sent: the spec is invalid

	n := getNotifier(t, ns, "hook")
	n.Spec.Webhook.BodyTemplate = `{"app": {{ json .Application }}, "event": {{ json .Event }}}`
	if gen := updateSpec(t, n); gen != 2 {
		t.Errorf("generation %d, want 2", gen)
	}
	waitReady(t, ns, "hook", ReasonAccepted) // at generation 2
	setStatus(t, ns, "guestbook", health(app.Degraded, "x"))
	got := r.wait(t, "/hook", 1)
	if len(got) != 1 || string(got[0].Body) != `{"app": "guestbook", "event": "HealthDegraded"}` {
		t.Errorf("sent %d: %s, want the HealthDegraded alone", len(got), got[0].Body)
	}
}

// TestStatusWrittenOnChange: the status is written when the condition
// changes, not after every delivery.
func TestStatusWrittenOnChange(t *testing.T) {
	ns := cluster.Namespace(t)
	r := newReceiver(t)
	newApp(t, ns, "guestbook", nil, "")
	var writes atomic.Int32
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodPatch && strings.HasSuffix(req.URL.Path, "/notifiers/hook/status") {
				writes.Add(1)
			}
			return rt.RoundTrip(req)
		})
	})
	startConfig(t, cfg, ns, nil)
	newNotifier(t, ns, "hook", webhook(r, "/hook", OutOfSync, HealthDegraded, SyncStarted))
	waitReady(t, ns, "hook", ReasonAccepted)

	setStatus(t, ns, "guestbook", syncStatus(app.OutOfSync))
	setStatus(t, ns, "guestbook", health(app.Degraded, "x"))
	setStatus(t, ns, "guestbook", func(s *app.Status) { s.OperationState = operation(1, app.OperationRunning, "") })
	// The worker writes the status after each delivery before the next:
	// with the third delivered, the first two outcomes are written (or not).
	r.wait(t, "/hook", 3)
	waitReady(t, ns, "hook", ReasonDelivered)
	if n := writes.Load(); n != 2 {
		t.Errorf("%d status writes, want 2 (Accepted, then Delivered once)", n)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// updateSpec writes n's spec back and returns the new generation.
func updateSpec(t *testing.T, n *Notifier) int64 {
	t.Helper()
	b, err := json.Marshal(map[string]any{"spec": n.Spec})
	if err != nil {
		t.Fatal(err)
	}
	u, err := cluster.Dynamic.Resource(GroupVersionResource()).Namespace(n.Namespace).Patch(context.Background(), n.Name, types.MergePatchType, b, metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return u.GetGeneration()
}

// TestSharedApplicationsWatch: a Controller given the process's watch of
// Applications uses it without running it, and one that stops (a replica
// losing the notifications lease) takes its handler off it, so that the
// next Controller on the same watch sends each notification once.
func TestSharedApplicationsWatch(t *testing.T) {
	ns := cluster.Namespace(t)
	r := newReceiver(t)
	newApp(t, ns, "guestbook", nil, "")
	dyn, err := dynamic.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	shared := dynamicinformer.NewFilteredDynamicInformer(dyn, app.GroupVersionResource(), ns, 0,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}, nil).Informer()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go shared.RunWithContext(ctx)
	newNotifier(t, ns, "all", webhook(r, "/all", Events()...))

	first := start(t, ns, func(o *Options) { o.Applications = shared })
	waitReady(t, ns, "all", ReasonAccepted)
	setStatus(t, ns, "guestbook", syncStatus(app.OutOfSync))
	r.wait(t, "/all", 1)
	first.stop()

	second := start(t, ns, func(o *Options) { o.Applications = shared })
	stopped := first.c.updates.Load()
	setStatus(t, ns, "guestbook", syncStatus(app.Synced))
	setStatus(t, ns, "guestbook", health(app.Degraded, "Pod/web-1: CrashLoopBackOff"))
	r.wait(t, "/all", 2)
	if got, want := r.events(t, "/all"), []Event{OutOfSync, HealthDegraded}; !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v (each once)", got, want)
	}
	if n := first.c.updates.Load() - stopped; n != 0 {
		t.Errorf("the stopped Controller still handled %d Application updates", n)
	}
	if second.c.updates.Load() < 2 {
		t.Errorf("the second Controller handled %d Application updates, want 2 or more", second.c.updates.Load())
	}
	if shared.IsStopped() {
		t.Error("a Controller stopped the shared watch")
	}
}

package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/source"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/apimachinery/pkg/types"
)

// Metrics are gyre's Prometheus collectors that events feed: the reconcile
// loop (Metrics satisfies sync.Observer and source.Observer), the
// Kubernetes client (WrapTransport) and the webhook receiver. Its methods
// are safe for concurrent use.
type Metrics struct {
	syncs       *prometheus.CounterVec
	reconciles  prometheus.Histogram
	gitRequests *prometheus.CounterVec
	gitDuration *prometheus.HistogramVec
	renders     *prometheus.HistogramVec
	kube        *prometheus.CounterVec
	webhooks    *prometheus.CounterVec
	notified    *prometheus.CounterVec
}

// NewMetrics creates gyre's collectors and registers them on reg, with the
// Go runtime and process collectors.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gyre_app_sync_total",
			Help: "Operations (sync, rollback) finished, by application and final phase.",
		}, []string{"name", "namespace", "phase"}),
		reconciles: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gyre_app_reconcile_duration_seconds",
			Help:    "Time one look at an application took: compare, and sync when one ran.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60},
		}),
		gitRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gyre_git_request_total",
			Help: "Network requests to git repositories, by repository and type (ls-remote, fetch).",
		}, []string{"repo", "request_type"}),
		gitDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gyre_git_request_duration_seconds",
			Help:    "Duration of network requests to git repositories.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60},
		}, []string{"repo", "request_type"}),
		renders: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gyre_render_duration_seconds",
			Help:    "Duration of renders that missed the render cache, by source type.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30},
		}, []string{"type"}),
		kube: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gyre_kube_request_total",
			Help: "Requests to the Kubernetes API server, by verb and response code (\"error\" when none came).",
		}, []string{"verb", "code"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gyre_webhook_requests_total",
			Help: "Webhook requests, by provider and result (accepted, ignored, duplicate, unauthorized, too_large, bad_request, queue_full).",
		}, []string{"provider", "result"}),
		notified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gyre_notifications_total",
			Help: "Notifications, by notifier (namespace/name), target type, event and result (sent, or failed after retries).",
		}, []string{"notifier", "type", "event", "result"}),
	}
	for _, c := range []prometheus.Collector{
		m.syncs, m.reconciles, m.gitRequests, m.gitDuration, m.renders, m.kube, m.webhooks, m.notified,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Reconciled records that one look at an Application took d.
func (m *Metrics) Reconciled(_ types.NamespacedName, d time.Duration) {
	m.reconciles.Observe(d.Seconds())
}

// Rendered records a render of sourceType that took d.
func (m *Metrics) Rendered(sourceType string, d time.Duration) {
	m.renders.WithLabelValues(sourceType).Observe(d.Seconds())
}

// OperationFinished counts an operation of key that ended in phase.
func (m *Metrics) OperationFinished(key types.NamespacedName, phase app.OperationPhase) {
	m.syncs.WithLabelValues(key.Name, key.Namespace, string(phase)).Inc()
}

// ForgetApp deletes the per-application series of key (gyre_app_sync_total),
// once the reconcile loop has forgotten the deleted Application.
// gyre_app_info needs nothing: it is computed from the live list.
func (m *Metrics) ForgetApp(key types.NamespacedName) {
	m.syncs.DeletePartialMatch(prometheus.Labels{"name": key.Name, "namespace": key.Namespace})
}

// RepositoryEvicted deletes the per-repository series of repo
// (gyre_git_request_total, gyre_git_request_duration_seconds) once the git
// cache has released it.
func (m *Metrics) RepositoryEvicted(repo string) {
	l := prometheus.Labels{"repo": source.Redact(repo)}
	m.gitRequests.DeletePartialMatch(l)
	m.gitDuration.DeletePartialMatch(l)
}

// GitRequest records a network request to repo that took d.
func (m *Metrics) GitRequest(repo string, requestType source.RequestType, d time.Duration, _ error) {
	repo = source.Redact(repo)
	m.gitRequests.WithLabelValues(repo, string(requestType)).Inc()
	m.gitDuration.WithLabelValues(repo, string(requestType)).Observe(d.Seconds())
}

// Notified counts a notification of notifier in gyre_notifications_total:
// sent when err is nil, failed otherwise. It satisfies notify.Observer.
func (m *Metrics) Notified(notifier types.NamespacedName, target, event string, err error) {
	result := "sent"
	if err != nil {
		result = "failed"
	}
	m.notified.WithLabelValues(notifier.String(), target, event, result).Inc()
}

func (m *Metrics) webhookRequest(p Provider, result string) {
	m.webhooks.WithLabelValues(string(p), result).Inc()
}

// WrapTransport returns rt counting every request in
// gyre_kube_request_total. It fits rest.Config.WrapTransport.
func (m *Metrics) WrapTransport(rt http.RoundTripper) http.RoundTripper {
	return &countingTransport{next: rt, count: m.kube}
}

type countingTransport struct {
	next  http.RoundTripper
	count *prometheus.CounterVec
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.count.WithLabelValues(kubeVerb(req), code).Inc()
	return resp, err
}

// kubeVerb names a Kubernetes API request the way audit logs do (get, list,
// watch, create, update, patch, apply, delete, deletecollection), with
// "-dry-run" appended for dry runs.
func kubeVerb(req *http.Request) string {
	q := req.URL.Query()
	var verb string
	switch req.Method {
	case http.MethodGet:
		switch {
		case q.Get("watch") == "true" || q.Get("watch") == "1":
			verb = "watch"
		case isCollection(req.URL.Path):
			verb = "list"
		default:
			verb = "get"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
		if strings.HasPrefix(req.Header.Get("Content-Type"), "application/apply-patch") {
			verb = "apply"
		}
	case http.MethodDelete:
		verb = "delete"
		if isCollection(req.URL.Path) {
			verb = "deletecollection"
		}
	default:
		verb = strings.ToLower(req.Method)
	}
	if q.Has("dryRun") {
		verb += "-dry-run"
	}
	return verb
}

// isCollection reports whether path names a collection of resources
// (/api/v1/namespaces/x/pods) rather than one object or a discovery
// document.
func isCollection(path string) bool {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var rest []string
	switch {
	case len(segs) >= 2 && segs[0] == "api":
		rest = segs[2:]
	case len(segs) >= 3 && segs[0] == "apis":
		rest = segs[3:]
	default:
		return false
	}
	if len(rest) >= 3 && rest[0] == "namespaces" {
		rest = rest[2:]
	}
	return len(rest) == 1
}

// appInfoCollector computes gyre_app_info from the backend at scrape time,
// so the series of a deleted application disappears with it.
type appInfoCollector struct {
	index *appIndex
}

func appInfoDesc() *prometheus.Desc {
	return prometheus.NewDesc("gyre_app_info",
		"Information about an application; the value is always 1.",
		[]string{"name", "namespace", "repo", "dest_namespace", "sync_status", "health_status"}, nil)
}

// Describe sends the gyre_app_info descriptor.
func (c appInfoCollector) Describe(ch chan<- *prometheus.Desc) { ch <- appInfoDesc() }

// Collect sends one gyre_app_info sample per application.
func (c appInfoCollector) Collect(ch chan<- prometheus.Metric) {
	desc := appInfoDesc()
	for _, a := range c.index.apps() {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 1,
			a.Name, a.Namespace, source.Redact(a.Spec.Source.RepoURL), a.Spec.Destination.Namespace,
			string(a.Status.Sync.Status), string(a.Status.Health.Status))
	}
}

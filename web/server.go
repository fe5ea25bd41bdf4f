package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// Backend is what the API needs from the reconcile loop. cmd/gyre adapts
// the reconciler to it.
type Backend interface {
	// Applications returns every watched Application. The API reads them
	// and never changes them.
	Applications() []*app.Application
	// Application returns one watched Application.
	Application(key types.NamespacedName) (*app.Application, bool)
	// Tree returns a's resource tree.
	Tree(a *app.Application) []app.TreeNode
	// Diff compares an Application with git now.
	Diff(ctx context.Context, key types.NamespacedName) ([]diff.Result, error)
	// Request asks for an operation. It returns an error wrapping
	// ErrOperationInProgress, ErrNotFound or ErrBadRequest where those
	// apply.
	Request(ctx context.Context, key types.NamespacedName, op app.Operation) error
	// Refresh queues an Application for an immediate comparison.
	Refresh(key types.NamespacedName)
	// RefreshRepository drops the cached ref listing of a repository and
	// queues the Applications that follow revision (every one when revision
	// is empty) in it.
	RefreshRepository(repoURL, revision string) []types.NamespacedName
	// ForgetRepository drops the cached ref listing of a repository only,
	// so that the next comparison of any of its Applications sees new
	// commits; the webhook calls it before refreshing the Applications a
	// push touched.
	ForgetRepository(repoURL string)
	// Subscribe calls fn with the key of every Application that is added,
	// changed or deleted, after Applications shows the change. fn does not
	// block. The API relies on it to know when its sorted copy of
	// Applications is stale.
	Subscribe(fn func(types.NamespacedName))
	// Ready reports whether the loop's caches have synced.
	Ready() bool
}

// Cluster reads live objects for the resource and events views.
type Cluster interface {
	// Resource returns the live object with key, read at version (the
	// preferred version when empty). It returns an error wrapping
	// ErrNotFound when the object does not exist. web masks Secret values
	// before sending the object.
	Resource(ctx context.Context, key app.ResourceKey, version string) (*unstructured.Unstructured, error)
	// Events returns the events whose involved object is key.
	Events(ctx context.Context, key app.ResourceKey) ([]corev1.Event, error)
}

// Options configure a Server.
type Options struct {
	// Backend is the reconcile loop. Required.
	Backend Backend
	// Cluster reads live objects; without it the resource and events
	// routes answer 501.
	Cluster Cluster
	// Tokens authenticates API callers. Required.
	Tokens TokenSource
	// WebhookSecrets holds the secret of each webhook provider; a provider
	// without one has its webhooks refused. Optional.
	WebhookSecrets WebhookSecretSource
	// Registry is where the metrics are registered and what /metrics
	// serves. Default: a new registry.
	Registry *prometheus.Registry
	// Metrics are the collectors fed by the reconcile loop, already
	// registered on Registry (see NewMetrics). Default: New registers a new
	// set on Registry.
	Metrics *Metrics
	// Logger receives request failures and rejected webhooks. Default
	// slog.Default().
	Logger *slog.Logger
	// MaxWebhookBody is the largest webhook payload accepted, in bytes;
	// larger ones answer 413. Default 1 MiB.
	MaxWebhookBody int64
	// Version is reported by GET /api/v1/version.
	Version string
	// KeepAlive is how often the event stream sends a comment to keep
	// proxies from closing it. Default 15s.
	KeepAlive time.Duration
}

// maxAPIBody bounds the body of an API request.
const maxAPIBody = 1 << 20

func (o *Options) setDefaults() {
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxWebhookBody <= 0 {
		o.MaxWebhookBody = 1 << 20
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 15 * time.Second
	}
}

// Server is gyre's HTTP surface; Handler serves it.
type Server struct {
	opts     Options
	log      *slog.Logger
	metrics  *Metrics
	mux      *http.ServeMux
	index    *appIndex
	streams  *hub
	webhooks *webhookQueue
}

// New builds a Server and subscribes it to the backend's changes.
func New(opts Options) (*Server, error) {
	if opts.Backend == nil {
		return nil, errors.New("web: Options.Backend is required")
	}
	if opts.Tokens == nil {
		return nil, errors.New("web: Options.Tokens is required")
	}
	opts.setDefaults()
	s := &Server{opts: opts, log: opts.Logger, metrics: opts.Metrics, mux: http.NewServeMux()}
	if s.metrics == nil {
		m, err := NewMetrics(opts.Registry)
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	s.index = newAppIndex(opts.Backend, time.Now)
	if err := opts.Registry.Register(appInfoCollector{s.index}); err != nil {
		return nil, fmt.Errorf("web: register gyre_app_info: %w", err)
	}
	s.streams = newHub()
	opts.Backend.Subscribe(func(key types.NamespacedName) {
		s.index.changed(key)
		s.streams.publish(key)
	})
	s.webhooks = newWebhookQueue(s.processPush)
	if err := s.routes(); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	return s, nil
}

// Handler returns the HTTP handler of every route. It logs failed requests
// (status 500 and above) as warnings and the others at debug level.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		s.mux.ServeHTTP(rec, r)
		level := slog.LevelDebug
		if rec.status >= 500 {
			level = slog.LevelWarn
		}
		s.log.Log(r.Context(), level, "http request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
	})
}

// statusRecorder remembers the status a handler answered with. Unwrap lets
// http.ResponseController reach the connection for flushes and deadlines.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) routes() error {
	read := func(h http.HandlerFunc) http.HandlerFunc { return s.authorize(RoleReadonly, h) }
	write := func(h http.HandlerFunc) http.HandlerFunc { return s.authorize(RoleAdmin, h) }
	const one = "/api/v1/applications/{namespace}/{name}"
	m := s.mux
	m.HandleFunc("GET /api/v1/applications", read(s.listApps))
	m.HandleFunc("GET "+one, read(s.getApp))
	m.HandleFunc("GET "+one+"/tree", read(s.getTree))
	m.HandleFunc("GET "+one+"/diff", read(s.getDiff))
	m.HandleFunc("GET "+one+"/history", read(s.getHistory))
	m.HandleFunc("GET "+one+"/resource", read(s.getResource))
	m.HandleFunc("GET "+one+"/events", read(s.getEvents))
	m.HandleFunc("POST "+one+"/refresh", write(s.refresh))
	m.HandleFunc("POST "+one+"/sync", write(s.sync))
	m.HandleFunc("POST "+one+"/rollback", write(s.rollback))
	m.HandleFunc("POST "+one+"/resume", write(s.resume))
	// EventSource cannot send headers, so the stream also takes ?token=.
	m.HandleFunc("GET /api/v1/stream", s.authorizeQuery(RoleReadonly, s.stream))
	m.HandleFunc("GET /api/v1/version", read(s.version))
	m.HandleFunc("POST /api/webhook", s.webhook)
	m.HandleFunc("/api/", s.noRoute)

	m.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok") })
	m.HandleFunc("GET /readyz", s.readyz)
	return s.routeUI()
}

// noRoute answers a request under /api/ that no route takes: 405 when the
// path exists with another method, else 404, both as JSON.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, pattern := s.mux.Handler(probe); method != r.Method && pattern != "/api/" && pattern != "" {
			allow = append(allow, method)
		}
	}
	if len(allow) > 0 {
		for _, m := range allow {
			w.Header().Add("Allow", m)
		}
		writeError(w, statusError(http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path)))
		return
	}
	writeError(w, statusError(http.StatusNotFound, fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)))
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.opts.Backend.Ready() {
		writeText(w, http.StatusServiceUnavailable, "not ready: the reconcile loop's caches have not synced")
		return
	}
	writeText(w, http.StatusOK, "ok")
}

func (s *Server) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, VersionResponse{Version: s.opts.Version, GoVersion: runtime.Version()})
}

// writeText answers with status and a line of plain text.
func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

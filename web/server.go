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
	// Resources returns every object a manages, as its latest comparison
	// found them: all of them, where a.Status.Resources may list only
	// some (see app.ResourcesSummary).
	Resources(ctx context.Context, a *app.Application) ([]app.ResourceStatus, error)
	// OperationResult returns the change set of a's current or last
	// operation: complete while the backend holds it, else as a's status
	// records it (its Summary says whether that lists every object); nil
	// before the first operation.
	OperationResult(a *app.Application) *app.ChangeSet
	// Diff compares an Application with git now.
	Diff(ctx context.Context, key types.NamespacedName) ([]diff.Result, error)
	// DiffObjects compares an Application with objs, rendered elsewhere
	// (a local checkout), instead of git's render, as Diff does and
	// without writing anything. An object the Application's Project
	// refuses is a result whose Err is an *admit.Violation.
	DiffObjects(ctx context.Context, key types.NamespacedName, objs []*unstructured.Unstructured) ([]diff.Result, error)
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
	// Projects returns the Projects in gyre's own namespace.
	Projects() []*app.Project
}

// Cluster reads live objects for the resource and events views, and
// writes Applications for the create, patch and delete routes.
type Cluster interface {
	// Resource returns the live object with key in a's destination
	// cluster, read at version (the preferred version when empty). It
	// returns an error wrapping ErrNotFound when the object does not exist.
	// web masks Secret values before sending the object.
	Resource(ctx context.Context, a *app.Application, key app.ResourceKey, version string) (*unstructured.Unstructured, error)
	// Events returns the events whose involved object is key, in a's
	// destination cluster.
	Events(ctx context.Context, a *app.Application, key app.ResourceKey) ([]corev1.Event, error)
	// CreateApplication creates a and returns it as stored. It returns an
	// error wrapping ErrAlreadyExists when one with a's key exists, and
	// ErrBadRequest when the API server refuses a as invalid.
	CreateApplication(ctx context.Context, a *app.Application) (*app.Application, error)
	// UpdateApplication reads the Application key as stored now, calls
	// change on it and writes the result back, again from a fresh read
	// when another writer came between. An error of change ends it with
	// nothing written and is returned as is. It returns an error wrapping
	// ErrNotFound when the Application does not exist.
	UpdateApplication(ctx context.Context, key types.NamespacedName, change func(*app.Application) error) (*app.Application, error)
	// DeleteApplication deletes the Application key; its finalizers decide
	// what goes with it. It returns an error wrapping ErrNotFound when the
	// Application does not exist.
	DeleteApplication(ctx context.Context, key types.NamespacedName) error
}

// Options configure a Server.
type Options struct {
	// Backend is the reconcile loop. Required.
	Backend Backend
	// Cluster reads live objects and writes Applications; without it the
	// resource, events and Application create, patch and delete routes
	// answer 501.
	Cluster Cluster
	// Tokens authenticates API callers. Required.
	Tokens TokenSource
	// Repositories manages repository credentials for the
	// /api/v1/repositories routes; without it they answer 501.
	Repositories Repositories
	// Clusters lists the destination clusters for GET /api/v1/clusters;
	// without it that route answers 501.
	Clusters func() []app.ClusterState
	// ClusterStore writes and deletes cluster Secrets for POST and DELETE
	// /api/v1/clusters; without it those answer 501.
	ClusterStore ClusterStore
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

	// now is the clock of the stream tickets and the webhook delivery
	// ids; tests set it. Default time.Now.
	now func() time.Time
}

// maxAPIBody bounds the body of an API request.
const maxAPIBody = 1 << 20

// maxDiffBody bounds the body of POST .../diff: a whole rendered
// Application.
const maxDiffBody = 16 << 20

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
	if o.now == nil {
		o.now = time.Now
	}
}

// Server is gyre's HTTP surface; Handler serves it.
type Server struct {
	opts       Options
	log        *slog.Logger
	now        func() time.Time
	metrics    *Metrics
	mux        *http.ServeMux
	patterns   []string // every route, in the order registered
	index      *appIndex
	streams    *hub
	projects   *projectMemory
	tickets    *recent[string] // stream ticket → the bearer token it stands for
	webhooks   *webhookQueue
	deliveries *recent[struct{}] // webhook deliveries handled
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
	s := &Server{opts: opts, log: opts.Logger, now: opts.now, metrics: opts.Metrics, mux: http.NewServeMux()}
	if s.metrics == nil {
		m, err := NewMetrics(opts.Registry)
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	s.index = newAppIndex(opts.Backend, s.now)
	if err := opts.Registry.Register(appInfoCollector{s.index}); err != nil {
		return nil, fmt.Errorf("web: register gyre_app_info: %w", err)
	}
	s.streams = newHub()
	s.projects = newProjectMemory()
	opts.Backend.Subscribe(func(key types.NamespacedName) {
		s.index.changed(key)
		a, exists := opts.Backend.Application(key)
		var project string
		if exists {
			project = a.ProjectName()
		}
		s.streams.publish(key, s.projects.change(key, project, exists))
	})
	// After Subscribe, so that no change falls between; learn keeps what
	// a notification recorded meanwhile.
	s.projects.learn(s.index.apps())
	s.tickets = newRecent[string](s.now, ticketTTL, maxTickets)
	s.webhooks = newWebhookQueue(s.processPush)
	s.deliveries = newRecent[struct{}](s.now, deliveryWindow, maxDeliveries)
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
	// Every route under /api/v1 that names an Application goes through
	// appRoute, which checks the token's projects.
	read := func(h appHandler) http.HandlerFunc { return s.appRoute(RoleReadonly, h) }
	write := func(h appHandler) http.HandlerFunc { return s.appRoute(RoleAdmin, h) }
	const one = "/api/v1/applications/{namespace}/{name}"
	s.handle("GET /api/v1/applications", s.authorize(RoleReadonly, s.listApps))
	s.handle("GET "+one, read(s.getApp))
	s.handle("GET "+one+"/tree", read(s.getTree))
	s.handle("GET "+one+"/resources", read(s.getResources))
	s.handle("GET "+one+"/operation", read(s.getOperation))
	s.handle("GET "+one+"/diff", read(s.getDiff))
	s.handle("POST "+one+"/diff", read(s.postDiff))
	s.handle("GET "+one+"/manifests", read(s.getManifests))
	s.handle("GET "+one+"/history", read(s.getHistory))
	s.handle("GET "+one+"/resource", read(s.getResource))
	s.handle("GET "+one+"/events", read(s.getEvents))
	s.handle("POST "+one+"/refresh", write(s.refresh))
	s.handle("POST "+one+"/sync", write(s.sync))
	s.handle("POST "+one+"/rollback", write(s.rollback))
	s.handle("POST "+one+"/resume", write(s.resume))
	s.handle("POST /api/v1/applications", s.authorize(RoleAdmin, s.createApp))
	s.handle("PATCH "+one, write(s.patchApp))
	s.handle("DELETE "+one, write(s.deleteApp))
	// EventSource cannot send headers: the stream takes a ticket the UI
	// gets with its token first (see ticket.go).
	s.handle("POST /api/v1/stream/ticket", s.authorize(RoleReadonly, s.streamTicket))
	s.handle("GET /api/v1/stream", s.stream)
	s.handle("GET /api/v1/projects", s.authorize(RoleReadonly, s.listProjects))
	s.handle("GET /api/v1/projects/{name}", s.authorize(RoleReadonly, s.getProject))
	s.handle("GET /api/v1/version", s.authorize(RoleReadonly, s.version))
	s.handle("GET /api/v1/clusters", s.authorize(RoleReadonly, s.listClusters))
	// Cluster credentials serve every project, like repository ones.
	s.handle("POST /api/v1/clusters", s.authorizeEveryProject(RoleAdmin, s.putCluster))
	s.handle("DELETE /api/v1/clusters", s.authorizeEveryProject(RoleAdmin, s.deleteCluster))
	// Repository credentials serve every project: only an admin token
	// limited to none may touch them.
	s.handle("GET /api/v1/repositories", s.authorizeEveryProject(RoleAdmin, s.listRepositories))
	s.handle("POST /api/v1/repositories", s.authorizeEveryProject(RoleAdmin, s.putRepository))
	s.handle("DELETE /api/v1/repositories", s.authorizeEveryProject(RoleAdmin, s.deleteRepository))
	s.handle("POST /api/webhook", s.webhook)
	s.handle("/api/", s.noRoute)

	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok") })
	s.mux.HandleFunc("GET /readyz", s.readyz)
	return s.routeUI()
}

// handle registers an API route and records its pattern, so that a test
// can walk every route.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, h)
}

// noRoute answers a request under /api/ that no route takes: 405 when the
// path exists with another method, else 404, both as JSON.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
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

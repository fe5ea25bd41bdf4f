package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	"github.com/gyre-cd/gyre/source"
	gyresync "github.com/gyre-cd/gyre/sync"
	"github.com/gyre-cd/gyre/web"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
)

// Metrics feed on the reconcile loop and the git cache directly, and drop
// the series of deleted Applications and released repositories.
var (
	_ gyresync.Forgetter      = (*web.Metrics)(nil)
	_ source.EvictionObserver = (*web.Metrics)(nil)
)

// webBackend adapts the reconciler, and the git cache it reads, to
// web.Backend: it passes most calls through and translates sync's errors
// into web's.
type webBackend struct {
	*gyresync.Reconciler
	src *source.Cache
}

var _ web.Backend = (*webBackend)(nil)

func newWebBackend(r *gyresync.Reconciler, src *source.Cache) *webBackend {
	return &webBackend{Reconciler: r, src: src}
}

// Request asks the reconciler for op, with errors web turns into 400, 404
// and 409.
func (b *webBackend) Request(ctx context.Context, key types.NamespacedName, op app.Operation) error {
	if err := op.Validate(); err != nil {
		return classified{err, web.ErrBadRequest}
	}
	return webError(key, b.Reconciler.Request(ctx, key, op))
}

// Diff compares an Application with git now.
func (b *webBackend) Diff(ctx context.Context, key types.NamespacedName) ([]diff.Result, error) {
	res, err := b.Reconciler.Diff(ctx, key)
	return res, webError(key, err)
}

// DiffObjects compares an Application with a render made elsewhere.
func (b *webBackend) DiffObjects(ctx context.Context, key types.NamespacedName, objs []*unstructured.Unstructured) ([]diff.Result, error) {
	res, err := b.Reconciler.DiffObjects(ctx, key, objs)
	return res, webError(key, err)
}

// ForgetRepository drops the git cache's ref listing of repoURL.
func (b *webBackend) ForgetRepository(repoURL string) { b.src.Refresh(repoURL) }

// webError marks sync's sentinel errors with web's.
func webError(key types.NamespacedName, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gyresync.ErrOperationInProgress):
		return fmt.Errorf("application %s: %w", key, classified{err, web.ErrOperationInProgress})
	case errors.Is(err, gyresync.ErrNotFound):
		return classified{err, web.ErrNotFound}
	}
	return err
}

// classified is err, which it reads as, also matching kind for errors.Is.
type classified struct {
	err, kind error
}

func (c classified) Error() string   { return c.err.Error() }
func (c classified) Unwrap() []error { return []error{c.err, c.kind} }

// webCluster reads live objects and their events for the API, from each
// Application's destination cluster, and writes the Applications it
// creates, changes and deletes in the cluster gyre runs in.
type webCluster struct {
	dyn dynamic.Interface
	// destination returns the client and kind mapping of an
	// Application's destination cluster.
	destination func(*app.Application) (dynamic.Interface, func(schema.GroupVersionKind) (*meta.RESTMapping, error), error)
}

var _ web.Cluster = (*webCluster)(nil)

// newWebCluster builds the client for cfg and reads live objects through
// the reconciler's clients of each destination cluster.
func newWebCluster(cfg *rest.Config, r *gyresync.Reconciler) (*webCluster, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &webCluster{dyn: dyn, destination: r.DestinationClient}, nil
}

// Resource reads the object with key from a's destination cluster.
func (c *webCluster) Resource(ctx context.Context, a *app.Application, key app.ResourceKey, version string) (*unstructured.Unstructured, error) {
	dyn, mapping, err := c.destination(a)
	if err != nil {
		return nil, err
	}
	m, err := mapping(schema.GroupVersionKind{Group: key.Group, Version: version, Kind: key.Kind})
	if err != nil {
		return nil, classified{err, web.ErrNotFound}
	}
	var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = dyn.Resource(m.Resource).Namespace(key.Namespace)
	}
	obj, err := ri.Get(ctx, key.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, classified{err, web.ErrNotFound}
	}
	return obj, err
}

var eventsResource = schema.GroupVersionResource{Version: "v1", Resource: "events"}

// Events lists the events whose involved object is key, in a's
// destination cluster. Events about a cluster-scoped object may live in
// any namespace, so those are looked for everywhere.
func (c *webCluster) Events(ctx context.Context, a *app.Application, key app.ResourceKey) ([]corev1.Event, error) {
	dyn, _, err := c.destination(a)
	if err != nil {
		return nil, err
	}
	sel := fields.Set{
		"involvedObject.kind":      key.Kind,
		"involvedObject.name":      key.Name,
		"involvedObject.namespace": key.Namespace,
	}.AsSelector().String()
	list, err := dyn.Resource(eventsResource).Namespace(key.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, err
	}
	var out []corev1.Event
	for _, item := range list.Items {
		var e corev1.Event
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(item.Object, &e); err != nil {
			return nil, err
		}
		group, _, _ := strings.Cut(e.InvolvedObject.APIVersion, "/")
		if !strings.Contains(e.InvolvedObject.APIVersion, "/") {
			group = "" // "v1": the core group
		}
		if group == key.Group {
			out = append(out, e)
		}
	}
	return out, nil
}

// applications is the client of the Applications in namespace ns.
func (c *webCluster) applications(ns string) dynamic.ResourceInterface {
	return c.dyn.Resource(app.GroupVersionResource()).Namespace(ns)
}

// CreateApplication creates a in the cluster.
func (c *webCluster) CreateApplication(ctx context.Context, a *app.Application) (*app.Application, error) {
	u, err := a.ToUnstructured()
	if err != nil {
		return nil, classified{err, web.ErrBadRequest}
	}
	created, err := c.applications(a.Namespace).Create(ctx, u, metav1.CreateOptions{FieldManager: webFieldManager})
	switch {
	case apierrors.IsAlreadyExists(err):
		return nil, classified{err, web.ErrAlreadyExists}
	case apierrors.IsNotFound(err), apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		// NotFound on create: the namespace does not exist.
		return nil, classified{err, web.ErrBadRequest}
	case err != nil:
		return nil, err
	}
	return app.FromUnstructured(created)
}

// UpdateApplication reads the Application key, changes it and writes it
// back, from a fresh read again on a conflict.
func (c *webCluster) UpdateApplication(ctx context.Context, key types.NamespacedName, change func(*app.Application) error) (*app.Application, error) {
	ri := c.applications(key.Namespace)
	var out *app.Application
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := ri.Get(ctx, key.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		a, err := app.FromUnstructured(u)
		if err != nil {
			return err
		}
		if err := change(a); err != nil {
			return changeError{err}
		}
		if u, err = a.ToUnstructured(); err != nil {
			return err
		}
		updated, err := ri.Update(ctx, u, metav1.UpdateOptions{FieldManager: webFieldManager})
		if err != nil {
			return err
		}
		out, err = app.FromUnstructured(updated)
		return err
	})
	var ce changeError
	switch {
	case errors.As(err, &ce):
		return nil, ce.err
	case apierrors.IsNotFound(err):
		return nil, classified{err, web.ErrNotFound}
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return nil, classified{err, web.ErrBadRequest}
	}
	return out, err
}

// changeError carries the error of an UpdateApplication change through
// the retry, which must not read it as the API server's.
type changeError struct{ err error }

func (e changeError) Error() string { return e.err.Error() }

// DeleteApplication deletes the Application key.
func (c *webCluster) DeleteApplication(ctx context.Context, key types.NamespacedName) error {
	err := c.applications(key.Namespace).Delete(ctx, key.Name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return classified{err, web.ErrNotFound}
	}
	return err
}

// webFieldManager is the field manager of the Application writes the API
// makes.
const webFieldManager = "gyre-api"

// webShutdownTimeout bounds the wait for requests in flight when the server
// stops; event streams end at once.
const webShutdownTimeout = 5 * time.Second

// startWeb listens on addr and serves h there, over TLS when tlsCert and
// tlsKey name a certificate and its key, until ctx is done; then it shuts
// down gracefully. It returns the address it listens on (useful for port
// 0) and a channel that receives the server's end: nil after a clean
// shutdown, else the error that stopped it.
func startWeb(ctx context.Context, addr string, h http.Handler, tlsCert, tlsKey string) (net.Addr, <-chan error, error) {
	var tlsConfig *tls.Config
	if tlsCert != "" || tlsKey != "" {
		if tlsCert == "" || tlsKey == "" {
			return nil, nil, errors.New("TLS needs both a certificate and a key")
		}
		cert, err := tls.LoadX509KeyPair(tlsCert, tlsKey)
		if err != nil {
			return nil, nil, fmt.Errorf("TLS certificate %s: %w", tlsCert, err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, nil, fmt.Errorf("listen on %s: the port is already in use; choose another with --addr", addr)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	// Requests see a context that ends when shutdown begins, so that event
	// streams, which never finish on their own, do not hold it up.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	srv.RegisterOnShutdown(cancelBase)

	done := make(chan error, 1)
	go func() {
		defer cancelBase()
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		select {
		case err := <-served:
			done <- fmt.Errorf("HTTP server on %s: %w", ln.Addr(), err)
			return
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), webShutdownTimeout)
		defer cancel()
		err := srv.Shutdown(sctx)
		if err != nil {
			err = errors.Join(fmt.Errorf("HTTP server on %s: shutdown: %w", ln.Addr(), err), srv.Close())
		}
		<-served
		done <- err
	}()
	return ln.Addr(), done, nil
}

package sync

import (
	"context"
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// What the loop releases, and when:
//
//   - An Application that is gone is forgotten the first time the queue
//     hands its key to a worker after the deletion: the key is not queued
//     again, its cached decoding and full status lists are dropped, and an
//     Observer that keeps something per Application (a metric series) is
//     told. See forgetApp.
//   - Every ReleaseInterval, releaseUnused tells the git cache which
//     repositories the Applications use and the live cache which namespaces
//     they deploy to; each releases the others once they have been idle for
//     its grace period (source.Options.IdleTimeout,
//     Options.NamespaceIdleTimeout), and the git cache compacts the stores
//     that stay.

// errGone is what reconcile returns for an Application that no longer
// exists, after forgetting it.
var errGone = errors.New("application is gone")

// Forgetter is an Observer that keeps something per Application, such as a
// metric series, and wants to drop it when the Application is deleted. A
// Reconciler whose Options.Observer implements it calls ForgetApp once the
// Application is gone.
type Forgetter interface {
	Observer
	ForgetApp(key types.NamespacedName)
}

// forgetApp drops what the loop keeps about the Application key, which is
// gone: this is the one place to add per-Application state to. The caller
// stops queueing the key; a later event about it (the Application created
// again) starts afresh.
func (r *Reconciler) forgetApp(key types.NamespacedName) {
	r.mu.Lock()
	delete(r.chartUsers, key)
	delete(r.refreshes, key)
	delete(r.written, key)
	r.mu.Unlock()
	r.full.forget(key)
	if f, ok := r.opts.Observer.(Forgetter); ok {
		f.ForgetApp(key)
	}
}

// releaseLoop calls releaseUnused every ReleaseInterval until ctx ends.
func (r *Reconciler) releaseLoop(ctx context.Context) {
	t := time.NewTicker(r.opts.ReleaseInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.releaseUnused()
		}
	}
}

// releaseUnused lets the git and live caches release the repositories and
// namespaces no Application uses, and drops the chart users of
// Applications that are gone but were never forgotten (on a replica that
// does not work the queue).
func (r *Reconciler) releaseUnused() {
	apps := r.Applications()
	repos := make([]string, 0, len(apps))
	var chartKeys []string
	present := make(map[types.NamespacedName]bool, len(apps))
	sources := 0
	for _, a := range apps {
		present[a.Key()] = true
		sources += len(a.Spec.SourceList())
		for _, src := range a.Spec.SourceList() {
			if src.IsChart() {
				chartKeys = append(chartKeys, repositoryKey(src))
			} else {
				repos = append(repos, src.RepoURL)
			}
		}
	}
	// Room for every source at two commits: the one synced and the one
	// a push brings.
	r.renders.Grow(2 * sources)
	r.mu.Lock()
	for key, used := range r.chartUsers {
		if !present[key] {
			delete(r.chartUsers, key)
			continue
		}
		for k := range used {
			chartKeys = append(chartKeys, k)
		}
	}
	r.mu.Unlock()
	if r.opts.Charts != nil {
		r.opts.Charts.Retain(chartKeys)
	}
	if released := r.source.Retain(repos); len(released) > 0 {
		r.log.Info("released the git caches of repositories no application uses", "repos", released)
	}
	r.releaseTargets(apps)
}

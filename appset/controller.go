package appset

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/cluster"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Options configure a Controller.
type Options struct {
	// Namespace limits the ApplicationSets watched (and so the
	// Applications written) to one namespace; empty watches all.
	Namespace string
	// Clusters lists the clusters for cluster generators, and announces
	// their changes. Nil knows only the in-cluster cluster.
	Clusters *cluster.Registry
	// Git reads repositories for git generators: the reconcile loop's
	// *source.Cache, so that both share ref listings and fetches. Nil
	// refuses git generators.
	Git GitReader
	// Workers is how many ApplicationSets are evaluated at once. Default 2.
	Workers int
	// Writers is how many Applications one evaluation writes at once.
	// Default 8.
	Writers int
	// Resync is how often every ApplicationSet is evaluated even when
	// nothing told gyre it changed (Argo CD's requeueAfterSeconds, 3m).
	Resync time.Duration
	// RevisionCheck is how often the revisions git generators read are
	// resolved again through the cache. Between the cache's polls that is
	// a lookup in memory; after a webhook drops a repository's listing it
	// is what notices the push. Default 250ms.
	RevisionCheck time.Duration
	// AppEventDelay is how long a change of a generated Application waits
	// before its set is evaluated, so that a burst of status writes costs
	// one evaluation. Deletions are not delayed. Default 2s.
	AppEventDelay time.Duration
	// Applications, when set, is the process's shared watch of
	// Applications, which its owner runs (see sync.NewApplicationsInformer).
	// Nil: a watch of the Controller's own.
	Applications cache.SharedIndexInformer
	// FieldManager is the server-side apply field manager of generated
	// Applications. Default "gyre-appset".
	FieldManager string
	// Logger receives the controller's messages. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock of condition times. Default time.Now.
	Now func() time.Time
}

// DefaultOptions returns the defaults described on Options.
func DefaultOptions() Options {
	return Options{Workers: 2, Writers: 8, Resync: 3 * time.Minute, RevisionCheck: 250 * time.Millisecond, AppEventDelay: 2 * time.Second, FieldManager: "gyre-appset"}
}

func (o *Options) setDefaults() {
	d := DefaultOptions()
	if o.Workers <= 0 {
		o.Workers = d.Workers
	}
	if o.Writers <= 0 {
		o.Writers = d.Writers
	}
	if o.Resync <= 0 {
		o.Resync = d.Resync
	}
	if o.RevisionCheck <= 0 {
		o.RevisionCheck = d.RevisionCheck
	}
	if o.AppEventDelay <= 0 {
		o.AppEventDelay = d.AppEventDelay
	}
	if o.FieldManager == "" {
		o.FieldManager = d.FieldManager
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Controller keeps the Applications of every ApplicationSet as its
// generators and template say. Every replica may Start it (to watch);
// only one may Work (to write).
type Controller struct {
	opts  Options
	log   *slog.Logger
	dyn   dynamic.Interface
	queue workqueue.TypedRateLimitingInterface[types.NamespacedName]
	sets  cache.SharedIndexInformer
	apps  cache.SharedIndexInformer
	revs  *revisions

	mu      gosync.Mutex
	started bool
}

// New builds a Controller for the cluster at cfg.
func New(cfg *rest.Config, opts Options) (*Controller, error) {
	opts.setDefaults()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	c := &Controller{
		opts: opts,
		log:  opts.Logger,
		dyn:  dyn,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[types.NamespacedName](200*time.Millisecond, 2*time.Minute),
			workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "applicationsets"}),
		revs: newRevisions(),
	}
	if opts.Clusters != nil {
		opts.Clusters.OnChange(func(_, _ *cluster.Cluster) { c.enqueueAll() })
	}
	return c, nil
}

// Start watches ApplicationSets and Applications and returns once both
// watches have synced. The CRDs must be installed (see InstallCRD).
func (c *Controller) Start(ctx context.Context) error {
	// No informer resync: processNext queues each set again after Resync.
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(c.dyn, 0, c.opts.Namespace, nil)
	c.sets = f.ForResource(GroupVersionResource()).Informer()
	c.apps = c.opts.Applications
	if c.apps == nil {
		c.apps = f.ForResource(app.GroupVersionResource()).Informer()
		if err := c.apps.SetTransform(app.Typed); err != nil {
			return err
		}
	}
	// Both informers index by namespace (liveApps).
	enqueue := func(obj any) {
		if key, ok := keyOf(obj); ok {
			c.queue.Add(key)
		}
	}
	if _, err := c.sets.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: func(obj any) {
			if key, ok := keyOf(obj); ok {
				c.revs.forget(key)
			}
		},
	}); err != nil {
		return err
	}
	areg, err := c.apps.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { c.appChanged(obj, c.opts.AppEventDelay) },
		DeleteFunc: func(obj any) { c.appChanged(obj, 0) },
	})
	if err != nil {
		return err
	}
	context.AfterFunc(ctx, func() { _ = c.apps.RemoveEventHandler(areg) })
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.sets.HasSynced, areg.HasSynced) {
		return ctx.Err()
	}
	c.mu.Lock()
	c.started = true
	c.mu.Unlock()
	return nil
}

// Ready reports whether Start has synced the watches.
func (c *Controller) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}

// Work evaluates queued ApplicationSets, and watches the revisions their
// git generators read, until ctx is done. Only one process in a cluster
// may work at a time.
func (c *Controller) Work(ctx context.Context) {
	c.enqueueAll()
	var wg gosync.WaitGroup
	wg.Go(func() { c.watchRevisions(ctx) })
	for range c.opts.Workers {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
}

// RepositoryChanged evaluates every ApplicationSet whose git generators
// read the repository with identity key (source.NormalizeURL), for a
// caller that learns of pushes first hand.
func (c *Controller) RepositoryChanged(key string) {
	for _, set := range c.revs.setsReading(key) {
		c.queue.Add(set)
	}
}

// enqueueAll queues every ApplicationSet.
func (c *Controller) enqueueAll() {
	if c.sets == nil {
		return
	}
	for _, obj := range c.sets.GetStore().List() {
		if key, ok := keyOf(obj); ok {
			c.queue.Add(key)
		}
	}
}

// appChanged queues the set that owns a changed or deleted Application.
func (c *Controller) appChanged(obj any, delay time.Duration) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	for _, ref := range m.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller && ref.Kind == Kind && ref.APIVersion == app.SchemeGroupVersion().String() {
			key := types.NamespacedName{Namespace: m.GetNamespace(), Name: ref.Name}
			if delay > 0 {
				c.queue.AddAfter(key, delay)
			} else {
				c.queue.Add(key)
			}
		}
	}
}

func keyOf(obj any) (types.NamespacedName, bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()}, true
}

// processNext evaluates one queued set; false once the queue shut down.
func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	err := c.reconcile(ctx, key)
	switch {
	case err == nil:
		c.queue.Forget(key)
		c.queue.AddAfter(key, c.opts.Resync)
	case ctx.Err() != nil:
	default:
		c.log.Warn("ApplicationSet evaluation failed; retrying", "appset", key, "err", err)
		c.queue.AddRateLimited(key)
	}
	return true
}

// errRetry marks a reconcile that wrote what it could but must run again
// soon (a conflict writing status, a refused write).
var errRetry = errors.New("retry")

// reconcile evaluates one ApplicationSet: generate, render, plan, write,
// record status.
func (c *Controller) reconcile(ctx context.Context, key types.NamespacedName) error {
	obj, exists, err := c.sets.GetStore().GetByKey(key.String())
	if err != nil {
		return err
	}
	if !exists {
		c.revs.forget(key)
		return nil
	}
	u := obj.(*unstructured.Unstructured)
	set, err := FromUnstructured(u)
	if err != nil {
		return c.writeStatus(ctx, u, evaluation{err: fmt.Errorf("%w: %w", ErrGenerator, err)})
	}
	if set.DeletionTimestamp != nil {
		return nil // its Applications go by garbage collection
	}
	ev := c.evaluate(ctx, set)
	statusErr := c.writeStatus(ctx, u, ev)
	if ev.writeErr != nil {
		return errors.Join(ev.writeErr, statusErr)
	}
	return statusErr
}

// evaluation is what one evaluation of a set found and did.
type evaluation struct {
	// err is why parameters could not be generated or a template failed.
	err error
	// generated is true once the generators produced their parameters.
	generated bool
	steps     []Step
	dups      []string
	// failed holds, by Application name, why a write failed.
	failed   map[string]error
	writeErr error
}

// evaluate runs the set's generators, renders its template, and writes
// the Applications the plan says.
func (c *Controller) evaluate(ctx context.Context, set *ApplicationSet) evaluation {
	ev := evaluation{failed: map[string]error{}}
	gen, err := safeGenerate(ctx, set, Inputs{Clusters: c.opts.Clusters, Git: c.opts.Git})
	var reads []RepoRead
	if gen != nil {
		reads = gen.Reads
	} else {
		reads = readsOf(set)
	}
	c.revs.record(set.Key(), reads)
	if err != nil {
		ev.err = err
		return ev
	}
	ev.generated = true
	r, err := newRenderer(&set.Spec)
	if err != nil {
		ev.err = err
		return ev
	}
	desired := make([]*app.Application, 0, len(gen.Params))
	var renderErrs []error
	for _, p := range gen.Params {
		a, err := r.application(set, p)
		if err != nil {
			renderErrs = append(renderErrs, err)
			continue
		}
		desired = append(desired, a)
	}
	if len(renderErrs) > 0 {
		ev.err = firstErrors(renderErrs)
	}
	ev.steps, ev.dups = Plan(set, desired, c.liveApps(set.Namespace))
	errs := make([]error, len(ev.steps))
	g := errgroup.Group{}
	g.SetLimit(c.opts.Writers)
	for i, s := range ev.steps {
		if ev.err != nil && s.Action == ActionDelete {
			// A template that fails for some parameter sets must not
			// delete the Applications they generated before.
			ev.steps[i].Action, ev.steps[i].Message = ActionKeep, "kept while the template fails"
			continue
		}
		switch s.Action {
		case ActionCreate, ActionUpdate, ActionDelete:
			g.Go(func() error { errs[i] = c.apply(ctx, set, s); return nil })
		}
	}
	_ = g.Wait()
	for i, err := range errs {
		if err != nil {
			ev.failed[ev.steps[i].Name] = err
			ev.writeErr = errRetry
		}
	}
	return ev
}

// safeGenerate is Generate, with a panic turned into an error: one
// ApplicationSet must not take the process down.
func safeGenerate(ctx context.Context, set *ApplicationSet, in Inputs) (gen *Generated, err error) {
	defer func() {
		if p := recover(); p != nil {
			gen, err = nil, fmt.Errorf("%w: evaluating the generators panicked: %v", ErrGenerator, p)
		}
	}()
	return Generate(ctx, set, in)
}

// firstErrors joins the first few errors and counts the rest.
func firstErrors(errs []error) error {
	const show = 3
	if len(errs) <= show {
		return errors.Join(errs...)
	}
	return fmt.Errorf("%w\n(and %d more)", errors.Join(errs[:show]...), len(errs)-show)
}

// liveApps returns the Applications in namespace ns, decoded.
func (c *Controller) liveApps(ns string) []*app.Application {
	objs, err := c.apps.GetIndexer().ByIndex(cache.NamespaceIndex, ns)
	if err != nil {
		return nil
	}
	out := make([]*app.Application, 0, len(objs))
	for _, obj := range objs {
		a, err := app.FromObject(obj)
		if err != nil {
			continue
		}
		out = append(out, a)
	}
	return out
}

// readsOf names the repositories of a set's git generators as written,
// for a set whose generation failed before it read them.
func readsOf(set *ApplicationSet) []RepoRead {
	var out []RepoRead
	var walk func(gs []Generator)
	walk = func(gs []Generator) {
		for _, g := range gs {
			switch {
			case g.Git != nil:
				if key, err := normalizeRepo(g.Git.RepoURL); err == nil {
					out = append(out, RepoRead{Repo: key, URL: g.Git.RepoURL, Revision: cmp.Or(g.Git.Revision, "HEAD")})
				}
			case g.Matrix != nil:
				walk(g.Matrix.Generators)
			case g.Merge != nil:
				walk(g.Merge.Generators)
			}
		}
	}
	walk(set.Spec.Generators)
	return out
}

package sync

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/gyre-cd/gyre/app"
	clusters "github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/health"
	"github.com/gyre-cd/gyre/helmrepo"
	"github.com/gyre-cd/gyre/live"
	"github.com/gyre-cd/gyre/render"
	"github.com/gyre-cd/gyre/source"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Options configure a Reconciler.
type Options struct {
	// Workers is how many Applications are reconciled at once. Default 8.
	Workers int
	// QPS and Burst are the client-side rate limits of the clients of a
	// destination cluster whose config sets none (the clusters of cluster
	// Secrets). Default 50 and 100.
	QPS   float32
	Burst int
	// Applications, when set, is the watch of Applications (made by
	// NewApplicationsInformer) the Reconciler shares with the process's
	// other controllers. Start runs it, for as long as Start's context.
	// Nil: a watch of its own.
	Applications cache.SharedIndexInformer
	// ResyncPeriod is how often every Application is compared even when
	// nothing told gyre it changed. Default 3m.
	ResyncPeriod time.Duration
	// FieldManager is the server-side apply field manager. Default "gyre".
	FieldManager string
	// WaveTimeout bounds the wait for one wave to become healthy. Default 5m.
	WaveTimeout time.Duration
	// Namespace limits the Applications watched to one namespace; empty
	// watches all.
	Namespace string
	// SystemNamespace is gyre's own namespace: Projects are read from it,
	// and Applications may write only Applications and Projects into it.
	// Default "gyre".
	SystemNamespace string
	// Namespaces, when set, are the only namespaces gyre manages objects
	// in (for RBAC that grants only them): objects elsewhere are refused,
	// and the live cache watches just these namespaces.
	Namespaces []string
	// Logger receives the loop's messages. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Observer is told what the loop does, for metrics. Optional.
	Observer Observer
	// Render configures the render cache. Set Render.Sandbox to render in
	// worker processes that a hostile chart cannot take the loop down
	// with (cmd/gyre always does); the zero value renders in this process.
	Render render.CacheOptions
	// Charts resolves and reads charts from Helm repositories and OCI
	// registries: chart sources, and the helmCharts of kustomizations.
	// Nil refuses them with a clear condition.
	Charts *helmrepo.Cache
	// ReleaseInterval is how often the loop lets its caches release what
	// no Application uses any more: the git cache of a repository (once
	// idle for the source cache's IdleTimeout) and the watches of a
	// namespace (once idle for NamespaceIdleTimeout). Default 1m.
	ReleaseInterval time.Duration
	// NamespaceIdleTimeout is how long the live cache keeps watching the
	// objects controllers create in a namespace that is no Application's
	// destination any more. Default 10m.
	NamespaceIdleTimeout time.Duration
	// StatusResourceLimit is the most objects an Application's
	// status.resources lists, and the most entries of its last operation's
	// change set; the rest are counted in their summaries and served in
	// full by the API (see fullstatus.go). Default 500.
	StatusResourceLimit int
	// Clusters resolves Application destinations to clusters. Nil knows
	// only the cluster at New's cfg (in-cluster).
	Clusters *clusters.Registry
	// ClusterProbeInterval is how often a remote cluster is asked whether
	// it answers. Default 10s.
	ClusterProbeInterval time.Duration
	// Health checks the health of live objects, for the Application's
	// health, the waits between waves, hooks and the resource tree: custom
	// checks (SetCustom) first, the built-in rules after. Nil uses the
	// built-in rules alone.
	Health *health.Checker
}

// DefaultOptions returns the defaults described on Options.
func DefaultOptions() Options {
	return Options{Workers: 8, ResyncPeriod: 3 * time.Minute, FieldManager: "gyre", WaveTimeout: 5 * time.Minute, SystemNamespace: "gyre",
		ReleaseInterval: time.Minute, NamespaceIdleTimeout: 10 * time.Minute, StatusResourceLimit: app.DefaultStatusLimits().Objects,
		ClusterProbeInterval: 10 * time.Second, QPS: 50, Burst: 100}
}

func (o *Options) setDefaults() {
	d := DefaultOptions()
	if o.Workers <= 0 {
		o.Workers = d.Workers
	}
	if o.QPS <= 0 {
		o.QPS, o.Burst = d.QPS, d.Burst
	}
	if o.Burst < int(o.QPS) {
		o.Burst = int(o.QPS)
	}
	if o.ResyncPeriod <= 0 {
		o.ResyncPeriod = d.ResyncPeriod
	}
	if o.FieldManager == "" {
		o.FieldManager = d.FieldManager
	}
	if o.WaveTimeout <= 0 {
		o.WaveTimeout = d.WaveTimeout
	}
	if o.SystemNamespace == "" {
		o.SystemNamespace = d.SystemNamespace
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.ReleaseInterval <= 0 {
		o.ReleaseInterval = d.ReleaseInterval
	}
	if o.NamespaceIdleTimeout <= 0 {
		o.NamespaceIdleTimeout = d.NamespaceIdleTimeout
	}
	if o.StatusResourceLimit <= 0 {
		o.StatusResourceLimit = d.StatusResourceLimit
	}
	if o.ClusterProbeInterval <= 0 {
		o.ClusterProbeInterval = d.ClusterProbeInterval
	}
}

// Reconciler drives every Application through the data path; see the package
// documentation.
type Reconciler struct {
	opts    Options
	log     *slog.Logger
	dyn     dynamic.Interface // the home cluster's: Applications, Projects
	source  *source.Cache
	renders *render.Cache
	// home is the cluster gyre runs in as a destination; targets holds
	// the others by server, built when first used (see clusters.go).
	home     *target
	targets  map[string]*target
	queue    workqueue.TypedRateLimitingInterface[types.NamespacedName]
	lanes    *lanes // the order of queue (see lanes.go)
	apps     cache.SharedIndexInformer
	projects cache.SharedIndexInformer
	dry      *dryRunMemo
	// full keeps the per-object lists that statuses hold only part of.
	full fullStatus
	// deps indexes spec.dependsOn, to queue dependents (see depends.go).
	deps dependencyIndex

	mu          gosync.Mutex
	runCtx      context.Context // Start's, which remote targets run in
	started     bool
	working     bool
	subscribers []func(types.NamespacedName)
	// written holds, per Application, the resourceVersion of gyre's last
	// status write, so that a watched copy older than it is not acted on.
	written map[types.NamespacedName]string
	// refreshes counts, per Application, the Refresh requests not yet
	// answered by a written comparison.
	refreshes map[types.NamespacedName]int
	// chartUsers holds, per Application, the identities of the chart
	// repositories its kustomizations' helmCharts were last fetched from,
	// so that a new chart version there re-queues it.
	chartUsers map[types.NamespacedName]map[string]bool
}

// New builds a Reconciler that talks to the cluster at cfg and reads git
// through src.
func New(cfg *rest.Config, src *source.Cache, opts Options) (*Reconciler, error) {
	opts.setDefaults()
	if opts.Clusters == nil {
		opts.Clusters = clusters.NewRegistry(cfg, opts.Logger)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	r := &Reconciler{
		opts:    opts,
		log:     opts.Logger,
		dyn:     dyn,
		source:  src,
		renders: render.NewCache(opts.Render),
		targets: map[string]*target{},
		lanes:   &lanes{},
		dry:     newDryRunMemo(),
	}
	r.queue = newQueue(r.lanes)
	in, _ := opts.Clusters.Get(clusters.InClusterServer)
	in = &clusters.Cluster{Name: in.Name, Server: in.Server, Config: cfg}
	if r.home, err = r.newTarget(in, true); err != nil {
		return nil, err
	}
	opts.Clusters.OnChange(r.clusterChanged)
	return r, nil
}

// Live returns the live-state cache of the cluster gyre runs in.
func (r *Reconciler) Live() *live.Cache { return r.home.live }

// Run starts the watches and then works the queue until ctx is done: Start
// followed by Work, for a process that is the only one reconciling.
func (r *Reconciler) Run(ctx context.Context) error {
	if err := r.Start(ctx); err != nil {
		return err
	}
	r.Work(ctx)
	return nil
}

// Start installs the Application and Project CRDs, starts the Application
// and Project watches and the live cache, and returns once the watches have
// synced; from then on, until ctx ends, the caches release what no
// Application uses every ReleaseInterval. Every replica starts, so that
// each can serve the API; only the leader works.
func (r *Reconciler) Start(ctx context.Context) error {
	for _, crd := range [][]byte{app.CRD(), app.ProjectCRD()} {
		if err := installCRD(ctx, r.dyn, crd, r.opts.FieldManager); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.runCtx = ctx
	r.mu.Unlock()
	r.start(ctx, r.home)

	r.apps = r.opts.Applications
	if r.apps == nil {
		r.apps = newApplicationsInformer(r.dyn, r.opts.Namespace)
	}
	reg, err := r.apps.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.enqueueObject(obj); r.dependencyMoved(obj, false) },
		UpdateFunc: func(_, obj any) { r.enqueueObject(obj); r.dependencyMoved(obj, false) },
		DeleteFunc: func(obj any) { r.enqueueObject(obj); r.dependencyMoved(obj, true) },
	})
	if err != nil {
		return err
	}
	pf := dynamicinformer.NewFilteredDynamicSharedInformerFactory(r.dyn, 0, r.opts.SystemNamespace, nil)
	r.projects = pf.ForResource(app.ProjectGroupVersionResource()).Informer()
	r.projects.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    r.projectChanged,
		UpdateFunc: func(_, obj any) { r.projectChanged(obj) },
		DeleteFunc: r.projectChanged,
	})
	go r.apps.RunWithContext(ctx)
	pf.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), reg.HasSynced, r.projects.HasSynced) {
		return ctx.Err()
	}
	r.mu.Lock()
	r.started = true
	r.mu.Unlock()
	go r.releaseLoop(ctx)
	return nil
}

// Work polls git and reconciles queued Applications until ctx is done; an
// operation cut short by ctx is recorded as aborted. Only one process in a
// cluster may work at a time (cmd/gyre elects it), and a Reconciler works
// once: a process that loses the lead exits and starts afresh.
func (r *Reconciler) Work(ctx context.Context) {
	r.mu.Lock()
	r.working = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.working = false
		r.mu.Unlock()
	}()
	go func() {
		if err := r.source.Poll(ctx, r.repositoryMoved); err != nil && ctx.Err() == nil {
			r.log.Error("git poller stopped", "err", err)
		}
	}()
	if r.opts.Charts != nil {
		go func() {
			if err := r.opts.Charts.Poll(ctx, r.repositoryMoved); err != nil && ctx.Err() == nil {
				r.log.Error("chart repository poller stopped", "err", err)
			}
		}()
	}
	var wg gosync.WaitGroup
	for range r.opts.Workers {
		wg.Go(func() {
			for r.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	r.queue.ShutDown()
	wg.Wait()
}

// Ready reports whether the Application watch and the live cache have synced.
func (r *Reconciler) Ready() bool {
	r.mu.Lock()
	started := r.started
	r.mu.Unlock()
	return started && r.home.live.HasSynced()
}

// RefreshAnnotation on an Application asks the working replica to look at
// it now, dropping the cached ref listing of its repository; gyre removes it
// once done. Replicas that do not work (followers of the leader election)
// pass refresh requests on this way, and so can anyone with kubectl.
const RefreshAnnotation = "gyre.dev/refresh"

// Refresh asks for an immediate comparison of an Application, with the
// cached ref listings of its repositories dropped so that a push is seen
// at once. The comparison records reconciledAt even when nothing changed,
// so that a caller can see it was made.
func (r *Reconciler) Refresh(key types.NamespacedName) {
	if !r.isWorking() {
		r.annotateRefresh(key)
		return
	}
	// Counted before the listings are dropped: the poller that sees the
	// repository move must find the refresh under way (repositoryMoved).
	r.mu.Lock()
	if r.refreshes == nil {
		r.refreshes = map[types.NamespacedName]int{}
	}
	r.refreshes[key]++
	r.mu.Unlock()
	if a, ok := r.Application(key); ok {
		r.refreshSources(a.Spec.SourceList())
	}
	r.addUrgent(key)
}

// refreshKey marks the context of a comparison someone asked for (Refresh
// or the RefreshAnnotation): its status is written even when unchanged.
// The value is the count of Refresh requests the comparison answers.
type refreshKey struct{}

// refreshContext returns ctx marked when a refresh of a was asked for. The
// request stays until a comparison's status is written (refreshDone), so a
// write that meets a conflict does not lose it.
func (r *Reconciler) refreshContext(ctx context.Context, a *app.Application) context.Context {
	r.mu.Lock()
	asked := r.refreshes[a.Key()]
	r.mu.Unlock()
	if _, annotated := a.Annotations[RefreshAnnotation]; asked == 0 && !annotated {
		return ctx
	}
	return context.WithValue(ctx, refreshKey{}, asked)
}

// refreshDone takes the refresh requests of key that ctx's comparison
// answered, once its status is written. A request made meanwhile stays, for
// the comparison it queued.
func (r *Reconciler) refreshDone(ctx context.Context, key types.NamespacedName) {
	answered, _ := ctx.Value(refreshKey{}).(int)
	r.mu.Lock()
	if r.refreshes[key] == answered {
		delete(r.refreshes, key)
	}
	r.mu.Unlock()
}

// isRefresh reports whether ctx is a requested comparison's.
func isRefresh(ctx context.Context) bool {
	_, asked := ctx.Value(refreshKey{}).(int)
	return asked
}

// RefreshAll asks for an immediate comparison of every Application, when
// something they all depend on changed (the custom health checks). A
// replica that does not work does nothing: the working one sees the same
// change.
func (r *Reconciler) RefreshAll() {
	if !r.isWorking() {
		return
	}
	for _, a := range r.Applications() {
		r.queue.Add(a.Key())
	}
}

func (r *Reconciler) isWorking() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.working
}

// annotateTimeout bounds a follower's hand-over of a refresh request: a
// webhook handler waits for it.
const annotateTimeout = 10 * time.Second

// annotateRefresh passes a refresh request to the working replica.
func (r *Reconciler) annotateRefresh(key types.NamespacedName) {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{RefreshAnnotation: r.opts.Now().UTC().Format(time.RFC3339Nano)}}})
	ctx, cancel := context.WithTimeout(context.Background(), annotateTimeout)
	defer cancel()
	_, err := r.dyn.Resource(app.GroupVersionResource()).Namespace(key.Namespace).Patch(ctx, key.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: r.opts.FieldManager})
	if err != nil {
		r.log.Warn("could not pass a refresh on", "app", key, "err", err)
	}
}

// takeRefreshRequest handles a RefreshAnnotation: the repository's cached
// ref listing is dropped, so the comparison that follows sees a push at
// once, and the annotation removed.
func (r *Reconciler) takeRefreshRequest(ctx context.Context, a *app.Application) error {
	if _, ok := a.Annotations[RefreshAnnotation]; !ok {
		return nil
	}
	r.refreshSources(a.Spec.SourceList())
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{RefreshAnnotation: nil}}})
	u, err := r.dyn.Resource(app.GroupVersionResource()).Namespace(a.Namespace).Patch(ctx, a.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: r.opts.FieldManager})
	if err != nil {
		return err
	}
	// The status written next goes on top of this patch, not against it.
	a.ResourceVersion = u.GetResourceVersion()
	delete(a.Annotations, RefreshAnnotation)
	return nil
}

// RefreshRepository drops the cached ref listing of a repository and asks
// for an immediate comparison of every Application whose source is that
// repository (and, if revision is not empty, whose targetRevision is
// revision — a branch or tag name as pushed). It returns the keys. Webhooks
// call it.
func (r *Reconciler) RefreshRepository(repoURL, revision string) []types.NamespacedName {
	gitKey, gitErr := source.NormalizeURL(repoURL)
	chartKey, chartErr := helmrepo.Key(repoURL)
	if gitErr != nil && chartErr != nil {
		return nil
	}
	if gitErr == nil {
		r.source.Refresh(gitKey)
	}
	var keys []types.NamespacedName
	for _, a := range r.Applications() {
		pushed := false
		for _, src := range a.Spec.SourceList() {
			k := repositoryKey(src)
			if k != "" && (k == gitKey || k == chartKey) && (revision == "" || revisionMatches(src.TargetRevision, revision)) {
				pushed = true
				if src.IsChart() && r.opts.Charts != nil {
					r.opts.Charts.Refresh(src.RepoURL)
				}
			}
		}
		if pushed {
			keys = append(keys, a.Key())
			// Compared again, but its status is written only if the push
			// changed something: a push costs unchanged apps no write.
			if r.isWorking() {
				r.queue.Add(a.Key())
			} else {
				r.annotateRefresh(a.Key())
			}
		}
	}
	return keys
}

// repositoryKey is the identity of a source's repository, as the git and
// chart caches report it when it moves; "" when the URL is not valid.
func repositoryKey(src app.Source) string {
	var key string
	var err error
	if src.IsChart() {
		key, err = helmrepo.Key(src.RepoURL)
	} else {
		key, err = source.NormalizeURL(src.RepoURL)
	}
	if err != nil {
		return ""
	}
	return key
}

// usesRepository reports whether a reads the repository with identity key:
// as one of its sources, or as the chart repository of a helmCharts entry
// its last render inflated.
func (r *Reconciler) usesRepository(a *app.Application, key string) bool {
	for _, src := range a.Spec.SourceList() {
		if repositoryKey(src) == key {
			return true
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.chartUsers[a.Key()][key]
}

// revisionMatches reports whether a push of ref (e.g. "refs/heads/main" or
// "main") can move an app that tracks target.
func revisionMatches(target, ref string) bool {
	if target == "" || target == "HEAD" {
		return true // HEAD follows the default branch, which we cannot see from here
	}
	for _, prefix := range []string{"refs/heads/", "refs/tags/", ""} {
		if prefix+target == ref {
			return true
		}
	}
	return false
}

// repositoryMoved queues every Application that reads the repository with
// identity key, which the git or chart cache saw move. While a refresh
// someone asked for is under way, they wait movedDelay first.
func (r *Reconciler) repositoryMoved(key string) {
	r.mu.Lock()
	asked := len(r.refreshes) > 0
	r.mu.Unlock()
	for _, a := range r.Applications() {
		switch {
		case !r.usesRepository(a, key):
		case asked:
			r.queue.AddAfter(a.Key(), movedDelay)
		default:
			r.queue.Add(a.Key())
		}
	}
}

// movedDelay is how long the Applications of a repository that moved wait
// while a refresh someone asked for is under way. A webhook that lists the
// changed files refreshes the apps they change, and the poller then sees
// the repository move for all its apps. Most of those only record the new
// revision, but each costs a comparison and a status write, and all of
// them at once hold up the one a person waits on (its own writes took
// ten to twenty times as long with 100 apps; at 1,000 the push took 1.1 s
// rather than a quarter of one). A second later they are a burst of their
// own, coalesced with any push that came meanwhile.
const movedDelay = time.Second

// Applications returns every watched Application, decoded. The values are
// shared: callers must not modify them.
func (r *Reconciler) Applications() []*app.Application {
	if r.apps == nil {
		return nil
	}
	objs := r.apps.GetStore().List()
	out := make([]*app.Application, 0, len(objs))
	for _, obj := range objs {
		if a, err := app.FromObject(obj); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// Application returns one watched Application; the value is shared and must
// not be modified.
func (r *Reconciler) Application(key types.NamespacedName) (*app.Application, bool) {
	if r.apps == nil {
		return nil, false
	}
	obj, ok, err := r.apps.GetStore().GetByKey(key.Namespace + "/" + key.Name)
	if err != nil || !ok {
		return nil, false
	}
	a, err := app.FromObject(obj)
	return a, err == nil
}

func (r *Reconciler) enqueueObject(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if m, ok := obj.(metav1.Object); ok {
		key := types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()}
		if _, asked := m.GetAnnotations()[RefreshAnnotation]; asked {
			r.addUrgent(key) // a refresh passed on through the annotation
		} else {
			r.queue.Add(key)
		}
		r.notify(key)
	}
}

func (r *Reconciler) processNext(ctx context.Context) bool {
	key, quit := r.queue.Get()
	if quit {
		return false
	}
	defer r.queue.Done(key)
	start := time.Now()
	requeue, err := r.reconcile(ctx, key)
	r.opts.Observer.Reconciled(key, time.Since(start))
	switch {
	case errors.Is(err, errGone):
		// Forgotten; not looked at again unless something about it
		// happens.
		r.queue.Forget(key)
	case apierrors.IsConflict(err):
		// The watched copy was behind gyre's own last write; the watch
		// catches up within milliseconds.
		r.queue.Forget(key)
		r.queue.AddAfter(key, conflictRetry)
	case err != nil && ctx.Err() == nil:
		r.log.Warn("reconcile failed", "app", key, "err", err)
		r.queue.AddRateLimited(key)
	case requeue > 0:
		r.queue.Forget(key)
		r.queue.AddAfter(key, requeue)
	default:
		r.queue.Forget(key)
		r.queue.AddAfter(key, r.opts.ResyncPeriod)
	}
	return true
}

// reconcile brings one Application one step further and says when to look
// again (0: after the resync period). An Application that is gone is
// forgotten (forgetApp), and reconcile says so with errGone.
func (r *Reconciler) reconcile(ctx context.Context, key types.NamespacedName) (time.Duration, error) {
	shared, ok := r.Application(key)
	if !ok {
		// Deleted; its objects stay unless the finalizer asked otherwise.
		r.forgetApp(key)
		return 0, errGone
	}
	if r.behindOwnWrite(shared) {
		// The watch has not brought gyre's own last write yet; it will,
		// and queue the Application again, ahead of the others (it has
		// waited its turn already). Acting on this copy would only meet a
		// conflict, or resume an operation that has finished.
		r.lanes.mark(key)
		return conflictRetry, nil
	}
	a := shared.DeepCopy()
	ctx = r.refreshContext(hardRefreshContext(ctx, a), a)
	if err := r.takeRefreshRequest(ctx, a); err != nil {
		return 0, err
	}
	if a.DeletionTimestamp != nil {
		return r.finalize(ctx, a)
	}
	if a.Operation != nil {
		return r.startOperation(ctx, a)
	}
	if st := a.Status.OperationState; st != nil && st.Phase == app.OperationRunning {
		return r.resumeOperation(ctx, a)
	}
	cmp := r.compare(ctx, a, a.Spec.SourceList(), "")
	st, changed := r.comparedStatus(ctx, a, cmp)
	compared := a.DeepCopy()
	compared.Status = *st
	op, retries, wait := r.automatedSync(compared, cmp)
	if op != nil {
		// The sync's first status write carries the comparison, and is
		// made against the watched copy's resourceVersion: a copy that
		// does not show the outcome of gyre's last operation yet (a
		// rollback that suspended automation, say) meets a conflict, and
		// the Application is looked at again from a fresher one.
		return r.runOperation(ctx, compared, op, cmp, syncParams{Prune: op.Sync.Prune, decidedOnWatch: true}, retries)
	}
	if changed {
		if _, err := r.writeCompared(ctx, a, st); err != nil {
			return 0, err
		}
	}
	if wait > 0 {
		return wait, nil
	}
	if cmp.err != nil {
		return errorBackoff, nil
	}
	return 0, nil
}

// wrote records the resourceVersion of a status write of a.
func (r *Reconciler) wrote(a *app.Application) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.written == nil {
		r.written = map[types.NamespacedName]string{}
	}
	r.written[a.Key()] = a.ResourceVersion
}

// behindOwnWrite reports whether a, as watched, is older than gyre's last
// status write of it.
func (r *Reconciler) behindOwnWrite(a *app.Application) bool {
	r.mu.Lock()
	last, ok := r.written[a.Key()]
	r.mu.Unlock()
	return ok && !notOlder(a.ResourceVersion, last)
}

// fresh reads an Application from the API server rather than the watch.
func (r *Reconciler) fresh(ctx context.Context, key types.NamespacedName) (*app.Application, error) {
	u, err := r.dyn.Resource(app.GroupVersionResource()).Namespace(key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return app.FromUnstructured(u)
}

// errorBackoff is how soon an Application whose comparison failed is looked
// at again.
const errorBackoff = 30 * time.Second

// conflictRetry is how soon an Application is looked at again after its
// status write met a newer object.
const conflictRetry = 20 * time.Millisecond

// Tree returns the resource tree of a: the objects its status lists, with
// what the cluster made from them below.
func (r *Reconciler) Tree(a *app.Application) []app.TreeNode {
	resources := r.listedResources(a)
	t, _ := r.existingTarget(a)
	inputs := make([]live.TreeInput, 0, len(resources))
	for _, res := range resources {
		in := live.TreeInput{Key: res.Key(), Version: res.Version, Sync: res.Status}
		if t != nil {
			if obj, ok := t.live.Get(res.Key()); ok {
				in.Live = obj
			}
		}
		inputs = append(inputs, in)
	}
	if t == nil {
		return nil // its cluster has not been reached yet
	}
	return t.live.Tree(a.Namespace, a.Name, inputs)
}

// NewApplicationsInformer returns a watch of the Applications in namespace
// (empty: all) for Options.Applications, to be shared with the
// ApplicationSet and notification controllers of the same process: each
// keeping a copy of every Application of its own costs three times the
// memory (a synced Application is several KiB of JSON and about ten times
// that as the watch decodes it). It keeps them typed and without
// managedFields (app.Typed), indexed by namespace. The Reconciler's Start
// runs it.
func NewApplicationsInformer(cfg *rest.Config, namespace string) (cache.SharedIndexInformer, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return newApplicationsInformer(dyn, namespace), nil
}

func newApplicationsInformer(dyn dynamic.Interface, namespace string) cache.SharedIndexInformer {
	inf := dynamicinformer.NewFilteredDynamicInformer(dyn, app.GroupVersionResource(), namespace, 0,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}, nil).Informer()
	// Cannot fail before the informer runs.
	_ = inf.SetTransform(app.Typed)
	return inf
}

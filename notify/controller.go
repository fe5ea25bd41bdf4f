package notify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/gyre-cd/gyre/app"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Observer is told of each notification's final outcome, after its
// retries: err is nil when it was delivered. web.Metrics implements it
// (gyre_notifications_total).
type Observer interface {
	Notified(notifier types.NamespacedName, target, event string, err error)
}

// Options configure a Controller. Start from DefaultOptions.
type Options struct {
	// SystemNamespace is gyre's own namespace: its Notifiers see the
	// Applications of every namespace. Empty: none does.
	SystemNamespace string
	// Namespace limits the Controller to Applications and Notifiers of one
	// namespace; empty watches all.
	Namespace string
	// UIURL is gyre's UI address (https://gyre.example.com); when set,
	// notifications link to the Application's page.
	UIURL string
	// Timeout bounds each HTTP request.
	Timeout time.Duration
	// Attempts is how many times a notification is tried before it counts
	// as failed.
	Attempts int
	// Backoff is the wait after the first failed attempt; it doubles after
	// each one, up to MaxBackoff.
	Backoff time.Duration
	// MaxBackoff bounds the wait between two attempts.
	MaxBackoff time.Duration
	// QueueSize bounds the notifications waiting per Notifier; past it,
	// new ones are dropped and counted as failed.
	QueueSize int
	// Applications, when set, is the process's shared watch of
	// Applications, which its owner runs (see sync.NewApplicationsInformer).
	// Nil: a watch of the Controller's own.
	Applications cache.SharedIndexInformer
	// ResyncPeriod is the resync period of the Controller's own watches
	// (not of a shared Applications one); 0 means none.
	ResyncPeriod time.Duration
	// FieldManager is the manager of the status writes.
	FieldManager string
	// Logger receives deliveries (debug) and failures (warn).
	Logger *slog.Logger
	// Observer, when set, counts outcomes.
	Observer Observer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// DefaultOptions returns the options gyre runs with: 10s per request, five
// attempts 1s, 2s, 4s and 8s apart, 100 waiting notifications per
// Notifier.
func DefaultOptions() Options {
	return Options{
		Timeout:      10 * time.Second,
		Attempts:     5,
		Backoff:      time.Second,
		MaxBackoff:   30 * time.Second,
		QueueSize:    100,
		FieldManager: "gyre",
		Logger:       slog.Default(),
		Now:          time.Now,
	}
}

// Controller watches Applications and Notifiers and delivers each event to
// the Notifiers that ask for it. See the package comment.
type Controller struct {
	opts   Options
	dyn    dynamic.Interface
	client kubernetes.Interface
	sender *sender
	log    *slog.Logger

	apps      cache.SharedIndexInformer
	notifiers cache.SharedIndexInformer

	// trackers is touched only by the Application handlers, which the
	// informer calls one at a time.
	trackers map[types.NamespacedName]*tracker
	// updates counts the Application updates handled, for tests.
	updates atomic.Int64

	mu      gosync.Mutex
	entries map[types.NamespacedName]*entry           // guarded by mu
	written map[types.NamespacedName]writtenCondition // guarded by mu
	ctx     context.Context                           // set by Start; workers stop with it
}

// entry is one Notifier as the Controller holds it: the object, its rules
// (nil when its spec is invalid, with err saying why) and its worker.
type entry struct {
	n     *Notifier
	rules *rules
	err   error
	w     *worker
}

// New returns a Controller for the cluster at cfg.
func New(cfg *rest.Config, opts Options) (*Controller, error) {
	def := DefaultOptions()
	if opts.Timeout <= 0 {
		opts.Timeout = def.Timeout
	}
	if opts.Attempts <= 0 {
		opts.Attempts = def.Attempts
	}
	if opts.Backoff <= 0 {
		opts.Backoff = def.Backoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = def.MaxBackoff
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = def.QueueSize
	}
	if opts.FieldManager == "" {
		opts.FieldManager = def.FieldManager
	}
	if opts.Logger == nil {
		opts.Logger = def.Logger
	}
	if opts.Now == nil {
		opts.Now = def.Now
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Controller{
		opts: opts, dyn: dyn, client: client, sender: newSender(opts), log: opts.Logger,
		trackers: map[types.NamespacedName]*tracker{}, entries: map[types.NamespacedName]*entry{},
		written: map[types.NamespacedName]writtenCondition{},
	}, nil
}

// Start watches Notifiers and Applications, waits until both are listed
// and returns; the Controller then runs until ctx ends. The Notifier CRD
// must be installed (see CRD). Applications as they are at Start fire
// nothing: only transitions seen afterwards do.
func (c *Controller) Start(ctx context.Context) error {
	c.mu.Lock()
	c.ctx = ctx
	c.mu.Unlock()
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(c.dyn, c.opts.ResyncPeriod, c.opts.Namespace, nil)
	c.notifiers = f.ForResource(GroupVersionResource()).Informer()
	nreg, err := c.notifiers.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.notifierChanged,
		UpdateFunc: func(_, obj any) { c.notifierChanged(obj) },
		DeleteFunc: c.notifierDeleted,
	})
	if err != nil {
		return err
	}
	c.apps = c.opts.Applications
	if c.apps == nil {
		c.apps = f.ForResource(app.GroupVersionResource()).Informer()
		if err := c.apps.SetTransform(app.Typed); err != nil {
			return err
		}
	}
	areg, err := c.apps.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.appAdded,
		UpdateFunc: func(_, obj any) { c.appUpdated(obj) },
		DeleteFunc: c.appDeleted,
	})
	if err != nil {
		return err
	}
	// A shared watch outlives this Controller (a replica that loses the
	// lead starts a new one when it leads again).
	context.AfterFunc(ctx, func() { _ = c.apps.RemoveEventHandler(areg) })
	f.Start(ctx.Done())
	// The handlers' own HasSynced: every object of the first lists has been
	// handed to them, so no event after Start finds a Notifier unknown or
	// an Application without its starting state.
	if !cache.WaitForCacheSync(ctx.Done(), nreg.HasSynced, areg.HasSynced) {
		return fmt.Errorf("notifications: caches did not sync: %w", ctx.Err())
	}
	return nil
}

func (c *Controller) appAdded(obj any) {
	a := c.decodeApp(obj)
	if a == nil {
		return
	}
	c.trackers[a.Key()] = newTracker(a)
}

func (c *Controller) appUpdated(obj any) {
	c.updates.Add(1)
	a := c.decodeApp(obj)
	if a == nil {
		return
	}
	t := c.trackers[a.Key()]
	if t == nil {
		c.trackers[a.Key()] = newTracker(a)
		return
	}
	for _, o := range t.observe(a) {
		c.dispatch(a, o)
	}
}

func (c *Controller) appDeleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if m, ok := obj.(metav1.Object); ok {
		delete(c.trackers, types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()})
	}
}

func (c *Controller) decodeApp(obj any) *app.Application {
	a, err := app.FromObject(obj)
	if err != nil {
		c.log.Warn("notifications: Application left out", "err", err)
		return nil
	}
	return a
}

// dispatch queues occurrence o of a for every Notifier that sees a and
// asks for the event. It never blocks.
func (c *Controller) dispatch(a *app.Application, o Occurrence) {
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, e := range c.entries {
		if e.rules == nil || !e.rules.events[o.Event] || !Sees(key.Namespace, a.Namespace, c.opts.SystemNamespace) || !e.rules.selects(&e.n.Spec, a) {
			continue
		}
		j := job{
			id:   strings.Join([]string{string(e.n.UID), a.Namespace, a.Name, string(o.Event), o.ID}, "/"),
			uid:  e.n.UID,
			data: newData(a, o.Event, now, c.opts.UIURL),
		}
		if !e.w.enqueue(j) {
			err := fmt.Errorf("%s of %s/%s dropped: %d notifications already wait", o.Event, a.Namespace, a.Name, c.opts.QueueSize)
			c.log.Warn("notification dropped", "notifier", key.String(), "err", err)
			c.observe(key, e.rules.target, o.Event, err)
		}
	}
}

func (c *Controller) observe(key types.NamespacedName, t TargetType, e Event, err error) {
	if c.opts.Observer != nil {
		c.opts.Observer.Notified(key, string(t), string(e), err)
	}
}

func (c *Controller) notifierChanged(obj any) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	key := types.NamespacedName{Namespace: u.GetNamespace(), Name: u.GetName()}
	n, err := FromUnstructured(u)
	var r *rules
	if err == nil {
		r, err = compile(n)
	} else {
		n = &Notifier{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, UID: u.GetUID(), Generation: u.GetGeneration()}}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil || e.n.UID != n.UID {
		if e != nil {
			e.w.stop()
		}
		e = &entry{w: c.newWorkerLocked(key)}
		c.entries[key] = e
	}
	e.n, e.rules, e.err = n, r, err
	e.w.poke()
}

func (c *Controller) notifierDeleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	key := types.NamespacedName{Namespace: u.GetNamespace(), Name: u.GetName()}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil {
		e.w.stop()
		delete(c.entries, key)
	}
	delete(c.written, key)
}

// current returns the Notifier of key as last seen, its rules and why
// they are nil; n is nil once it is deleted.
func (c *Controller) current(key types.NamespacedName) (n *Notifier, r *rules, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		return nil, nil, nil
	}
	return e.n, e.rules, e.err
}

// secret reads the value of n's secretRef from n's own namespace; "" when
// it has none.
func (c *Controller) secret(ctx context.Context, n *Notifier) (string, error) {
	ref := n.Spec.SecretRef
	if ref == nil {
		return "", nil
	}
	s, err := c.client.CoreV1().Secrets(n.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("secretRef: Secret %s/%s not found", n.Namespace, ref.Name)
	case apierrors.IsForbidden(err):
		return "", fmt.Errorf("secretRef: gyre may not read Secret %s/%s", n.Namespace, ref.Name)
	case err != nil:
		return "", fmt.Errorf("secretRef: Secret %s/%s: %w", n.Namespace, ref.Name, err)
	}
	v, ok := s.Data[ref.Key]
	if !ok {
		return "", fmt.Errorf("secretRef: Secret %s/%s has no key %q", n.Namespace, ref.Name, ref.Key)
	}
	value := strings.TrimSpace(string(v))
	if value == "" {
		return "", fmt.Errorf("secretRef: key %q of Secret %s/%s is empty", ref.Key, n.Namespace, ref.Name)
	}
	return value, nil
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gyre-cd/gyre/source"
	gyresync "github.com/gyre-cd/gyre/sync"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// agentOptions are the flags shared by `gyre serve` and `gyre up` that shape
// the reconcile loop.
type agentOptions struct {
	CacheDir     string
	Namespace    string
	Namespaces   []string
	Workers      int
	ResyncPeriod time.Duration
	PollInterval time.Duration

	LeaderElect             bool
	LeaderElectionNamespace string
	LeaderElectionID        string
}

// agentHooks connect the loop to metrics. Any may be nil.
type agentHooks struct {
	Sync          gyresync.Observer
	Git           source.Observer
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// agent is a running reconcile loop.
type agent struct {
	reconciler *gyresync.Reconciler
	source     *source.Cache
	done       chan error
}

// startAgent builds the git cache and the reconciler for the cluster at cfg
// and runs the loop until ctx is done. With leader election, every replica
// watches (and so can serve the API) but only the leader reconciles.
func startAgent(ctx context.Context, cfg *rest.Config, o agentOptions, hooks agentHooks, log *slog.Logger) (*agent, error) {
	srcOpts := source.DefaultOptions(o.CacheDir)
	srcOpts.Logger = log
	srcOpts.Observer = hooks.Git
	if o.PollInterval > 0 {
		srcOpts.PollInterval = o.PollInterval
	}
	src, err := source.New(srcOpts)
	if err != nil {
		return nil, fmt.Errorf("git cache %s: %w", o.CacheDir, err)
	}
	cfg = rest.CopyConfig(cfg)
	if hooks.WrapTransport != nil {
		cfg.Wrap(hooks.WrapTransport)
	}
	r, err := gyresync.New(cfg, src, gyresync.Options{Workers: o.Workers, ResyncPeriod: o.ResyncPeriod, Namespace: o.Namespace, Namespaces: o.Namespaces, Logger: log, Observer: hooks.Sync})
	if err != nil {
		return nil, err
	}
	a := &agent{reconciler: r, source: src, done: make(chan error, 1)}
	go func() {
		if err := r.Start(ctx); err != nil {
			a.done <- err
			return
		}
		if !o.LeaderElect {
			r.Work(ctx)
			a.done <- nil
			return
		}
		a.done <- lead(ctx, cfg, o, log, r.Work)
	}()
	return a, nil
}

// lead takes part in the election on a Lease and works while it leads. It
// returns nil when ctx ends (releasing the lease), and an error when the
// lead is lost, so that the process exits and starts afresh.
func lead(ctx context.Context, cfg *rest.Config, o agentOptions, log *slog.Logger, work func(context.Context)) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	id, err := os.Hostname()
	if err != nil {
		id = "gyre"
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	id += "-" + hex.EncodeToString(suffix)
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: o.LeaderElectionNamespace, Name: o.LeaderElectionID},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	lost := errors.New("lost the leader lease")
	var result error
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   15 * time.Second,
		RenewDeadline:   10 * time.Second,
		RetryPeriod:     2 * time.Second,
		ReleaseOnCancel: true,
		Name:            o.LeaderElectionID,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				log.Info("leading: reconciling", "identity", id)
				work(ctx)
			},
			OnStoppedLeading: func() {
				if ctx.Err() == nil {
					result = lost
				}
			},
			OnNewLeader: func(leader string) {
				if leader != id {
					log.Info("following: serving only", "leader", leader)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	elector.Run(ctx)
	return result
}

// waitReady blocks until the loop's caches have synced, the loop failed, or
// timeout passed.
func (a *agent) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !a.reconciler.Ready() {
		select {
		case err := <-a.done:
			return fmt.Errorf("reconcile loop stopped: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("reconcile loop not ready after %s", timeout)
		case <-tick.C:
		}
	}
	return nil
}

func (o *agentOptions) addFlags(f interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
	DurationVar(*time.Duration, string, time.Duration, string)
}) {
	f.StringVar(&o.Namespace, "app-namespace", o.Namespace, "watch Applications in this namespace only (default: all)")
	f.IntVar(&o.Workers, "workers", o.Workers, "Applications reconciled at once")
	f.DurationVar(&o.ResyncPeriod, "resync", o.ResyncPeriod, "how often every Application is compared even without a change")
	f.DurationVar(&o.PollInterval, "git-poll", o.PollInterval, "how often each git repository is checked for new commits")
}

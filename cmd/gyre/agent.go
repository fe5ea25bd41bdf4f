package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gyre-cd/gyre/source"
	gyresync "github.com/gyre-cd/gyre/sync"
	"k8s.io/client-go/rest"
)

// agentOptions are the flags shared by `gyre serve` and `gyre up` that shape
// the reconcile loop.
type agentOptions struct {
	CacheDir     string
	Namespace    string
	Workers      int
	ResyncPeriod time.Duration
	PollInterval time.Duration
}

// agent is a running reconcile loop.
type agent struct {
	reconciler *gyresync.Reconciler
	done       chan error
}

// startAgent builds the git cache and the reconciler for the cluster at cfg
// and runs the loop until ctx is done.
func startAgent(ctx context.Context, cfg *rest.Config, o agentOptions, log *slog.Logger) (*agent, error) {
	srcOpts := source.DefaultOptions(o.CacheDir)
	srcOpts.Logger = log
	if o.PollInterval > 0 {
		srcOpts.PollInterval = o.PollInterval
	}
	src, err := source.New(srcOpts)
	if err != nil {
		return nil, fmt.Errorf("git cache %s: %w", o.CacheDir, err)
	}
	r, err := gyresync.New(cfg, src, gyresync.Options{Workers: o.Workers, ResyncPeriod: o.ResyncPeriod, Namespace: o.Namespace, Logger: log})
	if err != nil {
		return nil, err
	}
	a := &agent{reconciler: r, done: make(chan error, 1)}
	go func() { a.done <- r.Run(ctx) }()
	return a, nil
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

package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/gyre-cd/gyre/notify"
	gyresync "github.com/gyre-cd/gyre/sync"
	"github.com/gyre-cd/gyre/web"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// The metrics count notifications through the sync observer hook.
var _ notify.Observer = (*web.Metrics)(nil)

// startNotifications installs the Notifier CRD and runs the notification
// controller until ctx ends: at once, or, with leader election, while this
// replica holds a lease of its own (<leader-election-id>-notifications),
// so that exactly one replica sends each notification. It does not wait:
// notifications that cannot start (no RBAC for Notifiers, say) are logged
// and the agent runs on without them, since they must never hold up a sync.
//
// apps is the loop's watch of Applications in o.Namespace, which the
// controller shares when it watches the same namespaces.
//
// The metric hook is the sync observer when it also counts notifications
// (web.Metrics does).
func startNotifications(ctx context.Context, cfg *rest.Config, o agentOptions, hooks agentHooks, log *slog.Logger, apps cache.SharedIndexInformer) {
	opts := notify.DefaultOptions()
	opts.SystemNamespace = o.SystemNamespace
	if len(o.Namespaces) == 0 {
		opts.Namespace = o.Namespace
		opts.Applications = apps // the loop's watch covers the same namespaces
	}
	opts.Logger = log
	if obs, ok := hooks.Sync.(notify.Observer); ok {
		opts.Observer = obs
	}
	run := func(ctx context.Context) {
		if err := runNotifications(ctx, cfg, opts); err != nil {
			log.Error("notifications are off", "err", err)
			return
		}
		<-ctx.Done()
	}
	go func() {
		if !o.LeaderElect {
			run(ctx)
			return
		}
		lo := o
		lo.LeaderElectionID = o.LeaderElectionID + "-notifications"
		leading := func(ctx context.Context) {
			log.Info("notifications: leading, sending")
			run(ctx)
		}
		// lead's own log lines speak of reconciling (and tests look for
		// them): it gets a logger that drops them. Losing the lease ends
		// this round; stand again until ctx ends.
		quiet := slog.New(slog.DiscardHandler)
		for ctx.Err() == nil {
			if err := lead(ctx, cfg, lo, quiet, leading); err != nil {
				log.Info("notifications: not leading, standing again", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(5 * time.Second):
				}
			}
		}
	}()
}

// runNotifications installs the Notifier CRD and starts a Controller that
// runs until ctx ends.
func runNotifications(ctx context.Context, cfg *rest.Config, opts notify.Options) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := gyresync.InstallCRD(ctx, dyn, notify.CRD(), opts.FieldManager); err != nil {
		return err
	}
	c, err := notify.New(cfg, opts)
	if err != nil {
		return err
	}
	return c.Start(ctx)
}

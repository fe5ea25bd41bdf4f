package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gyre-cd/gyre/appset"
	"github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/source"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// startAppSets installs the ApplicationSet CRD and runs the ApplicationSet
// controller beside the reconcile loop until ctx is done: its git
// generators read through src, the loop's cache, and its cluster
// generators through clusters (nil: a registry of its own, watching the
// cluster Secrets in o.SystemNamespace). Every replica watches; with
// leader election only the holder of its own Lease (o.LeaderElectionID
// + "-appsets") writes. When the CRD can be neither installed nor found,
// ApplicationSets are off and startAppSets says so in the log: the loop
// runs without them. apps is the loop's watch of Applications, which the
// controller shares.
func startAppSets(ctx context.Context, cfg *rest.Config, src *source.Cache, clusters *cluster.Registry, o agentOptions, log *slog.Logger, apps cache.SharedIndexInformer) error {
	log = log.With("component", "applicationsets")
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := appset.InstallCRD(ctx, dyn, "gyre-install"); err != nil {
		log.Error("ApplicationSets are off: their CRD is not installed and gyre may not install it", "err", err)
		return nil
	}
	if clusters == nil {
		clusters = cluster.NewRegistry(cfg, log)
		if o.SystemNamespace != "" {
			client, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			if err := clusters.Watch(ctx, client, o.SystemNamespace); err != nil {
				return fmt.Errorf("cluster Secrets: %w", err)
			}
		}
	}
	c, err := appset.New(cfg, appset.Options{Namespace: o.Namespace, Applications: apps, Clusters: clusters, Git: src, Logger: log})
	if err != nil {
		return err
	}
	go func() {
		// Start waits for the Application CRD, which the loop installs.
		if err := c.Start(ctx); err != nil {
			if ctx.Err() == nil {
				log.Error("ApplicationSet watch failed", "err", err)
			}
			return
		}
		if !o.LeaderElect {
			c.Work(ctx)
			return
		}
		lo := o
		lo.LeaderElectionID += "-appsets"
		if err := lead(ctx, cfg, lo, log, c.Work); err != nil {
			log.Error("ApplicationSet controller stopped", "err", err)
		}
	}()
	return nil
}

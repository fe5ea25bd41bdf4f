package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/gyre-cd/gyre/web"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// secretWatchTimeout bounds the wait for a Secret's watch to start.
const secretWatchTimeout = time.Minute

// serveSecrets reads the API tokens and webhook secrets `gyre serve` was
// pointed at, and keeps them current until ctx ends: each Secret is
// watched, and what it holds replaces what the server knew as soon as it
// changes, so a token or webhook secret taken out of it stops working at
// once. Start fails on a Secret that is missing or has an invalid key;
// later, invalid keys are logged and left out, the valid ones kept. The
// --admin-token-file token stays valid throughout.
func serveSecrets(ctx context.Context, cfg *rest.Config, o serveOptions, log *slog.Logger) (_ *web.TokenSet, _ *web.WebhookSecretSet, err error) {
	fileTokens := web.StaticTokens{}
	if o.AdminTokenFile != "" {
		token, err := readOrCreateSecret(o.AdminTokenFile)
		if err != nil {
			return nil, nil, err
		}
		fileTokens[token] = web.Identity{Name: "admin", Role: web.RoleAdmin}
	}
	tokens := web.NewTokenSet(fileTokens)
	webhooks := web.NewWebhookSecretSet(web.StaticWebhookSecrets{})
	if o.TokenSecret == "" && len(fileTokens) == 0 {
		return nil, nil, fmt.Errorf("no API tokens: pass --token-secret or --admin-token-file")
	}
	if o.TokenSecret == "" && o.WebhookSecret == "" {
		return tokens, webhooks, nil
	}
	if o.SecretNamespace == "" {
		return nil, nil, fmt.Errorf("--token-secret and --webhook-secret need --secret-namespace (or $POD_NAMESPACE)")
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	// The watches run until ctx ends, or stop at once if the start fails.
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		if err != nil {
			cancel()
		}
	}()
	if o.TokenSecret != "" {
		n, err := watchSecret(ctx, client, o.SecretNamespace, o.TokenSecret, "token secret", log, func(s *corev1.Secret) (int, error) {
			t := web.StaticTokens{}
			var err error
			if s != nil {
				t, err = web.TokensFromSecret(s)
			}
			n := len(t)
			maps.Copy(t, fileTokens)
			tokens.Store(t)
			return n, err
		})
		if err != nil {
			return nil, nil, err
		}
		if n == 0 && len(fileTokens) == 0 {
			return nil, nil, fmt.Errorf("no API tokens: token secret %s/%s holds none, and there is no --admin-token-file", o.SecretNamespace, o.TokenSecret)
		}
	}
	if o.WebhookSecret != "" {
		_, err := watchSecret(ctx, client, o.SecretNamespace, o.WebhookSecret, "webhook secret", log, func(s *corev1.Secret) (int, error) {
			w := web.StaticWebhookSecrets{}
			var err error
			if s != nil {
				w, err = web.WebhookSecretsFromSecret(s)
			}
			webhooks.Store(w)
			return len(w), err
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return tokens, webhooks, nil
}

// watchSecret calls apply with the Secret namespace/name, what it is for
// gyre, now and each time it changes, and with nil once it is deleted,
// until ctx ends. apply returns how many entries it took and an error
// naming those it left out. watchSecret returns once the watch runs, with
// what the first apply returned, or an error if the Secret is missing or
// the first apply failed: gyre does not start on a Secret it cannot use.
// Later failures are logged.
func watchSecret(ctx context.Context, client kubernetes.Interface, namespace, name, what string, log *slog.Logger, apply func(*corev1.Secret) (int, error)) (int, error) {
	secrets := client.CoreV1().Secrets(namespace)
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, fmt.Errorf("%s %s/%s: %w", what, namespace, name, err)
	}
	n, err := apply(s)
	if err != nil {
		return 0, err
	}
	log = log.With("secret", namespace+"/"+name)
	reload := func(obj any) {
		s, ok := obj.(*corev1.Secret)
		if !ok {
			return
		}
		n, err := apply(s)
		if err != nil {
			log.Error(what+" reloaded; invalid keys left out", "entries", n, "err", err)
			return
		}
		log.Info(what+" reloaded", "entries", n)
	}
	byName := fields.OneTermEqualSelector("metadata.name", name).String()
	_, informer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.FieldSelector = byName
				return secrets.List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.FieldSelector = byName
				return secrets.Watch(ctx, o)
			},
		},
		ObjectType: &corev1.Secret{},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    reload,
			UpdateFunc: func(_, obj any) { reload(obj) },
			DeleteFunc: func(any) {
				apply(nil)
				log.Warn(what + " deleted: none of its entries is accepted any more")
			},
		},
	})
	go informer.RunWithContext(ctx)
	wctx, cancel := context.WithTimeout(ctx, secretWatchTimeout)
	defer cancel()
	if !cache.WaitForCacheSync(wctx.Done(), informer.HasSynced) {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("%s %s/%s: cannot watch it for changes within %s; gyre needs get, list and watch on it", what, namespace, name, secretWatchTimeout)
	}
	return n, nil
}

package web

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/source"
	corev1 "k8s.io/api/core/v1"
)

// Provider names a git hosting service whose push webhooks gyre reads; it
// is also the key of the provider's secret in a WebhookSecretSource.
type Provider string

// The webhook providers.
const (
	// ProviderGitHub signs with X-Hub-Signature-256.
	ProviderGitHub Provider = "github"
	// ProviderGitLab sends the secret itself in X-Gitlab-Token.
	ProviderGitLab Provider = "gitlab"
	// ProviderGitea covers Gitea and Forgejo, which sign with
	// X-Gitea-Signature or X-Forgejo-Signature.
	ProviderGitea Provider = "gitea"
	// ProviderBitbucket is Bitbucket Cloud: X-Hub-Signature when the
	// webhook has a secret, else a ?secret= query parameter.
	ProviderBitbucket Provider = "bitbucket"
	// ProviderBitbucketServer is Bitbucket Server and Data Center, which
	// sign with X-Hub-Signature.
	ProviderBitbucketServer Provider = "bitbucketserver"
	// ProviderGeneric is any sender of {"repository", "ref", "paths"},
	// signed with X-Gyre-Signature: sha256=<hex HMAC-SHA256 of the body>.
	ProviderGeneric Provider = "generic"
)

// Providers returns every webhook provider.
func Providers() []Provider {
	return []Provider{ProviderGitHub, ProviderGitLab, ProviderGitea, ProviderBitbucket, ProviderBitbucketServer, ProviderGeneric}
}

// WebhookSecretSource returns the webhook secret of each provider, keyed by
// the Provider names. It is asked on every webhook, so it may change.
type WebhookSecretSource interface {
	Secrets() map[string][]byte
}

// StaticWebhookSecrets is a fixed set of webhook secrets, keyed by provider.
type StaticWebhookSecrets map[string][]byte

// Secrets returns s.
func (s StaticWebhookSecrets) Secrets() map[string][]byte { return s }

// WebhookSecretSet is a WebhookSecretSource whose secrets may be replaced
// while it serves: cmd/gyre stores a new set each time the webhook Secret
// changes. The zero WebhookSecretSet has no secret, so every webhook is
// refused.
type WebhookSecretSet struct {
	current atomic.Pointer[StaticWebhookSecrets]
}

// NewWebhookSecretSet returns a WebhookSecretSet holding s.
func NewWebhookSecretSet(s StaticWebhookSecrets) *WebhookSecretSet {
	set := &WebhookSecretSet{}
	set.Store(s)
	return set
}

// Store replaces every secret with s. The caller must not change s after.
func (w *WebhookSecretSet) Store(s StaticWebhookSecrets) { w.current.Store(&s) }

// Secrets returns the current secrets.
func (w *WebhookSecretSet) Secrets() map[string][]byte {
	if s := w.current.Load(); s != nil {
		return *s
	}
	return nil
}

// WebhookSecretsFromSecret reads webhook secrets from a Secret whose keys
// are provider names ("github", "gitlab", "gitea", "bitbucket",
// "bitbucketserver", "generic"). Surrounding white space in a value, such
// as the newline a file leaves, is ignored. It returns the secrets of every
// valid key and, when some keys are invalid, an error naming each of them.
func WebhookSecretsFromSecret(s *corev1.Secret) (StaticWebhookSecrets, error) {
	out := StaticWebhookSecrets{}
	values := secretValues(s)
	keys := slices.Sorted(maps.Keys(values))
	var errs []error
	for _, k := range keys {
		v := strings.TrimSpace(values[k])
		switch {
		case !slices.Contains(Providers(), Provider(k)):
			errs = append(errs, fmt.Errorf("secret %s/%s: key %q: unknown webhook provider (want one of %v)", s.Namespace, s.Name, k, Providers()))
		case v == "":
			errs = append(errs, fmt.Errorf("secret %s/%s: key %q: empty secret", s.Namespace, s.Name, k))
		default:
			out[k] = []byte(v)
		}
	}
	return out, errors.Join(errs...)
}

// pushEvent is what gyre takes from a push webhook.
type pushEvent struct {
	provider Provider
	// urls are every address of the repository the payload gives.
	urls []string
	// refs are the pushed refs ("refs/heads/main"); empty means unknown,
	// and every revision of the repository is refreshed.
	refs []string
	// paths are the changed files, when the payload lists them all.
	paths []string
}

// The results counted in gyre_webhook_requests_total.
const (
	webhookAccepted     = "accepted"
	webhookIgnored      = "ignored"
	webhookDuplicate    = "duplicate"
	webhookUnauthorized = "unauthorized"
	webhookTooLarge     = "too_large"
	webhookBadRequest   = "bad_request"
	webhookQueueFull    = "queue_full"
)

const (
	// deliveryWindow is how long a webhook delivery id is remembered: a
	// redelivery within it is answered without a second refresh.
	deliveryWindow = 10 * time.Minute
	// maxDeliveries bounds the delivery ids remembered; beyond it the
	// oldest are forgotten first.
	maxDeliveries = 10_000
)

// deliveryID returns the id the provider gives a delivery, the same on
// each redelivery of it, or "" when the request carries none. The key a
// provider's id is remembered under starts with the provider, so that one
// provider's ids cannot stand in for another's. Bitbucket Cloud's
// X-Hook-UUID names the webhook, not the delivery, and GitLab's
// X-Gitlab-Webhook-UUID likewise, so neither is used.
func deliveryID(p Provider, h http.Header) string {
	var names []string
	switch p {
	case ProviderGitHub:
		names = []string{"X-GitHub-Delivery"}
	case ProviderGitea:
		names = []string{"X-Forgejo-Delivery", "X-Gitea-Delivery", "X-GitHub-Delivery"}
	case ProviderGitLab:
		names = []string{"X-Gitlab-Event-UUID", "Idempotency-Key"}
	case ProviderBitbucket:
		names = []string{"X-Request-UUID"}
	case ProviderBitbucketServer:
		names = []string{"X-Request-Id"}
	default:
		names = []string{"X-Gyre-Delivery"}
	}
	for _, n := range names {
		if id := strings.TrimSpace(h.Get(n)); id != "" {
			return string(p) + "\x00" + id
		}
	}
	return ""
}

// errUnsigned is returned when a webhook carries no signature or token.
var errUnsigned = errors.New("no signature")

// webhook answers POST /api/webhook: it verifies the payload with the
// provider's secret, answers a delivery it handled already (by the
// provider's delivery id, within deliveryWindow) with 200 and nothing
// more, answers others at once and leaves the refresh to the queue.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	p, event := detectProvider(r.Header)
	result := webhookBadRequest
	defer func() { s.metrics.webhookRequest(p, result) }()

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxWebhookBody))
	if err != nil {
		result = webhookTooLarge
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			writeError(w, statusError(http.StatusBadRequest, "webhook: reading body: "+err.Error()))
			return
		}
		writeError(w, statusError(http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook: body larger than %d bytes", mbe.Limit)))
		return
	}
	var secrets map[string][]byte
	if s.opts.WebhookSecrets != nil {
		secrets = s.opts.WebhookSecrets.Secrets()
	}
	secret := secrets[string(p)]
	if len(secret) == 0 {
		result = webhookUnauthorized
		s.log.Warn("webhook refused: no secret is configured for its provider", "provider", p, "event", event, "remote", r.RemoteAddr)
		writeError(w, statusError(http.StatusUnauthorized, fmt.Sprintf("webhook: no secret is configured for provider %s", p)))
		return
	}
	if err := verify(p, r, body, secret); err != nil {
		result = webhookUnauthorized
		s.log.Warn("webhook refused", "provider", p, "event", event, "remote", r.RemoteAddr, "reason", err)
		writeError(w, statusError(http.StatusUnauthorized, "webhook: signature does not match the configured secret"))
		return
	}
	// Only a verified delivery is remembered: a forged one cannot make gyre
	// skip the real one. A delivery that is refused below is forgotten
	// again, so that the provider's retry is handled.
	delivery := deliveryID(p, r.Header)
	if delivery != "" && !s.deliveries.add(delivery, struct{}{}) {
		result = webhookDuplicate
		writeJSON(w, http.StatusOK, Accepted{Accepted: false, Duplicate: true})
		return
	}
	forget := func() {
		if delivery != "" {
			s.deliveries.remove(delivery)
		}
	}
	push, err := parsePush(p, event, body)
	switch {
	case err != nil:
		forget()
		writeError(w, statusError(http.StatusBadRequest, fmt.Sprintf("webhook %s: %v", p, err)))
		return
	case push == nil:
		result = webhookIgnored
		writeJSON(w, http.StatusOK, Accepted{Accepted: false})
		return
	case len(push.urls) == 0:
		forget()
		writeError(w, statusError(http.StatusBadRequest, fmt.Sprintf("webhook %s: the payload names no repository", p)))
		return
	}
	if !s.webhooks.add(*push) {
		forget()
		result = webhookQueueFull
		w.Header().Set("Retry-After", "5")
		writeError(w, statusError(http.StatusServiceUnavailable, "webhook: too many pushes queued; retry later"))
		return
	}
	result = webhookAccepted
	writeJSON(w, http.StatusAccepted, Accepted{Accepted: true})
}

// processPush refreshes what a push may have changed. Without the list of
// changed files it refreshes every Application of the repository that
// follows a pushed ref. With it, it drops the repository's ref listing and
// refreshes only those whose source path holds a changed file.
func (s *Server) processPush(e pushEvent) {
	repos := map[string]string{} // normalised → an address as the payload gave it
	for _, u := range e.urls {
		if n, err := source.NormalizeURL(u); err == nil {
			if _, dup := repos[n]; !dup {
				repos[n] = u
			}
		}
	}
	refs := e.refs
	if len(refs) == 0 {
		refs = []string{""}
	}
	if len(e.paths) == 0 {
		var n int
		for _, u := range repos {
			for _, ref := range refs {
				n += len(s.opts.Backend.RefreshRepository(u, ref))
			}
		}
		s.log.Info("webhook push", "provider", e.provider, "repos", redactAll(repos), "refs", e.refs, "apps", n)
		return
	}
	for _, u := range repos {
		s.opts.Backend.ForgetRepository(u)
	}
	var n int
	for _, a := range s.index.apps() {
		if pushedTo(a, repos, e) {
			s.opts.Backend.Refresh(a.Key())
			n++
		}
	}
	s.log.Info("webhook push", "provider", e.provider, "repos", redactAll(repos), "refs", e.refs, "paths", len(e.paths), "apps", n)
}

func redactAll(repos map[string]string) []string {
	out := make([]string, 0, len(repos))
	for n := range repos {
		out = append(out, source.Redact(n))
	}
	slices.Sort(out)
	return out
}

// pushedTo reports whether push e to repos can change what one of a's
// sources renders: the source is in repos, follows a pushed ref, and its
// path is touched (a source with a ref lends any of its files, so any
// change counts).
func pushedTo(a *app.Application, repos map[string]string, e pushEvent) bool {
	for _, src := range a.Spec.SourceList() {
		norm, err := source.NormalizeURL(src.RepoURL)
		if _, ours := repos[norm]; err != nil || !ours || src.IsChart() {
			continue
		}
		if followsAny(src.TargetRevision, e.refs) && (src.Ref != "" || touchesPath(src.Path, e.paths)) {
			return true
		}
	}
	return false
}

// followsAny reports whether a push of any of refs can move a source
// that tracks target: it is the default branch, or one of the refs as a
// branch or tag name. No refs means unknown, which matches.
func followsAny(target string, refs []string) bool {
	if len(refs) == 0 || target == "" || target == "HEAD" {
		return true
	}
	for _, ref := range refs {
		if ref == target || ref == "refs/heads/"+target || ref == "refs/tags/"+target {
			return true
		}
	}
	return false
}

// touchesPath reports whether one of the changed files lies in the source
// directory dir ("" is the repository's root).
func touchesPath(dir string, changed []string) bool {
	dir = strings.Trim(strings.TrimPrefix(dir, "./"), "/")
	if dir == "" || dir == "." {
		return true
	}
	for _, p := range changed {
		p = strings.TrimPrefix(strings.TrimPrefix(p, "./"), "/")
		if p == dir || strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// maxQueuedPushes bounds the pushes waiting for the worker.
const maxQueuedPushes = 256

// webhookQueue runs pushes one at a time on a goroutine that exists only
// while there is work, so a Server needs no Close.
type webhookQueue struct {
	work    func(pushEvent)
	mu      sync.Mutex
	items   []pushEvent
	running bool
}

func newWebhookQueue(work func(pushEvent)) *webhookQueue {
	return &webhookQueue{work: work}
}

// add queues e and reports whether there was room.
func (q *webhookQueue) add(e pushEvent) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) >= maxQueuedPushes {
		return false
	}
	q.items = append(q.items, e)
	if !q.running {
		q.running = true
		go q.run()
	}
	return true
}

func (q *webhookQueue) run() {
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			q.running = false
			q.items = nil
			q.mu.Unlock()
			return
		}
		e := q.items[0]
		q.items = q.items[1:]
		q.mu.Unlock()
		q.work(e)
	}
}

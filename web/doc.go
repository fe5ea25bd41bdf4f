// Package web is gyre's HTTP surface: the JSON API the UI and the CLI use,
// the git hosting webhook receiver, the Prometheus /metrics endpoint, the
// health probes and the embedded web UI.
//
// web does not know the reconcile loop. It defines what it needs as small
// interfaces — Backend (list and read Applications, request operations,
// refresh), Cluster (read one live object and its events), Repositories
// (the repository credentials Secrets, shown without their values),
// TokenSource and WebhookSecretSource — and cmd/gyre plugs the reconciler,
// a dynamic client and the configured secrets in. That keeps every handler testable with a
// few lines of fake and keeps client-go out of this package.
//
// # API
//
// Every route under /api/v1 answers JSON; errors are {"error": "message"}
// with the status that fits (400 bad input, 401 no or unknown token, 403 a
// readonly token asking to change something, 404 unknown application or
// object, 409 an operation already in progress, 413 body too large). The
// application list is built from Backend.Applications on each call,
// filtered, sorted by namespace and name and cut into pages with an opaque
// continue token that names the last item of the page, so pages stay stable
// while applications come and go. /api/v1/stream sends a server-sent event
// for every application that changes. Repository addresses are shown
// without their credentials everywhere (source.Redact), and the list's
// search does not look at them either.
//
// # Authentication
//
// Callers send "Authorization: Bearer <token>". A TokenSource maps a token to
// an Identity with a Role: admin may do everything, readonly may read.
// StaticTokens compares a token against every known one in constant time;
// TokenSet holds StaticTokens that cmd/gyre replaces when the token Secret
// changes, so a removed token is refused from the next request on. There
// are no cookies, so the API is not open to cross-site request forgery.
// The probes, /metrics and the UI's static files need no token; webhooks
// authenticate with their provider's signature instead.
//
// An Identity with Projects sees only the Applications of those projects:
// every other one answers exactly as one that does not exist, is left out
// of the list and its counts, and never reaches its event stream.
// appRoute applies this to every route that names an Application (see
// scope.go); TestScopeEveryRoute walks the registered routes to keep it so.
// Repository credentials serve every project, so their routes
// (/api/v1/repositories) refuse any token limited to projects with 403.
//
// The browser's EventSource cannot send headers, and a token in a URL ends
// up in logs, so the UI trades its token for a ticket (POST
// /api/v1/stream/ticket): random, good for one connection within a minute,
// standing for the token it was issued to. The stream looks that token up
// again before each write and ends when it is gone.
//
// # Webhooks
//
// POST /api/webhook takes push events from GitHub, GitLab, Gitea and
// Forgejo, Bitbucket Cloud, Bitbucket Server and a generic JSON shape, each
// verified against the secret configured for its provider (a
// WebhookSecretSet, which cmd/gyre replaces when the Secret changes). The
// handler answers 202 as soon as the payload is verified and parsed; the
// refresh runs on a single background worker fed by a bounded queue. When
// the push lists the files it changed, only the Applications whose source
// path contains one of them are refreshed. A verified delivery whose
// provider's delivery id was handled in the last ten minutes answers 200
// and refreshes nothing; only verified deliveries are remembered, so a
// forged one cannot suppress the real one.
//
// # Metrics
//
// Metrics registers gyre's collectors on a registry the caller owns.
// gyre_app_info is computed at scrape time from Backend.Applications; the
// other series are fed by the reconcile loop (Metrics satisfies the
// sync.Observer and source.Observer interfaces), by the Kubernetes client
// (WrapTransport) and by the webhook receiver. Repository labels never
// carry credentials.
package web

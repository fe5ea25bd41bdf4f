// Package notify tells people and systems what happens to Applications: a
// sync started, succeeded or failed, an Application became Degraded or
// recovered, or drifted OutOfSync. What to send and where is a Notifier, a
// namespaced custom resource (notifiers.gyre.dev, CRD returns its
// manifest) with one target: a webhook with a JSON body of the user's
// shape (a Go text/template, see ParseBodyTemplate), a Slack incoming
// webhook, a GitHub commit status, or Prometheus Alertmanager alerts.
//
// # Who sees what
//
// A Notifier sees the Applications of its own namespace; a Notifier in
// gyre's system namespace (Options.SystemNamespace, "gyre" by default)
// sees those of every namespace (Sees). Within that, spec.selector,
// spec.projects and spec.applications narrow the choice. A Notifier reads
// its secret (a Slack URL, a token) from a Secret of its own namespace
// only: a secretRef naming another namespace makes the spec invalid. So a
// team that may create Notifiers in its namespace learns nothing of other
// namespaces' Applications and reads no other namespace's Secrets.
//
// # Events
//
// The Controller watches Applications and turns changes of their status
// into events (tracker): an operation with a new startedAt is
// SyncStarted, one with a new finishedAt is SyncSucceeded or SyncFailed
// (phases Failed and Error); health becoming Degraded is HealthDegraded,
// Healthy after that is HealthRecovered; sync status becoming OutOfSync is
// OutOfSync. Degraded and OutOfSync fire once per episode: Degraded →
// Progressing → Degraded is one event, and only Healthy (or Synced) ends
// the episode. The state an Application is in when the Controller starts,
// or when it is created, fires nothing, so neither a restart nor an
// informer relist or resync sends anything twice; the flip side is that
// a transition that happens while no gyre is watching (or, with leader
// election, between two leaders) is not sent. Nothing is persisted.
//
// # Delivery
//
// Each Notifier has a worker goroutine and a bounded queue
// (Options.QueueSize): the informer handlers only queue, never wait, and
// the reconcile loop does not know notifications exist, so a slow or dead
// receiver delays nothing but its own Notifier's later notifications.
// A worker sends in the order events happened. A notification is keyed by
// Notifier, Application, event and the occurrence's identity (the
// operation's times, or the episode), and a key queued or delivered
// already is not sent again. Each request has a timeout; redirects are
// followed only to the same host; responses are read up to 64 KiB and
// quoted in errors up to 200 bytes. Failures (network errors, HTTP 5xx,
// 408, 429) are retried with exponential backoff up to Options.Attempts
// times; other 4xx answers are not retried. The secret is read from its
// Secret at each delivery, so a rotated one applies at once.
//
// The outcome goes to the Observer (gyre_notifications_total{notifier,
// type, event, result}) and to the Notifier's Ready condition: True with
// reason Accepted or Delivered, False with DeliveryFailed or InvalidSpec and
// a message that says why. The status is written through the status
// subresource and only when it changes. No message, log line or condition
// carries the secret: errors name the target's scheme and host only, and
// anything a server echoes is scrubbed of the secret's value.
//
// # Payloads
//
// Data is what templates see and what a webhook without a template sends.
// Slack gets SlackMessage, a text line and one coloured attachment. GitHub
// gets POST {apiURL}/repos/{owner}/{repo}/statuses/{revision} with state
// pending (SyncStarted, OutOfSync), success (SyncSucceeded,
// HealthRecovered), failure (SyncFailed with phase Failed, HealthDegraded)
// or error (SyncFailed with phase Error), and context gyre/<application>;
// the revision must be a commit SHA. Alertmanager gets POST
// {url}/api/v2/alerts with alerts labelled alertname, application,
// namespace, project and severity: HealthDegraded fires
// GyreApplicationDegraded (critical) and HealthRecovered resolves it
// (endsAt set); SyncFailed fires GyreSyncFailed (warning) and
// SyncSucceeded resolves it; SyncStarted fires GyreSyncRunning (info),
// which the end of the sync resolves; OutOfSync fires
// GyreApplicationOutOfSync (warning), which Alertmanager resolves on its
// own after its resolve_timeout.
package notify

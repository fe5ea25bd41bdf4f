// Package source turns an Application's spec.source (repoURL and
// targetRevision) into a commit SHA, and gives read access to the files of a
// commit. It runs for every app on every reconcile, so it is built around
// sharing and caching: a hundred apps on one repository cost one ref listing
// per poll interval and one fetch per new commit.
//
// # The cache
//
// A Cache keeps one bare repository on disk per repository identity, under
// Options.Dir in a directory named by a hash of the identity. The identity is
// NormalizeURL of the URL: scheme and host lowercased, user information,
// default port, trailing "/" and ".git" dropped, scp-style addresses turned
// into ssh:// ones. Webhooks match pushes against apps with the same
// function, and credentials are matched on it too.
//
// Resolve answers "which commit is main now?" with a ref listing (git
// ls-remote, done in process by go-git), which it reuses for the poll
// interval (60s by default, ±10% jitter so many repositories spread out);
// concurrent callers share one listing. Only when the commit is not in the
// cache does it fetch, and then shallowly (depth 1) when the revision is a
// branch, tag or HEAD and the server supports it. Once the cache holds the
// ref, the next fetch asks for the commits since the one it holds
// (deepen-since, an hour of slack) with that commit as a have, so a push
// costs the objects it changed rather than its whole tree; a commit that is not at a
// ref tip, or a short SHA, needs history, so that fetch deepens the cache to
// full history once. A full SHA already in the cache costs no network at
// all. One fetch runs at a time per repository, and it writes through its
// own handle on the object store, so readers are never blocked by a slow
// network. Every fetch adds a pack; past a few dozen they are merged into
// one, keeping every object, since a shallow cache holds commits no ref
// reaches any more but apps are still deployed at.
//
// Retain, which the reconciler calls every minute with the repositories its
// Applications use, bounds the cache. A repository it does not name and no
// caller has used for Options.IdleTimeout (10m) is released: its listing,
// memos and object cache leave memory and its directory is deleted. One it
// names keeps everything, but once its store has doubled (and is at least
// 16 MiB), at most hourly, it is compacted to the commits callers resolved
// or read in the last hour, with their files, as a shallow repository; the
// commits in use cost no fetch afterwards, and the next fetch tells the
// server where the history ends. Repositories whose server cannot send
// shallow packs are not compacted.
//
// Poll is the loop that notices pushes without webhooks: it re-lists every
// repository whose branches, tags or HEAD were resolved, and calls back with
// the repository's identity when one moved, so the reconciler can re-queue
// the apps that use it. Refresh (what a webhook calls) drops a repository's
// listing and wakes the loop at once. Time comes from Options.Clock, so tests
// move it by hand.
//
// # Reading files
//
// Files returns a Snapshot, an io/fs.FS rooted at a directory of a commit,
// read straight from the object store: no worktree is checked out, so any
// number of readers of any commits read at once. render consumes it as an
// fs.FS; a consumer that needs real files (a Helm chart loader, a kustomize
// filesystem) calls Snapshot.WriteDir. Kustomize overlays that reach ../base
// need a Snapshot of a directory that contains both. ChangedPaths compares
// the trees of two commits, so a push that touches only apps/a/ need not
// re-render apps/b/.
//
// # Credentials and errors
//
// Credentials come from Kubernetes Secrets labelled gyre.dev/secret-type, or
// Argo CD's argocd.argoproj.io/secret-type with the same keys:
// "repository" for one URL, "repo-creds" for every URL under a prefix
// (longest wins). Their "type" key (git, the default, helm or oci) keeps
// credentials to the kind of repository they are for. CredentialsFromSecrets
// is the pure half; the Cache asks a CredentialSource before each network
// operation, which cmd/ backs with an informer. When the answer differs from
// the credentials the repository's last session presented, its cached ref
// listing, or the refusal it ended with, is dropped, so a new, changed or
// deleted Secret applies to the next Resolve. SSH host keys are checked
// against the Secret's knownHosts and the check fails closed without it
// unless insecureIgnoreHostKey is "true". Passwords in repository URLs are
// never used: credentials live in Secrets. Status reports what the cache last
// heard from each repository's server, for `gyre repo list`.
//
// Resolve, Files and ChangedPaths return an *Error naming the step, the
// repository (redacted), the revision or commit and the path, wrapping ErrAuth, ErrUnreachable,
// ErrRepositoryNotFound, ErrRevisionNotFound or ErrPathNotFound for callers
// that branch. Messages from go-git and servers are scrubbed of passwords and
// URL user information before they reach an error, a log line, a status or a
// metric label; Redact does the same for callers.
//
// The Observer in Options hears of every ls-remote and fetch with its
// duration and outcome; web/ turns that into gyre_git_request_total and
// gyre_git_request_duration_seconds without this package importing
// Prometheus.
package source

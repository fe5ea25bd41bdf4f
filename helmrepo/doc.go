// Package helmrepo turns an Application's Helm chart source (repoURL, chart
// and targetRevision, as in Argo CD) into one chart version, and gives
// read access to that version's files. It is the chart-repository twin of
// package source and is built the same way around sharing: a hundred apps
// on one repository cost one index fetch per poll interval and one download
// per chart version, ever.
//
// # Resolving
//
// A Helm repository is an http(s) URL serving index.yaml; a registry is an
// oci:// URL whose repositories' tags are chart versions (chart given
// separately, or, in Argo CD's form, as the URL's last path element).
// Resolve fetches the index (or lists the tags) at most once per poll
// interval per repository, whatever number of callers ask at once, sending
// If-None-Match and If-Modified-Since when the server gave an ETag or
// Last-Modified, so an unchanged index costs a 304. The index is read with
// a size limit and kept as, per chart, its versions parsed and sorted once,
// newest first; answers are memoised until the index changes, so resolving
// against an index of thousands of entries costs a map lookup. A target
// revision is an exact version (with or without "v") or a semver
// constraint, with Helm's rule that prereleases match only constraints that
// name one. Chart.Digest is the archive's sha256 as the index gives it (or,
// when it gives none, of the archive, downloaded once to learn it); for a
// registry it is the manifest's, learnt by pulling, which keeps the archive.
//
// # Files
//
// Files downloads an archive once per digest and keeps it in Options.Dir,
// named by its digest, written whole (temporary file, sync, rename) and
// checked against the digest both when it arrives and whenever it is read
// back, so a tampered download is refused (ErrDigestMismatch) and a
// corrupted file is fetched again. Credentials go only to the repository's
// own scheme, host and port, as in Helm, even when the index points at
// archives elsewhere. The archive is extracted into memory with the care
// Helm's loader takes and more: one top-level directory, served as the
// chart's name; no links, devices, absolute paths or "..", named in the
// ErrBadArchive error; bounded in total and per file (ErrTooLarge). The
// last 64 extracted charts stay in memory. render reads the result as a
// Helm chart whose directory is the chart's name.
//
// # Polling, credentials, errors
//
// Poll re-fetches the indexes callers resolved against when their interval
// passes (Refresh, which a webhook calls, at once) and reports a
// repository's Key when an answer changed; Retain releases what idle
// repositories and archives hold. Time comes from Options.Clock. Options.
// Credentials is asked before every request, for source.RepoTypeHelm or
// source.RepoTypeOCI, so a rotated Secret applies to the next one. Errors
// are *Error values leading with the repository (redacted) and chart, and
// wrap source's ErrAuth, ErrUnreachable and ErrRepositoryNotFound for the
// same causes as git, or this package's sentinels; no message holds a
// password. Every request is reported to Options.Observer, source's
// interface, with the request types "index", "download", "tags" and
// "pull", so chart repositories share the gyre_git_request metrics with
// git. Registry requests themselves are package oci's.
package helmrepo

package helmrepo

import (
	"errors"
	"time"

	"github.com/gyre-cd/gyre/helmrepo/oci"
)

// Chart is one chart version as Resolve found it: what the render reads and
// what status and history record.
type Chart struct {
	// RepoURL is the repository as the Application wrote it (redacted of
	// any user information).
	RepoURL string `json:"repoURL"`
	// Name is the chart's name.
	Name string `json:"name"`
	// Version is the exact version the target revision resolved to.
	Version string `json:"version"`
	// Digest is "sha256:<hex>": of the archive for a Helm repository (as
	// its index lists it), of the manifest for an OCI registry.
	Digest string `json:"digest"`
	// Created is when the repository says the version was published, if it
	// says.
	Created time.Time `json:"created,omitzero"`
}

// Sentinel errors a caller can branch on with errors.Is, beside source's
// ErrAuth, ErrUnreachable and ErrRepositoryNotFound, which chart
// repositories return for the same causes.
var (
	// ErrChartNotFound means the repository lists no chart of that name.
	ErrChartNotFound = errors.New("chart not found")
	// ErrVersionNotFound means no version of the chart matches the target
	// revision.
	ErrVersionNotFound = errors.New("no chart version matches")
	// ErrDigestMismatch means a downloaded archive is not the one the
	// repository's index (or the registry's manifest) names. It is
	// oci.ErrDigestMismatch, so one check finds both.
	ErrDigestMismatch = oci.ErrDigestMismatch
	// ErrTooLarge means an index or an archive is larger than the cache
	// accepts. It is oci.ErrTooLarge, so one check finds both.
	ErrTooLarge = oci.ErrTooLarge
	// ErrBadArchive means a chart archive is not a gzipped tar of one
	// chart, or holds paths outside it.
	ErrBadArchive = errors.New("bad chart archive")
)

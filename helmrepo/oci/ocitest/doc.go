// Package ocitest starts a real OCI registry inside a test and pushes Helm
// charts to it, for the tests of helmrepo/oci and of whatever deploys charts
// from OCI (sync, cmd/gyre).
//
// The registry is distribution's (github.com/distribution/distribution/v3,
// the registry behind Docker Hub and the one Helm's own tests run): its
// request handlers with the in-memory storage driver, htpasswd basic auth
// when a username is given, served over TLS with a certificate authority
// the test generates for 127.0.0.1 and localhost, on a random port. It is
// served by net/http/httptest rather than distribution's registry.NewRegistry,
// which would install a process-wide OpenTelemetry tracer provider, write
// an access log to stdout and need a port picked before it listens.
// Distribution logs through logrus's standard logger; Start sends that to
// io.Discard.
//
// Push builds a chart with Helm's chart packages and pushes it with Helm's
// registry client, as `helm push` does. Neither it nor the registry writes
// outside the test's temporary directories.
//
// Production code never imports this package.
package ocitest

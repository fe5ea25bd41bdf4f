// Package helmrepotest serves real Helm chart repositories to tests: charts
// packaged with Helm's own packages (Chart), and a Server that keeps them
// and an index.yaml over TLS, with basic auth, conditional requests and
// knobs for hostile cases (corrupted archives, wrong or missing digests, an
// endless index). helmrepo, sync and cmd/gyre tests share it; production
// code never imports it.
package helmrepotest

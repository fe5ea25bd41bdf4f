// Package install tests how gyre is installed in a cluster: its Helm chart
// (charts/gyre) and its container image (Dockerfile). The package has no
// code outside its tests.
//
// The chart is rendered with gyre's own renderer, for the default values
// and for ci/all-on-values.yaml, which turns every option on; every rendered
// object is then dry-run applied to the embedded API server, which validates
// it as a real cluster would. gyre deploys its own chart from a git
// repository, as an operator managing gyre with gyre would, and the chart's
// ServiceAccount, with the chart's RBAC, is checked against the API server's
// authorizer with a token minted for it. The Dockerfile cannot be built
// here (no container engine), so its test reads it and checks the stages,
// the build flags and the runtime user.
//
// TestMain starts one embedded control plane and one reconcile loop for the
// package; each test works in namespaces of its own.
package install

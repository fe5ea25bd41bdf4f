// Package testsupport holds what gyre's tests share across packages: real
// git repositories written with go-git (Repo), real git served over smart
// HTTP and over ssh, and a git host that stops answering (GitHTTPHandler,
// GitSSHServer, StallServer), polling with a deadline (Eventually), and
// reading a /metrics page (ScrapeMetrics).
//
// Production code never imports it, and it imports nothing of gyre's and
// none of the embedded control plane: a package whose tests are cheap can
// use it without linking kube-apiserver into its test binary. Tests that
// need a cluster get it from localcluster/clustertest.
//
// Nothing here synchronises by sleeping: Eventually polls a condition until
// a deadline and fails the test with the condition's last word.
package testsupport

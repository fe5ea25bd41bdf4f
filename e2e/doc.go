// Package e2e tests gyre end to end, as a user meets it: its TestMain builds
// the gyre binary, starts one `gyre up` (embedded cluster, reconciler, HTTP
// API) on free ports in a temporary data dir, and waits until the bundled
// example Applications are Synced and Healthy. The tests then drive the real
// binary's CLI, change the cluster with client-go through the kubeconfig
// `gyre up` wrote, commit to real git repositories and send signed webhooks.
//
// The package has no code outside its tests. `go test -short ./...` skips
// it; a full run takes a few minutes and ~500 MB while `gyre up` runs. The
// benchmark BenchmarkWebhookToSynced measures webhook received → Synced:
//
//	go test ./e2e -run '^$' -bench WebhookToSynced -benchtime 10x
package e2e

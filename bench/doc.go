// Package bench holds gyre's end-to-end benchmarks: whole scenarios run
// against real processes, as a user would run them, and measured from the
// outside.
//
// BenchmarkMTTP is the mean-time-to-production scenario. It starts
// `gyre up --agent=false` (the embedded control plane alone), generates a
// git repository of N application folders (each a ServiceAccount, a
// Service, a Deployment scaled to 0 and an Ingress) served over git's smart
// HTTP protocol by real git, starts `gyre serve` as a separate process
// against that cluster, creates N automated Applications at once and
// measures:
//
//   - the time until every Application is Synced and Healthy at the
//     repository's head;
//   - the agent's maximum and settled resident memory (its render worker
//     processes are reported apart);
//   - the agent's API requests by verb, its renders and its dry runs
//     (from its own /metrics);
//   - a quiet resync interval: writes, dry runs, renders and CPU;
//   - a push that changes one application's folder, announced by a
//     signed GitHub webhook that lists the changed file: the time until
//     that application is Synced at the new commit, and the renders it
//     cost.
//
// The package has no tests of its own beyond the scenario's pieces; the
// benchmark runs only when asked for:
//
//	go test ./bench -run '^$' -bench 'MTTP/apps=1000' -benchtime 1x -timeout 60m
package bench

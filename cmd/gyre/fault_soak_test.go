//go:build !nolocalcluster

package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/localcluster"
)

// soakShape is how long TestServeSoak runs and how often it kills gyre.
type soakShape struct {
	rounds int
	// commitFor is how long each round commits, one commit a second.
	commitFor time.Duration
	// killIn reports whether round i (from 0) kills gyre serve halfway.
	killIn func(i int) bool
}

// soakFor returns the shape of a soak: the short one CI runs, two rounds
// of 12s with one kill in the first, or, when $GYRE_SOAK holds a duration,
// rounds of a minute until it is used up, killing gyre in every other.
func soakFor(t testing.TB) soakShape {
	long := envDuration(t, "GYRE_SOAK")
	if long == 0 {
		return soakShape{rounds: 2, commitFor: 12 * time.Second, killIn: func(i int) bool { return i == 0 }}
	}
	return soakShape{rounds: max(2, int(long/time.Minute)), commitFor: time.Minute, killIn: func(i int) bool { return i%2 == 0 }}
}

// TestServeSoak runs 200 apps from four repositories under gyre serve and
// commits once a second, each commit changing one app's ConfigMap, while
// gyre serve is killed with SIGKILL and started again in the middle of a
// round. After each round every app must be Synced at its repository's
// last commit with each operation recorded once, and the cluster must hold
// what git says; a process's goroutines and resident memory after a later
// round must not exceed those after its first by more than a tolerance.
//
// The default is a short run for CI. A long soak runs for as long as
// $GYRE_SOAK says, with rounds of a minute and a kill in every other:
//
//	GYRE_SOAK=10m go test ./cmd/gyre -run TestServeSoak -count=1 -v -timeout 30m
func TestServeSoak(t *testing.T) {
	needBinary(t)
	const (
		dest    = "soak"
		nRepos  = 4
		perRepo = 50
	)
	shape := soakFor(t)
	c := startCluster(t, localcluster.Options{DataDir: t.TempDir()}, dest)
	// want is what git holds: app name → ConfigMap value at the head.
	want := map[string]string{}
	repos := make([]*testsupport.Repo, nRepos)
	for r := range repos {
		repos[r] = testsupport.NewRepo(t)
		files := map[string]string{}
		for i := range perRepo {
			name := fmt.Sprintf("soak-%d-%02d", r, i)
			files[name+"/cm.yaml"] = configMapDoc(name, "0")
			want[name] = "0"
		}
		repos[r].Commit("initial", files)
	}
	repoOf := func(name string) *testsupport.Repo {
		var r int
		fmt.Sscanf(name, "soak-%d-", &r)
		return repos[r]
	}

	state := t.TempDir()
	serve := func() *serveProcess {
		// The default resync (3m) is longer than a round: every app has to
		// converge on what the poll loop tells it.
		p := startServe(t, c.KubeconfigPath(), state, "--git-poll", "1s")
		p.waitServing()
		return p
	}
	p := serve()
	apps := c.Dynamic.Resource(app.GroupVersionResource()).Namespace(systemNamespace)
	waitCRD(t, apps)
	for name := range want {
		createAutomatedApp(t, apps, name, repoOf(name).Dir, name, dest)
	}
	converged := func(what string) {
		t.Helper()
		took := testsupport.Eventually(t, 3*time.Minute, func() (bool, string) {
			p.alive()
			all := listApps(t, apps)
			if len(all) != len(want) {
				return false, fmt.Sprintf("%d apps listed, want %d", len(all), len(want))
			}
			values := configMapValues(t, c, dest)
			pending := 0
			var example string
			for name, a := range all {
				head := repoOf(name).Head()
				if a.Status.Sync.Status != app.Synced || a.Status.Sync.Revision != head || values[name] != want[name] || oneResultEach(a) != nil {
					pending++
					example = fmt.Sprintf("%s: %s at %.7s (head %.7s), config map %q want %q, %v", name, a.Status.Sync.Status, a.Status.Sync.Revision, head, values[name], want[name], oneResultEach(a))
				}
			}
			return pending == 0, fmt.Sprintf("%d apps not converged, e.g. %s", pending, example)
		})
		t.Logf("%s: all %d apps converged %s after the last commit", what, len(want), took.Round(time.Millisecond))
	}
	converged("initial sync")

	var firstUsage usage // after the first full round of the current process
	seq := 0
	for round := range shape.rounds {
		kill := shape.killIn(round)
		killed := false
		start := time.Now()
		tick := time.NewTicker(time.Second)
		for time.Since(start) < shape.commitFor {
			// Each commit changes the next app of the next repository.
			r := seq % nRepos
			name := fmt.Sprintf("soak-%d-%02d", r, (seq/nRepos)%perRepo)
			seq++
			want[name] = fmt.Sprint(seq)
			repos[r].Commit("change "+name, map[string]string{name + "/cm.yaml": configMapDoc(name, want[name])})
			if kill && !killed && time.Since(start) >= shape.commitFor/2 {
				p.kill()
				p = serve()
				killed = true
				firstUsage = usage{}
				t.Logf("round %d: killed gyre serve and started it again", round)
			}
			<-tick.C
		}
		tick.Stop()
		converged(fmt.Sprintf("round %d (%d commits so far)", round, seq))
		u := p.usage()
		if firstUsage == (usage{}) {
			firstUsage = u
			t.Logf("round %d: %s (this process's first full round)", round, u)
			continue
		}
		t.Logf("round %d: %s", round, u)
		notAbove(t, fmt.Sprintf("round %d against this process's first", round), firstUsage, u, 100, 60)
	}
}

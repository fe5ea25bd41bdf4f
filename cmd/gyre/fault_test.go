//go:build !nolocalcluster

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/localcluster"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestServeAPIServerRestartMidSync stops the Kubernetes API server (the
// embedded control plane, in this test's process) in the middle of a
// multi-wave sync, and starts it again on the same data dir and address.
// gyre serve, a child process, must keep running through the outage and
// report it (failed API requests on /metrics, while /healthz still
// answers), then carry on by itself: the app converges to git with one
// recorded result, and gyre was never restarted.
func TestServeAPIServerRestartMidSync(t *testing.T) {
	needBinary(t)
	const dest, waves = "waves", 12
	opts := localcluster.Options{DataDir: t.TempDir(), APIAddress: freeAddr(t)}
	c := startCluster(t, opts, dest)
	repo := testsupport.NewRepo(t)
	sha := repo.Commit("waves", waveFiles(waves))
	kubeconfig := c.KubeconfigPath()

	p := startServe(t, kubeconfig, t.TempDir())
	p.waitServing()
	apps := c.Dynamic.Resource(app.GroupVersionResource()).Namespace(systemNamespace)
	waitCRD(t, apps)
	get := createAutomatedApp(t, apps, "waves", repo.Dir, "", dest)
	waitMidSync(t, get)
	before := get().Status.OperationState.Message
	kubeErrors := p.metric("gyre_kube_request_total", map[string]string{"code": "error"})

	start := time.Now()
	c.Stop()
	t.Logf("API server stopped at %q", before)
	// The outage shows as API requests that got no answer, while gyre
	// itself stays up and answers its probes.
	took := testsupport.Eventually(t, time.Minute, func() (bool, string) {
		p.alive()
		if code, _ := p.get("/healthz", 5*time.Second); code != 200 {
			return false, fmt.Sprintf("/healthz answered %d during the outage", code)
		}
		n := p.metric("gyre_kube_request_total", map[string]string{"code": "error"})
		return n > kubeErrors, fmt.Sprintf("gyre_kube_request_total{code=\"error\"} went from %.0f to %.0f", kubeErrors, n)
	})
	t.Logf("outage reported on /metrics after %s", took.Round(time.Millisecond))
	p.alive()

	c2, err := clustertest.Start(opts)
	if err != nil {
		t.Fatalf("restart the API server on the same data dir and address: %v", err)
	}
	t.Cleanup(func() { c2.Stop() })
	t.Logf("API server back after %s", time.Since(start).Round(time.Millisecond))
	apps = c2.Dynamic.Resource(app.GroupVersionResource()).Namespace(systemNamespace)
	get = func() *app.Application {
		t.Helper()
		return listApps(t, apps)["waves"]
	}
	final := waitConverged(t, get, 3*time.Minute)
	p.alive()
	if n := len(final.Status.History); n != 1 || final.Status.History[0].Revision != sha {
		t.Errorf("history %v, want exactly one entry, for %.7s", historyRevisions(final), sha)
	}
	if err := oneResultEach(final); err != nil {
		t.Error(err)
	}
	// One operation, one result: gyre counted one finished operation.
	if n := p.metric("gyre_app_sync_total", map[string]string{"name": "waves"}); n != 1 {
		t.Errorf("gyre_app_sync_total{name=\"waves\"} = %v, want 1", n)
	}
	ctx := context.Background()
	for w := range waves {
		d, err := c2.Client.AppsV1().Deployments(dest).Get(ctx, fmt.Sprintf("w%02d", w), metav1.GetOptions{})
		if err != nil || d.Status.ReadyReplicas != 2 {
			t.Errorf("wave %d after the outage: %v, %v", w, d.Status, err)
		}
	}
	t.Logf("converged %s after the outage began; gyre logged:\n%s", time.Since(start).Round(time.Millisecond), outageLines(p.stderr.String()))
}

// outageLines picks out of gyre's log the lines about the API server
// outage, at most a few.
func outageLines(log string) string {
	var out []string
	for l := range strings.SplitSeq(log, "\n") {
		if strings.Contains(l, "connection refused") && len(out) < 4 {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServeGitServerHangs puts ten apps on a git server that, once they
// are synced, starts accepting requests and never answering them, and one
// app on a healthy repository. More apps hang than gyre has workers, and
// the listing timeout (--git-timeout) is long next to the poll interval,
// so a hanging listing that held its callers would hold every worker and
// every poll round. The test checks that the hanging apps get a condition
// saying the repository is unreachable, keep their last synced state and
// objects, that each push to the healthy repository reaches the cluster
// within a few seconds while the hang lasts, that gyre does not pile
// requests up on the hanging server, and that once the server answers
// again the hanging apps converge on the commit they could not see.
func TestServeGitServerHangs(t *testing.T) {
	needBinary(t)
	const (
		dest       = "hang"
		hanging    = 10
		gitTimeout = 8 * time.Second
		// pushDeadline is what "not delayed" means: a poll interval, a
		// listing wait (a quarter of gitTimeout) and the sync itself,
		// with room for a busy machine. A listing that held the poll
		// round would take gitTimeout.
		pushDeadline = 6 * time.Second
	)
	c := startCluster(t, localcluster.Options{DataDir: t.TempDir()}, dest)
	root := t.TempDir()
	stuck := testsupport.NewRepoAt(t, filepath.Join(root, "stuck.git"))
	files := map[string]string{}
	for i := range hanging {
		files[fmt.Sprintf("app-%02d/cm.yaml", i)] = configMapDoc(fmt.Sprintf("stuck-%02d", i), "1")
	}
	first := stuck.Commit("one", files)
	server := testsupport.NewStallServer(t, testsupport.GitHTTPHandler(t, root))
	stuckURL := server.URL + "/stuck.git"
	healthy := testsupport.NewRepo(t)
	healthy.Commit("one", map[string]string{"cm.yaml": configMapDoc("healthy", "1")})

	p := startServe(t, c.KubeconfigPath(), t.TempDir(), "--git-poll", "1s", "--git-timeout", gitTimeout.String(), "--resync", "5s")
	p.waitServing()
	apps := c.Dynamic.Resource(app.GroupVersionResource()).Namespace(systemNamespace)
	waitCRD(t, apps)
	for i := range hanging {
		createAutomatedApp(t, apps, fmt.Sprintf("stuck-%02d", i), stuckURL, fmt.Sprintf("app-%02d", i), dest)
	}
	getHealthy := createAutomatedApp(t, apps, "healthy", healthy.Dir, "", dest)
	testsupport.Eventually(t, 2*time.Minute, func() (bool, string) {
		for name, a := range listApps(t, apps) {
			if a.Status.Sync.Status != app.Synced || oneResultEach(a) != nil {
				return false, fmt.Sprintf("%s: %s %v", name, a.Status.Sync.Status, oneResultEach(a))
			}
		}
		return true, ""
	})
	baseline := p.usage()

	server.Stall()
	hungAt := time.Now()
	unseen := stuck.Commit("two", map[string]string{"app-00/cm.yaml": configMapDoc("stuck-00", "2")})

	// Pushes to the healthy repository go through while the hang lasts.
	for i := 2; i <= 5; i++ {
		value := fmt.Sprint(i)
		sha := healthy.Commit("push "+value, map[string]string{"cm.yaml": configMapDoc("healthy", value)})
		took := testsupport.Eventually(t, 2*time.Minute, func() (bool, string) {
			a := getHealthy()
			return a.Status.Sync.Revision == sha && configMapValues(t, c, dest)["healthy"] == value,
				fmt.Sprintf("healthy app at %.7s, want %.7s", a.Status.Sync.Revision, sha)
		})
		t.Logf("push %d reached the cluster in %s (%s into the hang)", i, took.Round(time.Millisecond), time.Since(hungAt).Round(time.Second))
		if took > pushDeadline {
			t.Errorf("push %d to the healthy repository took %s to reach the cluster while another repository hangs; want under %s", i, took, pushDeadline)
		}
	}

	// The hanging apps say why, and keep what they had.
	testsupport.Eventually(t, 3*gitTimeout, func() (bool, string) {
		for name, a := range listApps(t, apps) {
			if !strings.HasPrefix(name, "stuck-") {
				continue
			}
			cond := a.Status.FindCondition(app.ConditionComparisonError)
			if cond == nil || !strings.Contains(cond.Message, "unreachable") {
				return false, fmt.Sprintf("%s: no condition saying the repository is unreachable: %v", name, a.Status.Conditions)
			}
		}
		return true, ""
	})
	t.Logf("every hanging app had its condition %s after the hang began (--git-timeout %s)", time.Since(hungAt).Round(time.Second), gitTimeout)
	values := configMapValues(t, c, dest)
	for name, a := range listApps(t, apps) {
		if !strings.HasPrefix(name, "stuck-") {
			continue
		}
		if a.Status.Sync.Revision != first || len(a.Status.History) != 1 || values[name] != "1" {
			t.Errorf("%s lost its last state during the hang: at %.7s, history %v, config map %q", name, a.Status.Sync.Revision, historyRevisions(a), values[name])
		}
		if cond := a.Status.FindCondition(app.ConditionComparisonError); cond != nil {
			t.Logf("%s: %s", name, cond.Message)
		}
	}
	if _, most, total := server.Held(); most > 2 {
		t.Errorf("gyre held %d requests open on the hanging server at once (%d in all); want one listing at a time", most, total)
	} else {
		t.Logf("the hanging server held at most %d request(s) at once, %d in all", most, total)
	}
	during := p.usage()
	t.Logf("before the hang: %s; during it: %s", baseline, during)
	notAbove(t, "during the hang", baseline, during, 30, 40)

	// The server answers again: the unseen commit arrives.
	server.Resume()
	testsupport.Eventually(t, 3*gitTimeout, func() (bool, string) {
		a := listApps(t, apps)["stuck-00"]
		return a.Status.Sync.Revision == unseen && configMapValues(t, c, dest)["stuck-00"] == "2" && a.Status.FindCondition(app.ConditionComparisonError) == nil,
			fmt.Sprintf("stuck-00 at %.7s after the server came back, want %.7s; %v", a.Status.Sync.Revision, unseen, a.Status.Conditions)
	})
	// The other apps' syncs of the unseen commit may still be finishing.
	testsupport.Eventually(t, 3*gitTimeout, func() (bool, string) {
		var errs []string
		for name, a := range listApps(t, apps) {
			if err := oneResultEach(a); err != nil {
				errs = append(errs, name+": "+err.Error())
			}
		}
		return len(errs) == 0, strings.Join(errs, "; ")
	})
}

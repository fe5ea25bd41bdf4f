package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gyre-cd/gyre/app"
)

// runCLIWith is runCLI with the caller's context and stdout, for commands
// that run until they are stopped (--watch).
func runCLIWith(t *testing.T, ctx context.Context, stdout io.Writer, args ...string) cliRun {
	t.Helper()
	cli := newCLIOptions()
	cli.getenv = func(string) string { return "" }
	cli.now = testNow
	cli.poll = time.Millisecond
	root := &cobra.Command{Use: "gyre", SilenceUsage: true, SilenceErrors: true}
	cli.addFlags(root.PersistentFlags())
	root.AddCommand(newAppCommand(cli))
	var stderr bytes.Buffer
	root.SetOut(stdout)
	root.SetErr(&stderr)
	root.SetArgs(append(args, "--config", filepath.Join(t.TempDir(), "config.yaml")))
	code := exitStatus(root.ExecuteContext(ctx), &stderr)
	return cliRun{stderr: stderr.String(), code: code}
}

func reconciledApp(name string, at time.Time) *app.Application {
	a := testApp("gyre", name)
	t := metav1.NewTime(at)
	a.Status.ReconciledAt = &t
	return a
}

func TestAppRefresh(t *testing.T) {
	t.Run("waits for the comparison", func(t *testing.T) {
		f := newFakeAPI(t)
		f.add(reconciledApp("web", testNow().Add(-time.Minute)))
		after := reconciledApp("web", testNow())
		after.Status.Sync.Status, after.Status.Health.Status = app.OutOfSync, app.Progressing
		f.then("POST /api/v1/applications/gyre/web/refresh", reconciledApp("web", testNow().Add(-time.Minute)), reconciledApp("web", testNow().Add(-time.Minute)), after)
		r := runCLI(t, nil, f.against("app", "refresh", "web")...)
		if r.code != 0 || r.stdout != "gyre/web: refreshed: OutOfSync to 0123456, Progressing\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q; want the state after the refresh", r.code, r.stdout, r.stderr)
		}
		var posted bool
		for _, req := range f.received() {
			posted = posted || (req.Method == "POST" && req.Path == "/api/v1/applications/gyre/web/refresh")
		}
		if !posted {
			t.Errorf("no POST .../refresh among %+v", f.received())
		}
	})
	t.Run("never reconciled before", func(t *testing.T) {
		f := newFakeAPI(t)
		f.add(testApp("gyre", "web"))
		f.then("POST /api/v1/applications/gyre/web/refresh", testApp("gyre", "web"), reconciledApp("web", testNow()))
		r := runCLI(t, nil, f.against("app", "refresh", "web", "-o", "json")...)
		var got app.Application
		if err := json.Unmarshal([]byte(r.stdout), &got); r.code != 0 || err != nil || got.Status.ReconciledAt == nil {
			t.Fatalf("exit %d, stdout %q (%v), stderr %q; want the refreshed Application as JSON", r.code, r.stdout, err, r.stderr)
		}
	})
	t.Run("times out", func(t *testing.T) {
		f := newFakeAPI(t)
		f.add(reconciledApp("web", testNow()))
		r := runCLI(t, nil, f.against("app", "refresh", "web", "--timeout", "30ms")...)
		if r.code != 1 || !strings.Contains(r.stderr, "gyre: application gyre/web: refresh requested, but gyre has not compared it again after 30ms") ||
			strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("exit %d, stderr %q; want exit 1 and one line saying the comparison did not come", r.code, r.stderr)
		}
	})
	t.Run("unknown application", func(t *testing.T) {
		f := newFakeAPI(t)
		r := runCLI(t, nil, f.against("app", "refresh", "nope")...)
		if r.code != 1 || r.stderr != "gyre: application gyre/nope not found\n" {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// liveObject returns a live object as GET .../resource answers, with
// managedFields that manifests leaves out.
func liveObject(apiVersion, kind, namespace, name string) map[string]any {
	return map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{
		"namespace": namespace, "name": name, "managedFields": []any{map[string]any{"manager": "gyre"}},
	}}
}

func TestAppManifests(t *testing.T) {
	setup := func(t *testing.T) *fakeAPI {
		f := newFakeAPI(t)
		f.add(testApp("gyre", "web"))
		f.live["ConfigMap/demo-web/web"] = liveObject("v1", "ConfigMap", "demo-web", "web")
		f.live["apps/Deployment/demo-web/web"] = liveObject("apps/v1", "Deployment", "demo-web", "web")
		return f
	}
	t.Run("yaml stream", func(t *testing.T) {
		f := setup(t)
		f.live["Service/demo-web/web"] = liveObject("v1", "Service", "demo-web", "web")
		r := runCLI(t, nil, f.against("app", "manifests", "web")...)
		if r.code != 0 {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		docs := strings.Split(r.stdout, "---\n")
		if len(docs) != 3 || !strings.Contains(docs[0], "kind: ConfigMap") || !strings.Contains(docs[1], "kind: Deployment") || !strings.Contains(docs[2], "kind: Service") {
			t.Errorf("stdout %q: want ConfigMap, Deployment, Service documents", r.stdout)
		}
		if strings.Contains(r.stdout, "managedFields") {
			t.Errorf("stdout %q keeps managedFields", r.stdout)
		}
		var asked bool
		for _, req := range f.received() {
			asked = asked || (req.Path == "/api/v1/applications/gyre/web/resource" && req.Query == "group=apps&kind=Deployment&name=web&namespace=demo-web")
		}
		if !asked {
			t.Errorf("the Deployment was not asked for by group, kind, namespace and name: %+v", f.received())
		}
	})
	t.Run("json", func(t *testing.T) {
		f := setup(t)
		f.live["Service/demo-web/web"] = liveObject("v1", "Service", "demo-web", "web")
		r := runCLI(t, nil, f.against("app", "manifests", "web", "-o", "json")...)
		var objs []map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &objs); r.code != 0 || err != nil || len(objs) != 3 {
			t.Errorf("exit %d, stdout %q (%v): want a JSON array of 3 objects", r.code, r.stdout, err)
		}
	})
	t.Run("missing object", func(t *testing.T) {
		f := setup(t)
		r := runCLI(t, nil, f.against("app", "manifests", "web")...)
		if r.code != 1 || strings.Count(r.stdout, "kind: ") != 2 {
			t.Errorf("exit %d, stdout %q: want exit 1 after the two objects that exist", r.code, r.stdout)
		}
		if !strings.Contains(r.stderr, "gyre: Service/demo-web/web: Service/demo-web/web not found\n") || !strings.Contains(r.stderr, "1 of 3 objects could not be read (Service/demo-web/web)") {
			t.Errorf("stderr %q: want the missing Service named", r.stderr)
		}
	})
	// --source git: TestAppManifestsGit.
}

func TestAppEvents(t *testing.T) {
	f := newFakeAPI(t)
	f.add(testApp("gyre", "web"))
	pod := app.ResourceKey{Kind: "Pod", Namespace: "demo-web", Name: "web-abc"}
	f.trees["gyre/web"] = []app.TreeNode{
		{Key: app.ResourceKey{Group: "apps", Kind: "Deployment", Namespace: "demo-web", Name: "web"}},
		{Key: pod},
	}
	at := func(d time.Duration) string { return testNow().Add(-d).Format(time.RFC3339) }
	f.events["apps/Deployment/demo-web/web"] = []map[string]any{
		{"type": "Normal", "reason": "ScalingReplicaSet", "message": "Scaled up replica set web-abc to 1", "count": 1, "lastTimestamp": at(10 * time.Minute)},
	}
	f.events["Pod/demo-web/web-abc"] = []map[string]any{
		{"type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container", "count": 3, "lastTimestamp": at(time.Minute)},
		{"type": "Normal", "reason": "Pulled", "message": "Pulled image", "count": 1, "lastTimestamp": at(5 * time.Minute)},
	}

	r := runCLI(t, nil, f.against("app", "events", "web")...)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := [][]string{
		{"TIME", "TYPE", "REASON", "OBJECT", "MESSAGE"},
		{"10m", "Normal", "ScalingReplicaSet", "apps/Deployment/demo-web/web", "Scaled up"},
		{"5m", "Normal", "Pulled", "Pod/demo-web/web-abc"},
		{"60s", "Warning", "BackOff (x3)", "Pod/demo-web/web-abc", "Back-off restarting"},
	}
	if len(lines) != len(want) {
		t.Fatalf("stdout:\n%s\nwant %d lines", r.stdout, len(want))
	}
	for i, cells := range want {
		for _, c := range cells {
			if !strings.Contains(lines[i], c) {
				t.Errorf("line %d %q lacks %q (newest last)", i, lines[i], c)
			}
		}
	}

	r = runCLI(t, nil, f.against("app", "events", "web", "-o", "json")...)
	var items []appEvent
	if err := json.Unmarshal([]byte(r.stdout), &items); err != nil || len(items) != 3 || items[2].Reason != "BackOff" || items[2].Object != pod {
		t.Errorf("exit %d, stdout %q (%v): want 3 events, the pod's BackOff last", r.code, r.stdout, err)
	}
}

// printCounter is the stdout of a --watch run: it keeps each print (one
// write each), calls onFirst after the first and cancels after the second.
type printCounter struct {
	mu      sync.Mutex
	prints  []string
	onFirst func()
	cancel  context.CancelFunc
}

func (p *printCounter) Write(b []byte) (int, error) {
	p.mu.Lock()
	p.prints = append(p.prints, string(b))
	n := len(p.prints)
	p.mu.Unlock()
	switch n {
	case 1:
		if p.onFirst != nil {
			p.onFirst()
		}
	case 2:
		p.cancel()
	}
	return len(b), nil
}

// runWatch runs args until their second print and returns the prints.
func runWatch(t *testing.T, onFirst func(), args ...string) []string {
	t.Helper()
	deadline, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	ctx, cancel := context.WithCancel(deadline)
	defer cancel()
	out := &printCounter{onFirst: onFirst, cancel: cancel}
	r := runCLIWith(t, ctx, out, args...)
	if r.code != 0 || deadline.Err() != nil {
		t.Fatalf("exit %d, stderr %q, deadline %v: want a clean stop when cancelled", r.code, r.stderr, deadline.Err())
	}
	return out.prints
}

func TestWatchGet(t *testing.T) {
	f := newFakeAPI(t)
	degraded := testApp("gyre", "web")
	degraded.Status.Health = app.HealthState{Status: app.Degraded, Message: "crash loop"}
	// Three reads of the same state, then a change: two prints.
	f.add(testApp("gyre", "web"), testApp("gyre", "web"), testApp("gyre", "web"), degraded)
	prints := runWatch(t, nil, f.against("app", "get", "web", "--watch")...)
	if len(prints) != 2 || !strings.Contains(prints[0], "Health:           Healthy") || !strings.Contains(prints[1], "Health:           Degraded crash loop") {
		t.Fatalf("prints %q: want Healthy, then Degraded", prints)
	}
	var gets int
	for _, req := range f.received() {
		if req.Path == "/api/v1/applications/gyre/web" {
			gets++
		}
	}
	if gets < 4 {
		t.Errorf("%d reads for 2 prints: want the unchanged ones not printed", gets)
	}
}

func TestWatchList(t *testing.T) {
	f := newFakeAPI(t)
	f.add(testApp("gyre", "api"))
	f.add(testApp("gyre", "web"))
	changed := testApp("gyre", "web")
	changed.Status.Sync.Status = app.OutOfSync
	prints := runWatch(t, func() { f.add(changed) }, f.against("app", "list", "-w", "-o", "yaml")...)
	if len(prints) != 2 || strings.Contains(prints[0], "OutOfSync") || !strings.HasPrefix(prints[1], "---\n") || !strings.Contains(prints[1], "syncStatus: OutOfSync") {
		t.Fatalf("prints %q: want the list, then a YAML document with web OutOfSync", prints)
	}
}

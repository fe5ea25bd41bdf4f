package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

var (
	serveFlags   = flag.String("mttp.serve-flags", "", "extra flags for gyre serve, space-separated (e.g. \"--workers 16\")")
	serveEnv     = flag.String("mttp.serve-env", "", "extra environment for gyre serve, space-separated (e.g. \"GOMEMLIMIT=100MiB\", as the chart sets from the memory limit)")
	resync       = flag.Duration("mttp.resync", time.Minute, "gyre serve --resync; the quiet phase lasts until every app was looked at once more")
	cpuProfile   = flag.String("mttp.cpuprofile", "", "write a CPU profile of the agent's first seconds of syncing (-mttp.profile-for) to this file")
	quietProfile = flag.String("mttp.quiet-cpuprofile", "", "write a CPU profile of the agent's first seconds (-mttp.profile-for) of the quiet resync to this file")
	cpCPUProfile = flag.String("mttp.cluster-cpuprofile", "", "write a CPU profile of the control plane (gyre up) over the same seconds to this file")
	heapProfile  = flag.String("mttp.heapprofile", "", "write a heap profile of the agent, taken once all are synced, to this file")
	profileFor   = flag.Duration("mttp.profile-for", 10*time.Second, "how long -mttp.cpuprofile profiles")
	profileAfter = flag.Duration("mttp.profile-after", 0, "start -mttp.cpuprofile and -mttp.cluster-cpuprofile this long after the Applications are created (a late stretch of a big run)")
	shapeName    = flag.String("mttp.shape", "directory", "how each app is declared: directory (YAML files), kustomize (overlays of one base), helm (a chart per app), wide (50 objects)")
	repoCount    = flag.Int("mttp.repos", 1, "spread the apps over this many repositories (app i in repository i mod the count)")
	agentLog     = flag.String("mttp.agent-log", "", "write the agent's log to this file at the end")
	keep         = flag.Bool("mttp.keep", false, "print the data directories and keep them after the run")
)

// systemNamespace is where the benchmark's Applications live.
const systemNamespace = "gyre-system"

// webhookSecret signs the push the benchmark announces.
const webhookSecret = "bench-webhook-secret"

// BenchmarkMTTP is the mean-time-to-production scenario of the package
// documentation, for 100, 1,000 and 5,000 apps. Each size runs on a fresh
// cluster.
func BenchmarkMTTP(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("apps=%d", n), func(b *testing.B) {
			for range b.N {
				runMTTP(b, n)
			}
		})
	}
}

// mttpResult is what one run measured.
type mttpResult struct {
	apps        int
	toSynced    time.Duration
	maxRSS      int64 // the agent's peak
	maxAnon     int64 // the agent's peak of anonymous memory, sampled
	maxWorkers  int64 // its render workers' peak, together
	settledRSS  int64
	settledAnon int64
	requests    map[string]float64 // by verb, to the end of the first sync
	renders     float64
	// agentCPU and clusterCPU are the CPU time the agent (with its render
	// workers) and the control plane used until all were Synced.
	agentCPU, clusterCPU time.Duration
	idle                 idleResult
	push                 time.Duration
	pushRenders          float64
	pushRequests         map[string]float64
}

type idleResult struct {
	window                   time.Duration
	writes, dryRuns, renders float64
	cpu                      time.Duration
}

func runMTTP(b *testing.B, n int) {
	b.StopTimer()
	dataDir := b.TempDir()
	if *keep {
		dataDir, _ = os.MkdirTemp("", "gyre-bench-")
		b.Logf("data in %s", dataDir)
	}

	// The cluster alone, as kind would be.
	upArgs := []string{"up", "--agent=false", "--data-dir", filepath.Join(dataDir, "cluster"), "--api-addr", freeAddr(b), "--nodes", "1", "--examples=false"}
	upPprof := ""
	if *cpCPUProfile != "" {
		upPprof = freeAddr(b)
		upArgs = append(upArgs, "--pprof-addr", upPprof)
	}
	up := startGyre(b, fullBinary, nil, upArgs...)
	kubeconfig := up.waitFor(b, regexp.MustCompile(`kubeconfig\s+(\S+)`), 5*time.Minute)
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 500, 1000
	kube := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)
	ctx := b.Context()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: systemNamespace}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := kube.CoreV1().Secrets(systemNamespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "gyre-webhook"},
		StringData: map[string]string{"github": webhookSecret},
	}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}

	// The repositories, over git's HTTP protocol.
	gitRoot := filepath.Join(dataDir, "git")
	gitServer := httptest.NewServer(testsupport.GitHTTPHandler(b, gitRoot))
	b.Cleanup(gitServer.Close)
	repos := newAppsRepos(b, gitRoot, gitServer.URL, n, *repoCount)

	// The agent, as a process of its own.
	state := filepath.Join(dataDir, "agent")
	if err := os.MkdirAll(state, 0o700); err != nil {
		b.Fatal(err)
	}
	args := []string{"serve", "--kubeconfig", kubeconfig, "--system-namespace", systemNamespace,
		"--secret-namespace", systemNamespace, "--webhook-secret", "gyre-webhook",
		"--admin-token-file", filepath.Join(state, "token"), "--cache-dir", filepath.Join(state, "git"),
		"--addr", "127.0.0.1:0", "--resync", resync.String()}
	pprofAddr := ""
	if *cpuProfile != "" || *heapProfile != "" || *quietProfile != "" {
		pprofAddr = freeAddr(b)
		args = append(args, "--pprof-addr", pprofAddr)
	}
	args = append(args, strings.Fields(*serveFlags)...)
	serve := startGyre(b, agentBinary, strings.Fields(*serveEnv), args...)
	serveURL := "http://" + serve.waitFor(b, regexp.MustCompile(`msg="gyre serving".* addr=(\S+)`), 2*time.Minute)
	pid := serve.cmd.Process.Pid
	if *agentLog != "" {
		b.Cleanup(func() { os.WriteFile(*agentLog, []byte(serve.out.String()), 0o644) })
	}

	apps := watchApps(b, dyn)
	heads := map[string]string{} // app → the commit of its repository
	for _, r := range repos {
		head := r.head(b)
		for _, i := range r.apps {
			heads[appName(i)] = head
		}
	}
	mem := newSampler(pid)
	agentBefore, clusterBefore := mustReadProc(b, pid), mustReadProc(b, up.cmd.Process.Pid)
	start := time.Now()
	if *cpuProfile != "" {
		go fetchCPUProfile(b, pprofAddr, *cpuProfile, *profileAfter)
	}
	if *cpCPUProfile != "" {
		go fetchCPUProfile(b, upPprof, *cpCPUProfile, *profileAfter)
	}
	b.StartTimer()
	createApps(b, dyn, repos)
	apps.waitAll(b, n, heads, 30*time.Minute)
	b.StopTimer()
	res := mttpResult{apps: n, toSynced: time.Since(start)}
	res.maxAnon, res.maxWorkers = mem.stop()
	if *heapProfile != "" {
		fetchProfile(b, "http://"+pprofAddr+"/debug/pprof/heap", *heapProfile)
	}
	agentAfter, clusterAfter := mustReadProc(b, pid), mustReadProc(b, up.cmd.Process.Pid)
	res.agentCPU = agentAfter.cpu - agentBefore.cpu + agentAfter.childCPU - agentBefore.childCPU
	res.clusterCPU = clusterAfter.cpu - clusterBefore.cpu
	m := scrape(b, serveURL)
	res.requests = requestsByVerb(m)
	res.renders, _ = m.Value("gyre_render_duration_seconds", nil)

	// Quiet: nothing changes until the resync has looked at every app
	// once more.
	before, beforeProc := m, mustReadProc(b, pid)
	quietStart := time.Now()
	if *quietProfile != "" {
		go fetchCPUProfile(b, pprofAddr, *quietProfile, 0)
	}
	var after testsupport.Metrics
	// Scraped every 5 s, a busy Prometheus's pace: a scrape lists every
	// app, and scraping 5 times a second cost a tenth of a core.
	testsupport.EventuallyEvery(b, 3**resync+time.Minute, 5*time.Second, func() (bool, string) {
		after = scrape(b, serveURL)
		looks := value(after, "gyre_app_reconcile_duration_seconds") - value(before, "gyre_app_reconcile_duration_seconds")
		return looks >= float64(n), fmt.Sprintf("%.0f of %d apps looked at again", looks, n)
	})
	afterProc := mustReadProc(b, pid)
	res.idle = idleResult{window: time.Since(quietStart), cpu: afterProc.cpu - beforeProc.cpu + afterProc.childCPU - beforeProc.childCPU}
	d := delta(requestsByVerb(before), requestsByVerb(after))
	res.idle.writes, res.idle.dryRuns = writes(d), dryRuns(d)
	res.idle.renders = value(after, "gyre_render_duration_seconds") - value(before, "gyre_render_duration_seconds")
	res.settledRSS, res.settledAnon = afterProc.rss, afterProc.anon

	// A push to one app's folder, announced by a signed webhook.
	const pushed = "app-00000"
	newHead, changed := repos[0].change(b, pushed)
	before = scrape(b, serveURL)
	pushStart := time.Now()
	sendPush(b, serveURL, repos[0].url, changed)
	apps.waitOne(b, pushed, newHead, 5*time.Minute)
	res.push = time.Since(pushStart)
	after = scrape(b, serveURL)
	res.pushRenders = value(after, "gyre_render_duration_seconds") - value(before, "gyre_render_duration_seconds")
	res.pushRequests = delta(requestsByVerb(before), requestsByVerb(after))

	final := mustReadProc(b, pid)
	res.maxRSS = final.hwm
	report(b, res)
}

// fetchCPUProfile writes a CPU profile of the process serving Go's
// profiles at addr, over -mttp.profile-for from after on, to file; none
// when the benchmark ends first.
func fetchCPUProfile(b testing.TB, addr, file string, after time.Duration) {
	select {
	case <-time.After(after):
	case <-b.Context().Done():
		return
	}
	fetchProfile(b, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(profileFor.Seconds())), file)
}

// fetchProfile writes the profile at url to file.
func fetchProfile(b testing.TB, url, file string) {
	resp, err := http.Get(url)
	if err != nil {
		b.Logf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		b.Logf("profile: %v", err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		b.Logf("profile: %v", err)
	}
}

func mustReadProc(b testing.TB, pid int) procStat {
	b.Helper()
	st, err := readProc(pid)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// appsRepo is a generated repository: apps/app-NNNNN/ per application,
// in the shape -mttp.shape names.
type appsRepo struct {
	dir   string
	url   string // where the benchmark's git server serves it
	apps  []int  // the numbers of the apps it holds (appName)
	shape shape
}

// newAppsRepos generates count repositories under root, served at
// baseURL, that hold n apps between them: app i in repository i mod
// count. One repository is apps.git, several apps-NNN.git.
func newAppsRepos(b testing.TB, root, baseURL string, n, count int) []*appsRepo {
	b.Helper()
	if count < 1 || count > n {
		b.Fatalf("-mttp.repos %d: want 1 to %d", count, n)
	}
	repos := make([]*appsRepo, count)
	for j := range repos {
		name := "apps.git"
		if count > 1 {
			name = fmt.Sprintf("apps-%03d.git", j)
		}
		var apps []int
		for i := j; i < n; i += count {
			apps = append(apps, i)
		}
		repos[j] = newAppsRepo(b, filepath.Join(root, name), apps)
		repos[j].url = baseURL + "/" + name
	}
	return repos
}

// newAppsRepo generates the repository in dir with the given apps.
func newAppsRepo(b testing.TB, dir string, apps []int) *appsRepo {
	b.Helper()
	r := &appsRepo{dir: dir, apps: apps, shape: shapes[*shapeName]}
	if r.shape.app == nil {
		b.Fatalf("-mttp.shape %q: want one of directory, kustomize, helm, wide", *shapeName)
	}
	r.write(b, r.shape.shared)
	for _, i := range apps {
		r.write(b, r.shape.app(appName(i), 0))
	}
	r.git(b, "init", "-q", "-b", "main")
	r.git(b, "add", "-A")
	r.git(b, "commit", "-q", "-m", fmt.Sprintf("%d apps", len(apps)))
	// Packed, as git hosts keep them: git upload-pack reading thousands of
	// loose objects took 3 s of the push's fetch at 1,000 apps.
	r.git(b, "gc", "-q")
	return r
}

// write writes files (repository path → content).
func (r *appsRepo) write(b testing.TB, files map[string]string) {
	b.Helper()
	for file, content := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(file))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func appName(i int) string { return fmt.Sprintf("app-%05d", i) }

// A shape is how the repository declares each application: a ServiceAccount,
// a Service, a Deployment scaled to 0 and an Ingress, named after the app
// (and, in the wide shape, configMapsPerWideApp ConfigMaps more).
type shape struct {
	// shared are files every app uses (a Kustomize base).
	shared map[string]string
	// app returns one app's files; generation shows in its Deployment, so
	// that a push of generation 1 changes one object.
	app func(name string, generation int) map[string]string
}

var shapes = map[string]shape{
	// directory: plain YAML files in the app's folder.
	"directory": {app: directoryApp},
	// kustomize: one base, and an overlay per app that prefixes the names
	// and marks the generation.
	"kustomize": {
		shared: map[string]string{
			"base/kustomization.yaml":  "resources: [serviceaccount.yaml, service.yaml, deployment.yaml, ingress.yaml]\n",
			"base/serviceaccount.yaml": serviceAccountYAML("web"),
			"base/service.yaml":        serviceYAML("web"),
			"base/deployment.yaml":     deploymentYAML("web", "0"),
			"base/ingress.yaml":        ingressYAML("web"),
		},
		app: func(name string, generation int) map[string]string {
			return map[string]string{"apps/" + name + "/kustomization.yaml": fmt.Sprintf(
				"resources: [../../base]\nnamePrefix: %s-\npatches:\n- target: {kind: Deployment}\n  patch: |\n"+
					"    [{\"op\": \"replace\", \"path\": \"/metadata/annotations/bench.gyre.dev~1generation\", \"value\": \"%d\"}]\n", name, generation)}
		},
	},
	// wide: the directory shape and 46 ConfigMaps more, 50 objects.
	"wide": {app: func(name string, generation int) map[string]string {
		files := directoryApp(name, generation)
		var cms strings.Builder
		for i := range configMapsPerWideApp {
			fmt.Fprintf(&cms, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-%02d\ndata:\n  index: \"%d\"\n", name, i, i)
		}
		files["apps/"+name+"/configmaps.yaml"] = cms.String()
		return files
	}},
	// helm: a small chart per app, its generation a value.
	"helm": {app: func(name string, generation int) map[string]string {
		dir := "apps/" + name + "/"
		return map[string]string{
			dir + "Chart.yaml":                    fmt.Sprintf("apiVersion: v2\nname: %s\nversion: 1.0.0\n", name),
			dir + "values.yaml":                   fmt.Sprintf("generation: %d\nimage: registry.example.com/web:1.0.0\n", generation),
			dir + "templates/serviceaccount.yaml": serviceAccountYAML("{{ .Release.Name }}"),
			dir + "templates/service.yaml":        serviceYAML("{{ .Release.Name }}"),
			dir + "templates/deployment.yaml":     deploymentYAML("{{ .Release.Name }}", "{{ .Values.generation }}"),
			dir + "templates/ingress.yaml":        ingressYAML("{{ .Release.Name }}"),
		}
	}},
}

// directoryApp is an app of the directory shape: plain YAML files in the
// app's folder.
func directoryApp(name string, generation int) map[string]string {
	dir := "apps/" + name + "/"
	return map[string]string{
		dir + "serviceaccount.yaml": serviceAccountYAML(name),
		dir + "service.yaml":        serviceYAML(name),
		dir + "deployment.yaml":     deploymentYAML(name, fmt.Sprint(generation)),
		dir + "ingress.yaml":        ingressYAML(name),
	}
}

// configMapsPerWideApp makes the wide shape's apps 50 objects each.
const configMapsPerWideApp = 46

func serviceAccountYAML(name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: %s\n", name)
}

func serviceYAML(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector: {app: %[1]s}
  ports:
  - port: 80
    targetPort: 8080
`, name)
}

func deploymentYAML(name, generation string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  annotations:
    bench.gyre.dev/generation: "%[2]s"
spec:
  replicas: 0
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      serviceAccountName: %[1]s
      containers:
      - name: web
        image: registry.example.com/web:1.0.0
        ports:
        - containerPort: 8080
`, name, generation)
}

func ingressYAML(name string) string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: %[1]s
spec:
  rules:
  - host: %[1]s.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: %[1]s
            port: {number: 80}
`, name)
}

func (r *appsRepo) git(b testing.TB, args ...string) string {
	b.Helper()
	return testsupport.GitCLI(b, r.dir, args...)
}

func (r *appsRepo) head(b testing.TB) string { return r.git(b, "rev-parse", "HEAD") }

// change moves name to generation 1, commits it and returns the new head
// and the files it changed.
func (r *appsRepo) change(b testing.TB, name string) (string, []string) {
	b.Helper()
	files := r.shape.app(name, 1)
	var changed []string
	for file, content := range files {
		if old, err := os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(file))); err == nil && string(old) == content {
			continue
		}
		changed = append(changed, file)
	}
	r.write(b, files)
	r.git(b, "commit", "-q", "-am", "change "+name)
	return r.head(b), changed
}

// createApps creates an automated Application for every app folder of
// repos, each deploying to a namespace of its own, from 16 goroutines at
// once.
func createApps(b testing.TB, dyn dynamic.Interface, repos []*appsRepo) {
	b.Helper()
	client := dyn.Resource(app.GroupVersionResource()).Namespace(systemNamespace)
	type created struct{ name, repoURL string }
	names := make(chan created)
	errs := make(chan error, 16)
	var wg gosync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for c := range names {
				name := c.name
				u := &unstructured.Unstructured{Object: map[string]any{
					"apiVersion": app.SchemeGroupVersion().String(),
					"kind":       app.ApplicationKind,
					"metadata":   map[string]any{"name": name, "namespace": systemNamespace},
					"spec": map[string]any{
						"source":      map[string]any{"repoURL": c.repoURL, "targetRevision": "main", "path": "apps/" + name},
						"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": name},
						"syncPolicy": map[string]any{
							"automated":   map[string]any{"prune": true, "selfHeal": true},
							"syncOptions": []any{"CreateNamespace=true"},
						},
					},
				}}
				if _, err := client.Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
					select {
					case errs <- fmt.Errorf("create %s: %w", name, err):
					default:
					}
				}
			}
		})
	}
	for _, r := range repos {
		for _, i := range r.apps {
			names <- created{appName(i), r.url}
		}
	}
	close(names)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// appWatch follows the Applications and counts those Synced and Healthy
// at a revision.
type appWatch struct {
	mu    gosync.Mutex
	state map[string]appState
}

type appState struct{ sync, health, revision, message string }

func watchApps(b testing.TB, dyn dynamic.Interface) *appWatch {
	b.Helper()
	w := &appWatch{state: map[string]appState{}}
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, systemNamespace, nil)
	inf := f.ForResource(app.GroupVersionResource()).Informer()
	set := func(obj any) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		var s appState
		s.sync, _, _ = unstructured.NestedString(u.Object, "status", "sync", "status")
		s.health, _, _ = unstructured.NestedString(u.Object, "status", "health", "status")
		s.revision, _, _ = unstructured.NestedString(u.Object, "status", "sync", "revision")
		if conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions"); len(conds) > 0 {
			s.message = fmt.Sprint(conds[0])
		}
		w.mu.Lock()
		w.state[u.GetName()] = s
		w.mu.Unlock()
	}
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: set, UpdateFunc: func(_, obj any) { set(obj) }})
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	return w
}

func (s appState) done(revision string) bool {
	return s.sync == string(app.Synced) && s.health == string(app.Healthy) && s.revision == revision
}

// waitAll waits until n Applications are Synced and Healthy, each at its
// revision in revisions.
func (w *appWatch) waitAll(b testing.TB, n int, revisions map[string]string, timeout time.Duration) {
	b.Helper()
	testsupport.Eventually(b, timeout, func() (bool, string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		done := 0
		var example string
		for name, s := range w.state {
			if s.done(revisions[name]) {
				done++
			} else if example == "" || name < example {
				example = name
			}
		}
		if done == n {
			return true, ""
		}
		return false, fmt.Sprintf("%d of %d Applications Synced and Healthy; %s: %+v", done, n, example, w.state[example])
	})
}

// waitOne waits until the Application name is Synced and Healthy at
// revision.
func (w *appWatch) waitOne(b testing.TB, name, revision string, timeout time.Duration) {
	b.Helper()
	// Every few milliseconds: the check reads this process's copy, and a
	// push's latency is a few hundred of them.
	testsupport.EventuallyEvery(b, timeout, 2*time.Millisecond, func() (bool, string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		s := w.state[name]
		return s.done(revision), fmt.Sprintf("%s: %+v", name, s)
	})
}

// sendPush posts a GitHub push event for main that lists the changed
// files, signed with the webhook secret.
func sendPush(b testing.TB, serveURL, repoURL string, changed []string) {
	b.Helper()
	body, _ := json.Marshal(map[string]any{
		"ref":        "refs/heads/main",
		"repository": map[string]any{"clone_url": repoURL, "html_url": strings.TrimSuffix(repoURL, ".git")},
		"commits":    []any{map[string]any{"added": []string{}, "modified": changed, "removed": []string{}}},
	})
	mac := hmac.New(sha256.New, []byte(webhookSecret))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, serveURL+"/api/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", fmt.Sprint(time.Now().UnixNano()))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b.Fatalf("webhook: %s", resp.Status)
	}
}

func scrape(b testing.TB, serveURL string) testsupport.Metrics {
	b.Helper()
	m, err := testsupport.ScrapeMetrics(serveURL + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func value(m testsupport.Metrics, name string) float64 {
	v, _ := m.Value(name, nil)
	return v
}

// requestsByVerb sums gyre_kube_request_total by verb.
func requestsByVerb(m testsupport.Metrics) map[string]float64 {
	out := map[string]float64{}
	f := m["gyre_kube_request_total"]
	if f == nil {
		return out
	}
	for _, s := range f.Metric {
		for _, l := range s.Label {
			if l.GetName() == "verb" {
				out[l.GetValue()] += s.Counter.GetValue()
			}
		}
	}
	return out
}

func delta(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for verb, v := range after {
		if d := v - before[verb]; d != 0 {
			out[verb] = d
		}
	}
	return out
}

// writes counts the requests that change the cluster (dry runs excluded).
func writes(byVerb map[string]float64) float64 {
	var n float64
	for verb, v := range byVerb {
		switch verb {
		case "create", "update", "patch", "apply", "delete", "deletecollection":
			n += v
		}
	}
	return n
}

func dryRuns(byVerb map[string]float64) float64 {
	var n float64
	for verb, v := range byVerb {
		if strings.HasSuffix(verb, "-dry-run") {
			n += v
		}
	}
	return n
}

func verbs(byVerb map[string]float64) string {
	keys := make([]string, 0, len(byVerb))
	for k := range byVerb {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, byVerb[k]))
	}
	return strings.Join(parts, ", ")
}

const mib = 1 << 20

// report prints the run's figures and reports the headline ones to the
// benchmark framework.
func report(b *testing.B, r mttpResult) {
	b.ReportMetric(r.toSynced.Seconds(), "s-to-synced")
	b.ReportMetric(float64(r.toSynced.Milliseconds())/float64(r.apps), "ms/app")
	b.ReportMetric(float64(r.maxRSS)/mib, "MiB-max-rss")
	b.ReportMetric(float64(r.settledRSS)/mib, "MiB-settled-rss")
	b.ReportMetric(float64(r.push.Milliseconds()), "ms-push")
	b.ReportMetric(0, "ns/op") // the figures above say it; ns/op of one run says nothing more
	fmt.Printf(`
MTTP apps=%d, %s (%s)
  all Synced+Healthy   %.1f s (%.1f ms per app)
  agent RSS            max %.0f MiB, settled %.0f MiB; render workers max %.0f MiB
  of which anonymous   max %.0f MiB, settled %.0f MiB (the rest is the program's file)
  CPU used             agent %.1f s, control plane %.1f s
  API requests         %.0f: %s
  renders              %.0f; dry runs %.0f
  quiet %-6s         writes %.0f, dry runs %.0f, renders %.0f, CPU %.1f%% of a core
  push of one app      %d ms to Synced; renders %.0f; requests %s
`, r.apps, *shapeName, machine(), r.toSynced.Seconds(), float64(r.toSynced.Milliseconds())/float64(r.apps),
		float64(r.maxRSS)/mib, float64(r.settledRSS)/mib, float64(r.maxWorkers)/mib, float64(r.maxAnon)/mib, float64(r.settledAnon)/mib,
		r.agentCPU.Seconds(), r.clusterCPU.Seconds(), sum(r.requests), verbs(r.requests), r.renders, dryRuns(r.requests),
		r.idle.window.Round(time.Second), r.idle.writes, r.idle.dryRuns, r.idle.renders, 100*r.idle.cpu.Seconds()/r.idle.window.Seconds(),
		r.push.Milliseconds(), r.pushRenders, verbs(r.pushRequests))
}

func sum(m map[string]float64) float64 {
	var n float64
	for _, v := range m {
		n += v
	}
	return n
}

// machine describes the machine: cores and model.
func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if name, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d cores, %s", runtime.NumCPU(), model)
}

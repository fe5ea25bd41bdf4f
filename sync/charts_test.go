package sync

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/helmrepo/helmrepotest"
	"github.com/gyre-cd/gyre/helmrepo/oci/ocitest"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	"github.com/gyre-cd/gyre/source"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// chartPollInterval is how long the shared chart cache reuses an index:
// short, so that TestChartFromHelmRepository sees a new version by polling
// alone, without a webhook.
const chartPollInterval = 2 * time.Second

// chartCredentials is the credentials table of the shared chart cache:
// what tests register, by repository type and URL prefix, the longest
// prefix winning. A repository no test registered is refused before any
// request is made, so a test that names an address it does not serve (the
// tripwire of TestHostileRepositories) is never contacted by the cache.
type chartCredentials struct {
	mu      gosync.Mutex
	entries map[credentialKey]source.Credentials
}

type credentialKey struct {
	typ    source.RepoType
	prefix string
}

// register makes lookup answer creds for the repositories of type typ whose
// URL starts with prefix, replacing what was registered for them, until the
// test ends. Registering again swaps the credentials live.
func (c *chartCredentials) register(t testing.TB, typ source.RepoType, prefix string, creds source.Credentials) {
	k := credentialKey{typ: typ, prefix: prefix}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[credentialKey]source.Credentials{}
	}
	c.entries[k] = creds
	c.mu.Unlock()
	t.Cleanup(func() {
		c.mu.Lock()
		delete(c.entries, k)
		c.mu.Unlock()
	})
}

// lookup is the chart cache's Options.Credentials.
func (c *chartCredentials) lookup(typ source.RepoType, repoURL string) (source.Credentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	best, found := "", false
	var creds source.Credentials
	for k, v := range c.entries {
		if k.typ == typ && strings.HasPrefix(repoURL, k.prefix) && (!found || len(k.prefix) > len(best)) {
			best, found, creds = k.prefix, true, v
		}
	}
	if !found {
		return source.Credentials{}, fmt.Errorf("no test registered %s repository %s", typ, repoURL)
	}
	return creds, nil
}

// demoChart returns the files of the chart "demo": a ConfigMap demo-config
// showing where its values came from (values.yaml, values-prod.yaml, the
// Application) and which template rendered it, and a Deployment demo
// scaled to .Values.replicas (0).
func demoChart(template string) map[string]string {
	return map[string]string{
		"values.yaml":      "greeting: chart-default\nfromFile: chart-default\nextra: chart-default\nreplicas: 0\n",
		"values-prod.yaml": "fromFile: values-prod\n",
		"templates/config.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: demo-config
data:
  greeting: {{ .Values.greeting | quote }}
  fromFile: {{ .Values.fromFile | quote }}
  extra: {{ .Values.extra | quote }}
  chartVersion: {{ .Chart.Version | quote }}
  template: ` + template + "\n",
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: demo}
  template:
    metadata:
      labels: {app: demo}
    spec:
      containers:
      - name: main
        image: nginx:1.27
`,
	}
}

// newChartApp creates an automated Application in ns whose one source is
// src.
func newChartApp(t testing.TB, ns, name string, src app.Source) types.NamespacedName {
	t.Helper()
	return newApp(t, ns, name, &repo{}, "", func(a *app.Application) { a.Spec.Source = src })
}

// configMapData returns the data of ConfigMap ns/name, nil when it does
// not exist.
func configMapData(t testing.TB, ns, name string) map[string]string {
	t.Helper()
	cm, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data == nil {
		return map[string]string{}
	}
	return cm.Data
}

// wantData fails t unless ConfigMap ns/name holds every key of want with
// its value.
func wantData(t testing.TB, ns, name string, want map[string]string) {
	t.Helper()
	got := configMapData(t, ns, name)
	if got == nil {
		t.Fatalf("ConfigMap %s/%s does not exist", ns, name)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ConfigMap %s/%s: %s = %q, want %q (data %v)", ns, name, k, got[k], v, got)
		}
	}
}

// namespaceObjects lists the ConfigMaps (but kube-root-ca.crt) and
// Deployments in ns, as "ConfigMap/name" and "Deployment/name", sorted.
func namespaceObjects(t testing.TB, ns string) []string {
	t.Helper()
	var out []string
	cms, err := cluster.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		if cm.Name != "kube-root-ca.crt" {
			out = append(out, "ConfigMap/"+cm.Name)
		}
	}
	ds, err := cluster.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds.Items {
		out = append(out, "Deployment/"+d.Name)
	}
	slices.Sort(out)
	return out
}

// assertNoSecret fails t if secret appears in an Application or an Event of
// the namespaces, or in what the chart cache logged.
func assertNoSecret(t testing.TB, secret string, namespaces ...string) {
	t.Helper()
	for _, ns := range namespaces {
		apps, err := cluster.Dynamic.Resource(app.GroupVersionResource()).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(apps.Items) == 0 {
			t.Fatalf("no Applications in %s to look at", ns)
		}
		data, err := json.Marshal(apps)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("an Application in %s holds the password", ns)
		}
		events, err := cluster.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if data, err = json.Marshal(events); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("an Event in %s holds the password", ns)
		}
	}
	log := chartLog.String()
	if !strings.Contains(log, "helm repository request") {
		t.Fatal("the chart cache logged no request: is its logger wired to chartLog?")
	}
	if strings.Contains(log, secret) {
		t.Error("the chart cache logged the password")
	}
}

// TestChartFromHelmRepository deploys a chart from a Helm repository served
// over TLS with basic auth: refused with a clear condition until the
// credentials are registered, then synced with values from the chart's own
// values file, inline values and parameters, at "<version>@<digest>";
// upgraded within the targetRevision constraint by a poll and by a
// refresh, never past it; rolled back to the first version recorded in
// history. No status, event or log holds the password.
func TestChartFromHelmRepository(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	const password = "helm-pw-9c41e7d2"
	srv := helmrepotest.NewServer(t, helmrepotest.Options{Username: "gyre", Password: password, TLS: true})
	srv.Add("demo", "1.0.0", demoChart("v1"))
	// The repository is trusted but no account is registered: it refuses.
	chartCreds.register(t, source.RepoTypeHelm, srv.URL, source.Credentials{CAData: srv.CAPEM()})
	key := newChartApp(t, ns, "demo", app.Source{RepoURL: srv.URL, Chart: "demo", TargetRevision: "1.*", Helm: &app.HelmSource{
		ValueFiles: []string{"values-prod.yaml"},
		Values:     "greeting: from-values\nextra: from-values\n",
		Parameters: []app.HelmParameter{{Name: "extra", Value: "from-parameter"}},
	}})
	a := hasCondition(t, key, app.ConditionComparisonError, "authentication failed", "401")
	if a.Status.Sync.Status == app.Synced || len(a.Status.History) > 0 {
		t.Fatalf("a refused chart is reported synced: %+v", a.Status.Sync)
	}
	if objs := namespaceObjects(t, ns); len(objs) > 0 {
		t.Fatalf("a chart that could not be fetched applied %v", objs)
	}

	// The account is registered; the next look uses it, no restart.
	chartCreds.register(t, source.RepoTypeHelm, srv.URL, source.Credentials{Username: "gyre", Password: password, CAData: srv.CAPEM()})
	rev1 := "1.0.0@" + srv.Digest("demo", "1.0.0")
	if !strings.HasPrefix(rev1, "1.0.0@sha256:") {
		t.Fatalf("server digest %q", rev1)
	}
	a = waitApp(t, key, time.Minute, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == rev1 && a.Status.Health.Status == app.Healthy, "not synced at " + rev1
	})
	if c := condition(a, app.ConditionComparisonError); c != "" {
		t.Errorf("ComparisonError stays after the sync: %s", c)
	}
	if a.Status.SourceType != app.SourceHelm {
		t.Errorf("source type %q, want Helm", a.Status.SourceType)
	}
	if len(a.Status.History) != 1 || a.Status.History[0].Revision != rev1 || a.Status.History[0].Source.Chart != "demo" || a.Status.History[0].Source.RepoURL != srv.URL {
		t.Fatalf("history %+v, want one entry of chart demo at %s", a.Status.History, rev1)
	}
	wantData(t, ns, "demo-config", map[string]string{
		"greeting":     "from-values",    // inline values over values.yaml
		"fromFile":     "values-prod",    // the value file inside the chart
		"extra":        "from-parameter", // parameters over inline values
		"chartVersion": "1.0.0",
		"template":     "v1",
	})
	if r := getDeployment(t, ns, "demo").Spec.Replicas; r == nil || *r != 0 {
		t.Errorf("Deployment replicas %v, want 0 from values.yaml", r)
	}

	// A new version within the constraint is found by polling.
	srv.Add("demo", "1.1.0", demoChart("v2"))
	rev2 := "1.1.0@" + srv.Digest("demo", "1.1.0")
	syncedAt(t, key, rev2)
	wantData(t, ns, "demo-config", map[string]string{"chartVersion": "1.1.0", "template": "v2", "fromFile": "values-prod"})

	// 2.0.0 is outside "1.*": a refresh finds 1.2.0, published with it,
	// and syncs that.
	srv.Add("demo", "2.0.0", demoChart("v3"))
	srv.Add("demo", "1.2.0", demoChart("v1.2"))
	if keys := reconciler.RefreshRepository(srv.URL, ""); !slices.Contains(keys, key) {
		t.Errorf("RefreshRepository(%s) queued %v, not %s", srv.URL, keys, key)
	}
	rev3 := "1.2.0@" + srv.Digest("demo", "1.2.0")
	a = syncedAt(t, key, rev3)
	wantData(t, ns, "demo-config", map[string]string{"chartVersion": "1.2.0", "template": "v1.2"})
	for _, h := range a.Status.History {
		if strings.HasPrefix(h.Revision, "2.") {
			t.Errorf("2.0.0 was synced though targetRevision is 1.*: %+v", h)
		}
	}

	// Rollback to the first entry deploys 1.0.0 again, digest checked.
	a = operate(t, key, app.Operation{Rollback: &app.RollbackOperation{ID: a.Status.History[0].ID}})
	if got := a.Status.OperationState.SyncResult.Revision; got != rev1 {
		t.Errorf("rollback synced %s, want %s", got, rev1)
	}
	wantData(t, ns, "demo-config", map[string]string{"chartVersion": "1.0.0", "template": "v1", "extra": "from-parameter"})
	if last := a.Status.History[len(a.Status.History)-1]; last.Revision != rev1 {
		t.Errorf("rollback recorded %s in history, want %s", last.Revision, rev1)
	}
	assertNoSecret(t, password, ns)
}

// TestChartFromOCIRegistry deploys charts from an OCI registry with TLS
// and basic auth: a chart named beside the registry URL, resolved from a
// semver range to the pushed manifest's digest, and Argo CD's form, a URL
// that names the chart.
func TestChartFromOCIRegistry(t *testing.T) {
	t.Parallel()
	ns, argo := cluster.Namespace(t), cluster.Namespace(t)
	const password = "oci-pw-3b8d15aa"
	reg := ocitest.Start(t, ocitest.Options{Username: "gyre", Password: password})
	d1 := reg.Push(t, "charts", "demo", "0.1.0", demoChart("v1"))
	d2 := reg.Push(t, "charts", "demo", "0.2.0", demoChart("v2"))
	chartCreds.register(t, source.RepoTypeOCI, reg.RepoURL(""), reg.Credentials())

	key := newChartApp(t, ns, "oci", app.Source{RepoURL: reg.RepoURL("charts"), Chart: "demo", TargetRevision: "~0.1"})
	a := syncedAt(t, key, "0.1.0@"+d1)
	if a.Status.SourceType != app.SourceHelm {
		t.Errorf("source type %q, want Helm", a.Status.SourceType)
	}
	wantData(t, ns, "demo-config", map[string]string{"chartVersion": "0.1.0", "template": "v1", "greeting": "chart-default"})

	argoKey := newChartApp(t, argo, "oci-argo", app.Source{RepoURL: reg.RepoURL("charts/demo"), TargetRevision: "0.2.0"})
	syncedAt(t, argoKey, "0.2.0@"+d2)
	wantData(t, argo, "demo-config", map[string]string{"chartVersion": "0.2.0", "template": "v2"})
	assertNoSecret(t, password, ns, argo)
}

// tarGz returns a gzipped tar of files, in the order given, written as is:
// names are not cleaned.
func tarGz(t testing.TB, files [][2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f[0], Mode: 0o644, Size: int64(len(f[1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBadChartSources runs one app per way a chart source can be wrong, all
// at once, beside a healthy git app and a healthy chart app from the same
// repository as most of the bad ones. Each bad app gets a ComparisonError
// that names the cause and applies nothing (every chart that could render
// declares a canary ConfigMap); the healthy apps keep syncing new
// revisions meanwhile.
func TestBadChartSources(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	canary := func(name string) map[string]string {
		return map[string]string{"templates/canary.yaml": configMap("canary-"+name, "must never be written")}
	}
	srv := helmrepotest.NewServer(t, helmrepotest.Options{})
	chartCreds.register(t, source.RepoTypeHelm, srv.URL, source.Credentials{})
	srv.Add("fine", "1.0.0", map[string]string{"templates/c.yaml": configMap("fine", "1")})
	srv.Add("demo", "1.0.0", canary("demo"))
	srv.Add("mismatch", "1.0.0", canary("mismatch"))
	srv.SetIndexDigest("mismatch", "1.0.0", strings.Repeat("ab", 32))
	srv.AddArchive("notgzip", "1.0.0", []byte("apiVersion: v2\nname: notgzip\n"))
	srv.AddArchive("escape", "1.0.0", tarGz(t, [][2]string{
		{"escape/Chart.yaml", "apiVersion: v2\nname: escape\nversion: 1.0.0\n"},
		{"escape/templates/canary.yaml", configMap("canary-escape", "must never be written")},
		{"escape/../../../evil.yaml", configMap("canary-evil", "must never be written")},
	}))

	const wrongPassword = "wrong-pw-51c0d9e3"
	auth := helmrepotest.NewServer(t, helmrepotest.Options{Username: "gyre", Password: "right-pw-0a7e66f1"})
	auth.Add("demo", "1.0.0", canary("auth"))
	chartCreds.register(t, source.RepoTypeHelm, auth.URL, source.Credentials{Username: "gyre", Password: wrongPassword})

	huge := helmrepotest.NewServer(t, helmrepotest.Options{})
	huge.ServeHugeIndex(100 << 20)
	chartCreds.register(t, source.RepoTypeHelm, huge.URL, source.Credentials{})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	chartCreds.register(t, source.RepoTypeHelm, closed, source.Credentials{})

	tests := []struct {
		name string
		src  app.Source
		want []string // in the ComparisonError
	}{
		{"unknown-chart", app.Source{RepoURL: srv.URL, Chart: "nosuch", TargetRevision: "1.0.0"}, []string{`"nosuch"`, "chart not found"}},
		{"no-version", app.Source{RepoURL: srv.URL, Chart: "demo", TargetRevision: ">=5"}, []string{`"demo"`, "no chart version matches", ">=5"}},
		{"digest-mismatch", app.Source{RepoURL: srv.URL, Chart: "mismatch", TargetRevision: "1.0.0"}, []string{`"mismatch"`, "digest mismatch"}},
		{"unauthorized", app.Source{RepoURL: auth.URL, Chart: "demo", TargetRevision: "1.0.0"}, []string{"authentication failed", "401"}},
		{"unreachable", app.Source{RepoURL: closed, Chart: "demo", TargetRevision: "1.0.0"}, []string{"repository unreachable", ln.Addr().String()}},
		{"huge-index", app.Source{RepoURL: huge.URL, Chart: "demo", TargetRevision: "1.0.0"}, []string{"index.yaml", "limit", "too large"}},
		{"not-gzip", app.Source{RepoURL: srv.URL, Chart: "notgzip", TargetRevision: "1.0.0"}, []string{`"notgzip"`, "not a gzip file"}},
		{"dotdot", app.Source{RepoURL: srv.URL, Chart: "escape", TargetRevision: "1.0.0"}, []string{`"escape"`, "evil.yaml", "bad chart archive"}},
	}

	r := newRepo(t)
	sha := r.commit(map[string]*string{"good/c.yaml": s(configMap("good", "1"))})
	good := newApp(t, ns, "good", r, "good", nil)
	fine := newChartApp(t, ns, "fine", app.Source{RepoURL: srv.URL, Chart: "fine", TargetRevision: "1.x"})
	for _, tt := range tests {
		newChartApp(t, ns, tt.name, tt.src)
	}
	syncedAt(t, good, sha)
	syncedAt(t, fine, "1.0.0@"+srv.Digest("fine", "1.0.0"))

	for _, tt := range tests {
		a := hasCondition(t, types.NamespacedName{Namespace: ns, Name: tt.name}, app.ConditionComparisonError, tt.want...)
		t.Logf("%s: %s", tt.name, condition(a, app.ConditionComparisonError))
		if a.Status.Sync.Status == app.Synced || len(a.Status.History) > 0 || a.Status.OperationState != nil {
			t.Errorf("%s: a bad chart source was synced or tried: sync %s, history %d, operation %s", tt.name, a.Status.Sync.Status, len(a.Status.History), opSummary(a))
		}
	}

	// The healthy apps still follow their sources.
	next := r.commit(map[string]*string{"good/c.yaml": s(configMap("good", "2"))})
	r.push()
	srv.Add("fine", "1.1.0", map[string]string{"templates/c.yaml": configMap("fine", "2")})
	reconciler.RefreshRepository(srv.URL, "")
	syncedAt(t, good, next)
	syncedAt(t, fine, "1.1.0@"+srv.Digest("fine", "1.1.0"))
	clustertest.Eventually(t, 10*time.Second, func() (bool, string) {
		return configMapValue(t, ns, "good") == "2" && configMapValue(t, ns, "fine") == "2", "healthy apps' ConfigMaps not updated"
	})

	if got, want := namespaceObjects(t, ns), []string{"ConfigMap/fine", "ConfigMap/good"}; !slices.Equal(got, want) {
		t.Errorf("objects in the namespace %v, want only the healthy apps' %v", got, want)
	}
	assertNoSecret(t, wrongPassword, ns)
}

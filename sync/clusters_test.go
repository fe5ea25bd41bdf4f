package sync

import (
	"encoding/json"
	"os"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	clusters "github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/localcluster"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The workload clusters: two more embedded control planes in this process,
// started by the first test that needs them and registered with the
// shared Reconciler as cluster Secrets "wl-1" and "wl-2" in gyre's
// namespace, which the registry watches.
var (
	workloadOnce    gosync.Once
	workload        []*clustertest.Cluster
	workloadErr     error
	workloadDataDir string
)

// workloadClusters starts the workload clusters once and registers them.
func workloadClusters(t testing.TB) []*clustertest.Cluster {
	t.Helper()
	workloadOnce.Do(func() {
		if workloadDataDir, workloadErr = os.MkdirTemp("", "gyre-sync-workload-"); workloadErr != nil {
			return
		}
		for range 2 {
			dir, err := os.MkdirTemp(workloadDataDir, "cluster-")
			if err != nil {
				workloadErr = err
				return
			}
			c, err := clustertest.Start(localcluster.Options{DataDir: dir, Nodes: 1})
			if err != nil {
				workloadErr = err
				return
			}
			workload = append(workload, c)
		}
	})
	if workloadErr != nil {
		t.Fatalf("workload clusters: %v", workloadErr)
	}
	for i, c := range workload {
		putClusterSecret(t, clusterSecret(t, workloadName(i), c, nil))
	}
	return workload
}

func workloadName(i int) string { return "wl-" + string(rune('1'+i)) }

// stopWorkloadClusters stops what workloadClusters started.
func stopWorkloadClusters() {
	for _, c := range workload {
		c.Stop()
	}
	if workloadDataDir != "" {
		os.RemoveAll(workloadDataDir)
	}
}

// clusterSecret is the cluster Secret of c under name, as Argo CD writes
// it; edit may change its config before it is encoded.
func clusterSecret(t testing.TB, name string, c *clustertest.Cluster, edit func(cfg map[string]any)) *corev1.Secret {
	t.Helper()
	rc := c.RESTConfig()
	cfg := map[string]any{"tlsClientConfig": map[string]any{"caData": rc.CAData, "certData": rc.CertData, "keyData": rc.KeyData}}
	if edit != nil {
		edit(cfg)
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: reconciler.opts.SystemNamespace, Labels: map[string]string{clusters.ArgoLabelSecretType: clusters.SecretTypeCluster}},
		Data:       map[string][]byte{clusters.KeyName: []byte(name), clusters.KeyServer: []byte(c.URL()), clusters.KeyConfig: data},
	}
}

// putClusterSecret creates or replaces a cluster Secret and waits until
// the registry has read it.
func putClusterSecret(t testing.TB, s *corev1.Secret) {
	t.Helper()
	_, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.Namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	secrets := cluster.Client.CoreV1().Secrets(s.Namespace)
	cur, err := secrets.Get(ctx, s.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		cur, err = secrets.Create(ctx, s, metav1.CreateOptions{})
	case err == nil:
		s.ResourceVersion = cur.ResourceVersion
		cur, err = secrets.Update(ctx, s, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 10*time.Second, func() (bool, string) {
		for _, c := range clusterRegistry.List() {
			if c.Secret.Name == s.Name && c.Version == cur.ResourceVersion {
				return true, ""
			}
		}
		_, invalid := clusterRegistry.Invalid()[s.Name]
		return invalid, "the registry has not read cluster Secret " + s.Name
	})
}

// remoteNamespace creates a namespace in a workload cluster for the test
// (ConfigMaps need no ServiceAccount, so it does not wait for one).
func remoteNamespace(t testing.TB, c *clustertest.Cluster) string {
	t.Helper()
	name := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	if len(name) > 50 {
		name = name[:50]
	}
	ns, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}) })
	return ns.Name
}

// remoteConfigMap reads a ConfigMap's "value" in c; "" when it is absent.
func remoteConfigMap(t testing.TB, c *clustertest.Cluster, ns, name string) (string, bool) {
	t.Helper()
	cm, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data["value"], true
}

// waitCondition waits until the Application has a condition of type ct
// whose message contains want.
func waitCondition(t testing.TB, key types.NamespacedName, ct app.ConditionType, want string) *app.Application {
	t.Helper()
	return waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		c := a.Status.FindCondition(ct)
		return c != nil && strings.Contains(c.Message, want), "no " + string(ct) + " condition with " + want
	})
}

// TestClustersByServerAndName: Applications reach each workload cluster by
// server URL and by name, and the embedded one by default; each object
// lands in its own cluster only, and Clusters reports all three connected.
func TestClustersByServerAndName(t *testing.T) {
	wl := workloadClusters(t)
	ns := cluster.Namespace(t)
	ns1, ns2 := remoteNamespace(t, wl[0]), remoteNamespace(t, wl[1])
	r := newRepo(t)
	sha := r.commit(map[string]*string{
		"one/cm.yaml":  s(configMap("settings", "one")),
		"two/cm.yaml":  s(configMap("settings", "two")),
		"home/cm.yaml": s(configMap("settings", "home")),
	})
	byServer := newApp(t, ns, "by-server", r, "one", func(a *app.Application) {
		a.Spec.Destination = app.Destination{Server: wl[0].URL() + "/", Namespace: ns1}
	})
	byName := newApp(t, ns, "by-name", r, "two", func(a *app.Application) {
		a.Spec.Destination = app.Destination{Name: workloadName(1), Namespace: ns2}
	})
	home := newApp(t, ns, "home", r, "home", nil)
	for _, key := range []types.NamespacedName{byServer, byName, home} {
		syncedAt(t, key, sha)
	}
	for _, tc := range []struct {
		c    *clustertest.Cluster
		ns   string
		want string
	}{{wl[0], ns1, "one"}, {wl[1], ns2, "two"}, {cluster, ns, "home"}} {
		if got, ok := remoteConfigMap(t, tc.c, tc.ns, "settings"); !ok || got != tc.want {
			t.Errorf("%s: ConfigMap %s/settings = %q (present %v), want %q", tc.c.URL(), tc.ns, got, ok, tc.want)
		}
	}
	// Nothing leaked into the wrong cluster: the workload namespaces do not
	// exist at home, and wl-1 has no wl-2 namespace.
	if _, ok := remoteConfigMap(t, cluster, ns1, "settings"); ok {
		t.Errorf("the embedded cluster got wl-1's ConfigMap")
	}
	if _, ok := remoteConfigMap(t, wl[0], ns2, "settings"); ok {
		t.Errorf("wl-1 got wl-2's ConfigMap")
	}

	// The resource tree comes from the app's own cluster.
	tree := reconciler.Tree(getApp(t, byName))
	if len(tree) == 0 || tree[0].Key.Namespace != ns2 || tree[0].UID == "" {
		t.Errorf("tree of by-name = %+v, want the live ConfigMap from wl-2", tree)
	}

	// Drift in a workload cluster is seen from its watch and healed.
	cm, err := wl[0].Client.CoreV1().ConfigMaps(ns1).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["value"] = "drifted"
	if _, err := wl[0].Client.CoreV1().ConfigMaps(ns1).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, 20*time.Second, func() (bool, string) {
		got, _ := remoteConfigMap(t, wl[0], ns1, "settings")
		return got == "one", "wl-1's drifted ConfigMap not healed: " + got
	})

	states := map[string]app.ClusterState{}
	for _, st := range reconciler.Clusters() {
		states[st.Name] = st
	}
	for _, name := range []string{clusters.InClusterName, workloadName(0), workloadName(1)} {
		st, ok := states[name]
		if !ok || st.State != app.ClusterConnected || st.Version == "" || st.Applications == 0 {
			t.Errorf("cluster %s: %+v, want Connected with a version and its applications", name, st)
		}
	}
}

// TestClusterDownHoldsUpNoOtherCluster: while one workload cluster is
// stopped, its Application reports a ClusterError and the others keep
// syncing new commits; once it is started again, its Application syncs the
// commit it missed and the condition goes.
func TestClusterDownHoldsUpNoOtherCluster(t *testing.T) {
	wl := workloadClusters(t)
	ns := cluster.Namespace(t)
	ns1, ns2 := remoteNamespace(t, wl[0]), remoteNamespace(t, wl[1])
	r := newRepo(t)
	first := r.commit(map[string]*string{"up/cm.yaml": s(configMap("c", "v1")), "down/cm.yaml": s(configMap("c", "v1"))})
	up := newApp(t, ns, "up", r, "up", func(a *app.Application) { a.Spec.Destination = app.Destination{Name: workloadName(0), Namespace: ns1} })
	down := newApp(t, ns, "down", r, "down", func(a *app.Application) { a.Spec.Destination = app.Destination{Name: workloadName(1), Namespace: ns2} })
	syncedAt(t, up, first)
	syncedAt(t, down, first)

	wl[1].Stop()
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			wl[1].Restart()
		}
	})
	waitCondition(t, down, app.ConditionClusterError, "unreachable")

	sha := r.commit(map[string]*string{"up/cm.yaml": s(configMap("c", "v2")), "down/cm.yaml": s(configMap("c", "v2"))})
	r.push()
	start := time.Now()
	syncedAt(t, up, sha)
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the app on the live cluster took %s to sync while the other cluster was down", d)
	}
	if got, _ := remoteConfigMap(t, wl[0], ns1, "c"); got != "v2" {
		t.Errorf("wl-1 ConfigMap = %q, want v2", got)
	}
	if a := getApp(t, down); a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == sha {
		t.Errorf("the app on the stopped cluster reports Synced at %s", sha)
	}

	if err := wl[1].Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	a := syncedAt(t, down, sha)
	if c := a.Status.FindCondition(app.ConditionClusterError); c != nil {
		t.Errorf("ClusterError still set after the cluster came back: %s", c.Message)
	}
	if got, _ := remoteConfigMap(t, wl[1], ns2, "c"); got != "v2" {
		t.Errorf("wl-2 ConfigMap = %q after it came back, want v2", got)
	}
}

// TestClusterSecretRotatedLive: a cluster Secret changed to credentials the
// cluster refuses takes effect without a restart (the Application reports
// the cluster unreachable), and changed back, the Application syncs again.
func TestClusterSecretRotatedLive(t *testing.T) {
	wl := workloadClusters(t)
	ns := cluster.Namespace(t)
	ns1 := remoteNamespace(t, wl[0])
	r := newRepo(t)
	first := r.commit(map[string]*string{"app/cm.yaml": s(configMap("c", "v1"))})
	key := newApp(t, ns, "rotated", r, "app", func(a *app.Application) { a.Spec.Destination = app.Destination{Name: workloadName(0), Namespace: ns1} })
	syncedAt(t, key, first)

	const badToken = "not-a-token-of-this-cluster"
	putClusterSecret(t, clusterSecret(t, workloadName(0), wl[0], func(cfg map[string]any) {
		cfg["tlsClientConfig"] = map[string]any{"caData": wl[0].RESTConfig().CAData}
		cfg["bearerToken"] = badToken
	}))
	defer putClusterSecret(t, clusterSecret(t, workloadName(0), wl[0], nil))
	r.push()
	a := waitCondition(t, key, app.ConditionClusterError, "Unauthorized")
	if a.Status.Health.Status != app.HealthUnknown || a.Status.Sync.Status != app.SyncUnknown {
		t.Errorf("with its cluster refusing gyre, the app reports sync %s, health %s; want Unknown for both", a.Status.Sync.Status, a.Status.Health.Status)
	}
	if strings.Contains(a.Status.FindCondition(app.ConditionClusterError).Message, badToken) {
		t.Errorf("the condition quotes the token: %s", a.Status.FindCondition(app.ConditionClusterError).Message)
	}

	putClusterSecret(t, clusterSecret(t, workloadName(0), wl[0], nil))
	sha := r.commit(map[string]*string{"app/cm.yaml": s(configMap("c", "v2"))})
	r.push()
	syncedAt(t, key, sha)
	if got, _ := remoteConfigMap(t, wl[0], ns1, "c"); got != "v2" {
		t.Errorf("ConfigMap = %q, want v2", got)
	}
}

// TestClusterRefusals: a destination no cluster answers to, a cluster
// Secret scoped to another project, a project whose destinations name
// another cluster, and a cluster limited to some namespaces each keep the
// Application from writing anything there, with a condition saying why.
func TestClusterRefusals(t *testing.T) {
	wl := workloadClusters(t)
	ns := cluster.Namespace(t)
	ns1 := remoteNamespace(t, wl[0])
	r := newRepo(t)
	sha := r.commit(map[string]*string{"app/cm.yaml": s(configMap("c", "v1"))})

	unknown := newApp(t, ns, "unknown", r, "app", func(a *app.Application) { a.Spec.Destination = app.Destination{Name: "nowhere", Namespace: ns1} })
	waitCondition(t, unknown, app.ConditionClusterError, `no cluster is named "nowhere"`)
	unknownServer := newApp(t, ns, "unknown-server", r, "app", func(a *app.Application) {
		a.Spec.Destination = app.Destination{Server: "https://10.0.0.1:6443", Namespace: ns1}
	})
	waitCondition(t, unknownServer, app.ConditionClusterError, "no cluster has server https://10.0.0.1:6443")

	proj := "only-wl2-" + ns[len(ns)-6:]
	createProject(t, proj, app.ProjectSpec{SourceRepos: []string{"*"}, SourceNamespaces: []string{"*"},
		Destinations: []app.ProjectDestination{{Name: workloadName(1), Namespace: "*"}}})
	refused := newApp(t, ns, "refused", r, "app", func(a *app.Application) {
		a.Spec.Project = proj
		a.Spec.Destination = app.Destination{Name: workloadName(0), Namespace: ns1}
	})
	waitCondition(t, refused, app.ConditionPermissionDeniedError, "does not allow destination "+wl[0].URL())
	if _, ok := remoteConfigMap(t, wl[0], ns1, "c"); ok {
		t.Fatal("a refused Application wrote to wl-1")
	}
	ns2 := remoteNamespace(t, wl[1])
	allowed := newApp(t, ns, "allowed", r, "app", func(a *app.Application) {
		a.Spec.Project = proj
		a.Spec.Destination = app.Destination{Server: wl[1].URL(), Namespace: ns2}
	})
	syncedAt(t, allowed, sha)

	// A Secret scoped to another project, and one limited to another
	// namespace, for the same cluster under another server spelling.
	scoped := clusterSecret(t, "scoped-"+ns[len(ns)-6:], wl[0], nil)
	scoped.Data[clusters.KeyServer] = []byte(strings.Replace(wl[0].URL(), "127.0.0.1", "localhost", 1))
	scoped.Data[clusters.KeyProject] = []byte("someone-else")
	putClusterSecret(t, scoped)
	defer cluster.Client.CoreV1().Secrets(scoped.Namespace).Delete(ctx, scoped.Name, metav1.DeleteOptions{})
	other := newApp(t, ns, "other-project", r, "app", func(a *app.Application) {
		a.Spec.Destination = app.Destination{Name: scoped.Name, Namespace: ns1}
	})
	waitCondition(t, other, app.ConditionClusterError, `belongs to project "someone-else"`)

	scoped.Data[clusters.KeyProject] = nil
	scoped.Data[clusters.KeyNamespaces] = []byte("only-this-one")
	putClusterSecret(t, scoped)
	waitApp(t, other, 30*time.Second, func(a *app.Application) (bool, string) {
		c := a.Status.FindCondition(app.ConditionComparisonError)
		return c != nil && strings.Contains(c.Message, `namespace "`+ns1+`" is not one gyre manages on cluster `+scoped.Name), "no namespace refusal"
	})
	if _, ok := remoteConfigMap(t, wl[0], ns1, "c"); ok {
		t.Fatal("an Application wrote outside its cluster's namespaces")
	}
}

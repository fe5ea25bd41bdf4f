package install

import (
	"bytes"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gyre-cd/gyre/render"
)

// chart is one rendering of charts/gyre.
type chart struct {
	t    testing.TB
	objs []*unstructured.Unstructured
}

// renderChart renders the chart as release "gyre" in namespace, with the
// given values files (relative to the chart) and inline values.
func renderChart(t testing.TB, namespace, values string, valueFiles ...string) *chart {
	t.Helper()
	return renderRelease(t, "gyre", namespace, values, valueFiles...)
}

// renderRelease is renderChart for another release name.
func renderRelease(t testing.TB, release, namespace, values string, valueFiles ...string) *chart {
	t.Helper()
	res, err := renderChartErr(release, namespace, values, valueFiles...)
	if err != nil {
		t.Fatalf("render %s: %v", chartDir, err)
	}
	return &chart{t: t, objs: res.Unstructured()}
}

func renderChartErr(release, namespace, values string, valueFiles ...string) (*render.Result, error) {
	return render.Render(os.DirFS(repoRoot), chartDir, render.Options{Helm: render.HelmOptions{
		ReleaseName: release, Namespace: namespace, ValueFiles: valueFiles, Values: values,
	}})
}

// kinds lists "Kind namespace/name" of every object, sorted.
func (c *chart) kinds() []string {
	var out []string
	for _, o := range c.objs {
		out = append(out, o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
	}
	slices.Sort(out)
	return out
}

// get returns the one object of kind in namespace with name.
func (c *chart) get(kind, namespace, name string) *unstructured.Unstructured {
	c.t.Helper()
	for _, o := range c.objs {
		if o.GetKind() == kind && o.GetNamespace() == namespace && o.GetName() == name {
			return o
		}
	}
	c.t.Fatalf("no %s %s/%s in the chart; have %v", kind, namespace, name, c.kinds())
	return nil
}

// field reads the value at a dotted path of o: "spec.replicas",
// "spec.template.spec.containers.0.args". Numeric segments index lists.
func field(t testing.TB, o *unstructured.Unstructured, path string) any {
	t.Helper()
	var cur any = o.Object
	for _, seg := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[seg]
		case []any:
			i := 0
			for _, r := range seg {
				if r < '0' || r > '9' {
					t.Fatalf("%s %s: %s: %q is not an index", o.GetKind(), o.GetName(), path, seg)
				}
				i = i*10 + int(r-'0')
			}
			if i >= len(v) {
				t.Fatalf("%s %s: %s: index %d out of %d", o.GetKind(), o.GetName(), path, i, len(v))
			}
			cur = v[i]
		default:
			t.Fatalf("%s %s: %s: no field %q", o.GetKind(), o.GetName(), path, seg)
		}
	}
	return cur
}

func want(t testing.TB, o *unstructured.Unstructured, path string, value any) {
	t.Helper()
	got := field(t, o, path)
	if !equalJSON(got, value) {
		t.Errorf("%s %s: %s = %#v, want %#v", o.GetKind(), o.GetName(), path, got, value)
	}
}

// equalJSON compares a decoded JSON value with a Go literal, numbers by value.
func equalJSON(got, want any) bool {
	switch w := want.(type) {
	case int:
		switch g := got.(type) {
		case int64:
			return g == int64(w)
		case float64:
			return g == float64(w)
		}
		return false
	case []string:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if g[i] != w[i] {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}

func gyreContainer(t testing.TB, d *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	c, ok := field(t, d, "spec.template.spec.containers.0").(map[string]any)
	if !ok || c["name"] != "gyre" {
		t.Fatalf("Deployment %s: first container is %v, want gyre", d.GetName(), c["name"])
	}
	return &unstructured.Unstructured{Object: c}
}

// The security settings every install must keep, whatever the values.
func checkHardened(t *testing.T, d *unstructured.Unstructured) {
	t.Helper()
	c := gyreContainer(t, d)
	want(t, d, "spec.template.spec.securityContext.runAsNonRoot", true)
	want(t, d, "spec.template.spec.securityContext.seccompProfile.type", "RuntimeDefault")
	want(t, c, "securityContext.runAsNonRoot", true)
	want(t, c, "securityContext.readOnlyRootFilesystem", true)
	want(t, c, "securityContext.allowPrivilegeEscalation", false)
	want(t, c, "securityContext.capabilities.drop", []string{"ALL"})
	want(t, c, "securityContext.seccompProfile.type", "RuntimeDefault")
	want(t, c, "livenessProbe.httpGet.path", "/healthz")
	want(t, c, "readinessProbe.httpGet.path", "/readyz")
	want(t, c, "ports.0.containerPort", 8080)
	want(t, c, "env.0.name", "POD_NAMESPACE")
	want(t, c, "env.0.valueFrom.fieldRef.fieldPath", "metadata.namespace")
	want(t, c, "env.1.name", "GOMEMLIMIT")
	want(t, c, "env.1.valueFrom.resourceFieldRef.resource", "limits.memory")
	mounts := map[string]string{}
	for _, m := range field(t, c, "volumeMounts").([]any) {
		m := m.(map[string]any)
		mounts[m["mountPath"].(string)] = m["name"].(string)
	}
	volumes := map[string]map[string]any{}
	for _, v := range field(t, d, "spec.template.spec.volumes").([]any) {
		v := v.(map[string]any)
		volumes[v["name"].(string)] = v
	}
	for _, path := range []string{"/var/cache/gyre", "/tmp"} {
		if _, ok := volumes[mounts[path]]["emptyDir"]; !ok {
			t.Errorf("Deployment %s: %s is not an emptyDir volume (mounts %v)", d.GetName(), path, mounts)
		}
	}
}

func args(t testing.TB, d *unstructured.Unstructured) []string {
	t.Helper()
	var out []string
	for _, a := range field(t, gyreContainer(t, d), "args").([]any) {
		out = append(out, a.(string))
	}
	return out
}

func TestChartDefaults(t *testing.T) {
	c := renderChart(t, "gyre-system", "")
	wantKinds := []string{
		"ClusterRole /gyre",
		"ClusterRoleBinding /gyre",
		"CustomResourceDefinition /applications.gyre.dev",
		"CustomResourceDefinition /applicationsets.gyre.dev",
		"CustomResourceDefinition /notifiers.gyre.dev",
		"CustomResourceDefinition /projects.gyre.dev",
		"Deployment gyre-system/gyre",
		"Role gyre-system/gyre",
		"RoleBinding gyre-system/gyre",
		"Secret gyre-system/gyre-tokens",
		"Service gyre-system/gyre",
		"ServiceAccount gyre-system/gyre",
	}
	if got := c.kinds(); !slices.Equal(got, wantKinds) {
		t.Errorf("objects:\n got %v\nwant %v", got, wantKinds)
	}

	d := c.get("Deployment", "gyre-system", "gyre")
	checkHardened(t, d)
	want(t, d, "spec.replicas", 1)
	want(t, d, "spec.template.spec.serviceAccountName", "gyre")
	want(t, gyreContainer(t, d), "image", "ghcr.io/gyre-cd/gyre:0.1.0")
	want(t, gyreContainer(t, d), "resources.limits.memory", "1Gi")
	wantArgs := []string{
		"serve", "--addr=:8080", "--cache-dir=/var/cache/gyre",
		"--leader-elect=true", "--leader-election-id=gyre-leader",
		"--resync=3m", "--git-poll=1m", "--token-secret=gyre-tokens",
	}
	if got := args(t, d); !slices.Equal(got, wantArgs) {
		t.Errorf("args:\n got %q\nwant %q", got, wantArgs)
	}
	want(t, gyreContainer(t, d), "livenessProbe.httpGet.scheme", nil)

	// Cluster-wide: every verb on every resource.
	want(t, c.get("ClusterRole", "", "gyre"), "rules.0.resources", []string{"*"})
	want(t, c.get("ClusterRole", "", "gyre"), "rules.0.verbs", []string{"*"})
	want(t, c.get("ClusterRoleBinding", "", "gyre"), "subjects.0.namespace", "gyre-system")

	// A generated admin token.
	tok, _ := field(t, c.get("Secret", "gyre-system", "gyre-tokens"), "data").(map[string]any)
	if len(tok) != 1 || tok["admin.admin"] == nil || len(tok["admin.admin"].(string)) < 40 {
		t.Errorf("token Secret data = %v, want one generated admin.admin token", tok)
	}
	want(t, c.get("Service", "gyre-system", "gyre"), "spec.ports.0.port", 8080)
	want(t, c.get("Service", "gyre-system", "gyre"), "spec.ports.0.targetPort", "http")
}

func TestChartAllOn(t *testing.T) {
	c := renderChart(t, "gyre-system", "", "ci/all-on-values.yaml")
	wantKinds := []string{
		"ClusterRole /gyre",
		"ClusterRoleBinding /gyre",
		"CustomResourceDefinition /applications.gyre.dev",
		"CustomResourceDefinition /applicationsets.gyre.dev",
		"CustomResourceDefinition /notifiers.gyre.dev",
		"CustomResourceDefinition /projects.gyre.dev",
		"Deployment gyre-system/gyre",
		"Ingress gyre-system/gyre",
		"Role gyre-system/gyre",
		"Role team-a/gyre-manage",
		"Role team-b/gyre-manage",
		"RoleBinding gyre-system/gyre",
		"RoleBinding team-a/gyre-manage",
		"RoleBinding team-b/gyre-manage",
		"Secret gyre-system/gyre-webhooks", // the token Secret exists already
		"Service gyre-system/gyre",
		"ServiceAccount gyre-system/gyre",
		"ServiceMonitor gyre-system/gyre",
	}
	if got := c.kinds(); !slices.Equal(got, wantKinds) {
		t.Errorf("objects:\n got %v\nwant %v", got, wantKinds)
	}

	d := c.get("Deployment", "gyre-system", "gyre")
	checkHardened(t, d)
	ctr := gyreContainer(t, d)
	want(t, d, "spec.replicas", 2)
	want(t, ctr, "image", "ghcr.io/gyre-cd/gyre:v9.9.9")
	want(t, ctr, "resources.limits.memory", "2Gi")
	want(t, ctr, "livenessProbe.httpGet.scheme", "HTTPS")
	want(t, ctr, "readinessProbe.httpGet.scheme", "HTTPS")
	want(t, ctr, "env.2.name", "GODEBUG")
	want(t, d, "spec.template.metadata.annotations", map[string]any{"example.com/scrape": "false"})
	if ns := field(t, d, "spec.template.spec.nodeSelector").(map[string]any); ns["kubernetes.io/os"] != "linux" {
		t.Errorf("nodeSelector = %v", ns)
	}
	want(t, d, "spec.template.spec.tolerations.0.key", "dedicated")
	want(t, d, "spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.0.weight", 100)
	want(t, d, "spec.template.spec.priorityClassName", "system-cluster-critical")
	want(t, d, "spec.template.spec.imagePullSecrets.0.name", "regcred")
	want(t, d, "spec.template.metadata.labels.team", "platform")
	wantArgs := []string{
		"serve", "--addr=:8080", "--cache-dir=/var/cache/gyre",
		"--leader-elect=true", "--leader-election-id=gyre-leader",
		"--workers=16", "--kube-qps=300", "--kube-burst=500", "--resync=5m", "--git-poll=30s",
		"--token-secret=gyre-api-tokens", "--webhook-secret=gyre-webhooks",
		"--app-namespace=gyre-apps", "--namespaces=team-a,team-b",
		"--tls-cert=/etc/gyre/tls/tls.crt", "--tls-key=/etc/gyre/tls/tls.key",
		"--workers=32",
	}
	if got := args(t, d); !slices.Equal(got, wantArgs) {
		t.Errorf("args:\n got %q\nwant %q", got, wantArgs)
	}
	want(t, d, "spec.template.spec.volumes.2.secret.secretName", "gyre-serving-cert")

	// Namespace-limited: the ClusterRole grants no wildcard.
	for _, r := range field(t, c.get("ClusterRole", "", "gyre"), "rules").([]any) {
		r := r.(map[string]any)
		for _, k := range []string{"apiGroups", "resources", "verbs"} {
			if slices.Contains(r[k].([]any), any("*")) {
				t.Errorf("namespace-limited ClusterRole has a wildcard rule: %v", r)
			}
		}
	}
	want(t, c.get("Role", "team-a", "gyre-manage"), "rules.0.verbs", []string{"*"})
	want(t, c.get("RoleBinding", "team-b", "gyre-manage"), "subjects.0.namespace", "gyre-system")

	wh := field(t, c.get("Secret", "gyre-system", "gyre-webhooks"), "data").(map[string]any)
	if len(wh) != 2 || wh["github"] == nil || wh["gitlab"] == nil {
		t.Errorf("webhook Secret keys = %v, want github and gitlab", wh)
	}
	ing := c.get("Ingress", "gyre-system", "gyre")
	want(t, ing, "spec.ingressClassName", "nginx")
	want(t, ing, "spec.rules.0.host", "gyre.example.com")
	want(t, ing, "spec.rules.0.http.paths.0.backend.service.port.name", "http")
	want(t, ing, "spec.tls.0.secretName", "gyre-ingress-tls")
	sm := c.get("ServiceMonitor", "gyre-system", "gyre")
	want(t, sm, "apiVersion", "monitoring.coreos.com/v1")
	want(t, sm, "metadata.labels.release", "prometheus")
	want(t, sm, "spec.endpoints.0.path", "/metrics")
	want(t, sm, "spec.endpoints.0.scheme", "https")
	want(t, sm, "spec.endpoints.0.interval", "15s")
}

// TestChartTokensFromValues: tokens given in values go into the Secret the
// chart creates, and nothing is generated.
func TestChartTokensFromValues(t *testing.T) {
	c := renderChart(t, "gyre-system", "", "ci/created-tokens-values.yaml")
	data := field(t, c.get("Secret", "gyre-system", "gyre-tokens"), "data").(map[string]any)
	wantData := map[string]any{
		"admin.ci":           "Y2ktYWRtaW4tdG9rZW4=",
		"readonly.dashboard": "ZGFzaGJvYXJkLXJlYWRvbmx5LXRva2Vu",
	}
	if len(data) != len(wantData) || data["admin.ci"] != wantData["admin.ci"] || data["readonly.dashboard"] != wantData["readonly.dashboard"] {
		t.Errorf("token Secret data = %v, want %v", data, wantData)
	}
	if !slices.Contains(args(t, c.get("Deployment", "gyre-system", "gyre")), "--token-secret=gyre-tokens") {
		t.Error("gyre is not given the token Secret")
	}
}

// TestChartRejectsBadValues: values that cannot work fail the render with a
// message that names the value.
func TestChartRejectsBadValues(t *testing.T) {
	for _, tc := range []struct{ name, values, want string }{
		{"limited-without-namespaces", "rbac: {clusterWide: false}", "rbac.namespaces must list at least one namespace"},
		{"tls-without-secret", "tls: {enabled: true}", "tls.secretName is required"},
		{"token-key-without-role", "auth: {tokens: {alice: x}}", `auth.tokens: key "alice"`},
		{"token-key-unknown-role", "auth: {tokens: {root.alice: x}}", `auth.tokens: key "root.alice"`},
		{"unknown-webhook-provider", "webhooks: {secrets: {svn: x}}", `unknown provider "svn"`},
		{"no-tokens", "auth: {generateAdminToken: false}", "gyre serve needs API tokens"},
		{"existing-service-account-unnamed", "serviceAccount: {create: false}", "serviceAccount.name is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderChartErr("gyre", "gyre-system", tc.values)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("render error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestChartCRDsAreGyres: the chart's crds/ holds exactly the CRDs gyre
// installs itself (app/crd.yaml, app/project-crd.yaml, notify/crd.yaml and
// appset/crd.yaml), byte for byte.
func TestChartCRDsAreGyres(t *testing.T) {
	want := map[string]string{"applications.gyre.dev.yaml": "app/crd.yaml", "projects.gyre.dev.yaml": "app/project-crd.yaml", "notifiers.gyre.dev.yaml": "notify/crd.yaml", "applicationsets.gyre.dev.yaml": "appset/crd.yaml"}
	entries, err := os.ReadDir(repoRoot + "/" + chartDir + "/crds")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Fatalf("crds/ holds %v, want %v", entries, want)
	}
	for name, src := range want {
		chartCRD, err := os.ReadFile(repoRoot + "/" + chartDir + "/crds/" + name)
		if err != nil {
			t.Fatal(err)
		}
		appCRD, err := os.ReadFile(repoRoot + "/" + src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(chartCRD, appCRD) {
			t.Errorf("%s/crds/%s differs from %s; copy it:\n\tcp %s %s/crds/%s", chartDir, name, src, src, chartDir, name)
		}
	}
}

// TestValuesDocumented: every value in values.yaml has a comment for the
// operator. A documented value's comment starts with "-- " (helm-docs'
// convention); a key without one must be a map whose keys are all
// documented.
func TestValuesDocumented(t *testing.T) {
	data, err := os.ReadFile(repoRoot + "/" + chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(prefix string, m *yaml.Node)
	walk = func(prefix string, m *yaml.Node) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			name := prefix + k.Value
			if documented(k.HeadComment) {
				continue
			}
			if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
				t.Errorf("values.yaml line %d: %s has no \"# -- \" comment", k.Line, name)
				continue
			}
			walk(name+".", v)
		}
	}
	walk("", doc.Content[0])
}

func documented(head string) bool {
	lines := strings.Split(strings.TrimSpace(head), "\n")
	// The value's own comment is the last block directly above it; a section
	// comment may come first.
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "# -- ") {
			return true
		}
	}
	return false
}

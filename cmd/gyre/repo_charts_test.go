//go:build !nolocalcluster

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/helmrepo/helmrepotest"
	"github.com/gyre-cd/gyre/helmrepo/oci/ocitest"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/localcluster"
	"github.com/gyre-cd/gyre/source"
	gyresync "github.com/gyre-cd/gyre/sync"
	"github.com/gyre-cd/gyre/web"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// chartFiles is a chart whose one template is a ConfigMap named
// chart-config holding the chart's version.
func chartFiles() map[string]string {
	return map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: chart-config\ndata:\n  value: {{ .Chart.Version | quote }}\n",
	}
}

// TestChartRepoCredentialsLive drives `gyre serve` against a private Helm
// repository (TLS, basic auth) and a private OCI registry (TLS, basic
// auth), with credentials added while it runs: through `gyre repo add
// --type helm --creds` (the repository's CA for the whole server), a raw
// Secret with Argo CD's label and type helm (the account), and `gyre repo
// add oci://… --type oci` (the registry's account and CA, stored once for
// two spellings of its URL). Both apps sync; `gyre repo list` shows the
// chart repositories reachable with a last fetch; `gyre app get` and
// `history` show the chart and version@digest. The Helm password is then
// rotated on the server (the app reports the refusal) and in the Secret: a
// new chart version syncs with no restart. Deleting the Secret makes the
// next refresh fail on authentication, `gyre repo rm` of the registry makes
// its app fail. No password shows in any log line, status, event, API
// answer or CLI output along the way.
func TestChartRepoCredentialsLive(t *testing.T) {
	needBinary(t)
	const (
		helmDest, ociDest = "helm-dest", "oci-dest"
		helmUser, ociUser = "chart-bot", "oci-bot"
		helmPassword      = "Helm-Chart-Passw0rd-one"
		rotatedPassword   = "Helm-Chart-Passw0rd-two"
		ociPassword       = "Oci-Registry-Passw0rd"
	)
	passwords := []string{helmPassword, rotatedPassword, ociPassword}
	c := startCluster(t, localcluster.Options{DataDir: t.TempDir()}, helmDest, ociDest)
	ctx := context.Background()

	charts := helmrepotest.NewServer(t, helmrepotest.Options{Username: helmUser, Password: helmPassword, TLS: true})
	charts.Add("demo", "1.0.0", chartFiles())
	reg := ocitest.Start(t, ocitest.Options{Username: ociUser, Password: ociPassword})
	ociDigest := reg.Push(t, "charts", "demo", "0.1.0", chartFiles())
	registryURL := reg.RepoURL("charts")
	files := t.TempDir()
	helmCA, ociCA := filepath.Join(files, "helm-ca.pem"), filepath.Join(files, "oci-ca.pem")
	if err := os.WriteFile(helmCA, charts.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ociCA, reg.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}

	p, gyre := serveWithCLI(t, c)
	apps := c.Dynamic.Resource(app.GroupVersionResource()).Namespace(systemNamespace)
	waitCRD(t, apps)
	secrets := c.Client.CoreV1().Secrets(systemNamespace)

	// seen collects everything gyre wrote that a password must not be in.
	var seen []string
	sweep := func(getters ...func() *app.Application) {
		t.Helper()
		for _, path := range []string{
			"/api/v1/repositories", "/api/v1/applications",
			"/api/v1/applications/" + systemNamespace + "/helm-chart",
			"/api/v1/applications/" + systemNamespace + "/oci-chart",
		} {
			seen = append(seen, apiGet(t, p.url+path, gyre.token))
		}
		for _, get := range getters {
			a, _ := json.Marshal(get().Status)
			seen = append(seen, string(a))
		}
		for _, ns := range []string{systemNamespace, helmDest, ociDest} {
			events, err := c.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events.Items {
				seen = append(seen, e.Message)
			}
		}
	}

	// The apps fail until credentials exist.
	getHelm := createAutomatedAppFrom(t, apps, "helm-chart", app.Source{RepoURL: charts.URL, Chart: "demo", TargetRevision: "1.*"}, helmDest)
	getOCI := createAutomatedAppFrom(t, apps, "oci-chart", app.Source{RepoURL: registryURL, Chart: "demo", TargetRevision: "0.1.0"}, ociDest)
	for _, get := range []func() *app.Application{getHelm, getOCI} {
		testsupport.Eventually(t, time.Minute, func() (bool, string) {
			a := get()
			return a.Status.FindCondition(app.ConditionComparisonError) != nil, fmt.Sprintf("app %s: conditions %+v", a.Name, a.Status.Conditions)
		})
	}

	// The Helm repository's CA for the whole server, through the CLI.
	out := gyre.run("", "repo", "add", charts.URL, "--creds", "--type", "helm", "--ca-file", helmCA)
	if !strings.Contains(out, "repo-creds "+charts.URL+" (helm, anonymous +CA)") {
		t.Errorf("gyre repo add --type helm printed %q", out)
	}
	// Trusted now, the repository asks for the account gyre lacks.
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		return conditionSays(getHelm(), "authentication failed")
	})
	// The account, as an Argo CD Secret of type helm.
	argo := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "helm-chart-repo", Labels: map[string]string{source.LabelArgoCDSecretType: "repository"}},
		StringData: map[string]string{"type": "helm", "name": "demo-charts", "url": charts.URL, "username": helmUser, "password": helmPassword, "caData": string(charts.CAPEM())},
	}
	if _, err := secrets.Create(ctx, argo, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The registry, through the CLI, once for two spellings of its URL:
	// the second add finds the first's Secret and replaces its data.
	upper := strings.Replace(registryURL, "oci://", "OCI://", 1) + "/"
	gyre.run(ociPassword+"\n", "repo", "add", upper, "--type", "oci", "--username", ociUser, "--password-stdin", "--ca-file", ociCA)
	first, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: source.LabelSecretType + "=repository"})
	if err != nil || len(first.Items) != 1 {
		t.Fatalf("Secrets labelled %s=repository: %v, %v; want one", source.LabelSecretType, first, err)
	}
	out = gyre.run(ociPassword, "repo", "add", registryURL, "--type", "oci", "--username", ociUser, "--password-stdin", "--ca-file", ociCA)
	if !strings.Contains(out, "repository "+registryURL+" (oci, basic ("+ociUser+") +CA)") {
		t.Errorf("gyre repo add --type oci printed %q", out)
	}
	stored, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: source.LabelSecretType + "=repository"})
	if err != nil || len(stored.Items) != 1 || stored.Items[0].UID != first.Items[0].UID {
		t.Fatalf("Secrets labelled %s=repository after adding the registry again: %v, %v; want the first one, changed", source.LabelSecretType, stored, err)
	}
	if d := stored.Items[0].Data; string(d["url"]) != registryURL || string(d["type"]) != "oci" || string(d["username"]) != ociUser || string(d["password"]) != ociPassword || string(d["caData"]) != string(reg.CAPEM()) {
		t.Fatalf("the registry's Secret holds keys %v, url %q, type %q; want the second spelling, type oci, the account and the CA", mapKeys(d), d["url"], d["type"])
	}

	// Both apps sync, without a restart, at version@digest.
	helmRev := "1.0.0@" + charts.Digest("demo", "1.0.0")
	for _, w := range []struct {
		get  func() *app.Application
		rev  string
		dest string
	}{{getHelm, helmRev, helmDest}, {getOCI, "0.1.0@" + ociDigest, ociDest}} {
		testsupport.Eventually(t, time.Minute, func() (bool, string) {
			a := w.get()
			cm := configMapValues(t, c, w.dest)["chart-config"]
			return a.Status.Sync.Status == app.Synced && a.Status.Health.Status == app.Healthy && a.Status.Sync.Revision == w.rev && strings.HasPrefix(w.rev, cm+"@"),
				fmt.Sprintf("app %s %s/%s at %s, config map %q; conditions %+v", a.Name, a.Status.Sync.Status, a.Status.Health.Status, a.Status.Sync.Revision, cm, a.Status.Conditions)
		})
	}
	sweep(getHelm, getOCI)

	// gyre repo list: both chart repositories reachable, fetched.
	l := gyre.listRepos()
	byURL := map[string]web.Repository{}
	for _, r := range l.Items {
		byURL[string(r.Kind)+" "+r.URL] = r
	}
	fetched := func(r web.Repository) bool {
		return len(r.Repositories) == 1 && r.Repositories[0].Reachable && r.Repositories[0].FetchedAt != nil && r.Repositories[0].Error == ""
	}
	if r := byURL["repository "+charts.URL]; r.Type != source.RepoTypeHelm || r.Label != source.LabelArgoCDSecretType || r.Username != helmUser || !r.CAData || !fetched(r) {
		t.Errorf("gyre repo list, the Helm repository: %+v; want Argo CD's Secret of type helm, reachable and fetched", r)
	}
	if r := byURL["repository "+registryURL]; r.Type != source.RepoTypeOCI || r.Label != source.LabelSecretType || r.Username != ociUser || !r.CAData || !fetched(r) ||
		r.Repositories[0].URL != registryURL {
		t.Errorf("gyre repo list, the registry: %+v; want type oci, reachable and fetched", r)
	}
	if r := byURL["repo-creds "+charts.URL]; r.Type != source.RepoTypeHelm || r.Invalid != "" || len(r.Repositories) != 0 {
		t.Errorf("gyre repo list, the CA for the server: %+v; want valid, the repository Secret serving the one repository", r)
	}
	if len(l.Items) != 3 {
		t.Errorf("gyre repo list: %d items %+v; want 3", len(l.Items), l.Items)
	}
	table := gyre.run("", "repo", "list")
	for _, url := range []string{charts.URL, registryURL} {
		if !strings.Contains(rowOf(table, "repository", url), " yes ") {
			t.Errorf("gyre repo list does not show %s reachable:\n%s", url, table)
		}
	}

	// gyre app get and history: the chart, its version and digest.
	short := "1.0.0@" + strings.TrimPrefix(charts.Digest("demo", "1.0.0"), "sha256:")[:7]
	got := gyre.run("", "app", "get", "helm-chart", "-n", systemNamespace)
	if !strings.Contains(got, "chart demo from "+charts.URL+" at 1.*") || !strings.Contains(got, "Synced to "+short) {
		t.Errorf("gyre app get printed:\n%s\nwant the chart source and %s", got, short)
	}
	history := gyre.run("", "app", "history", "helm-chart", "-n", systemNamespace)
	if !strings.Contains(history, short) {
		t.Errorf("gyre app history printed:\n%s\nwant %s", history, short)
	}

	// The server's password changes first: a refresh presents the old
	// one and is refused. A new version is published meanwhile.
	charts.SetCredentials(helmUser, rotatedPassword)
	charts.Add("demo", "1.1.0", chartFiles())
	refresh(t, apps, "helm-chart")
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		return conditionSays(getHelm(), "authentication failed", "401")
	})
	sweep(getHelm, getOCI)

	// The Secret follows: 1.1.0 syncs, without a restart.
	cur, err := secrets.Get(ctx, argo.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Data["password"] = []byte(rotatedPassword)
	if _, err := secrets.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	helmRev2 := "1.1.0@" + charts.Digest("demo", "1.1.0")
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		a := getHelm()
		cm := configMapValues(t, c, helmDest)["chart-config"]
		return a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == helmRev2 && cm == "1.1.0" && a.Status.FindCondition(app.ConditionComparisonError) == nil,
			fmt.Sprintf("app %s at %s, config map %q; conditions %+v", a.Status.Sync.Status, a.Status.Sync.Revision, cm, a.Status.Conditions)
	})
	sweep(getHelm, getOCI)

	// Without the account (the server's CA stays), the next refresh is
	// refused on authentication.
	if err := secrets.Delete(ctx, argo.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	refresh(t, apps, "helm-chart")
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		a := getHelm()
		cond := a.Status.FindCondition(app.ConditionComparisonError)
		return cond != nil && strings.Contains(cond.Message, "authentication"), fmt.Sprintf("conditions %+v", a.Status.Conditions)
	})
	sweep(getHelm, getOCI)

	// gyre repo rm of the registry, by another spelling: its app fails.
	out = gyre.run("", "repo", "rm", upper)
	if !strings.Contains(out, "removed") {
		t.Errorf("gyre repo rm printed %q", out)
	}
	refresh(t, apps, "oci-chart")
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		a := getOCI()
		return a.Status.FindCondition(app.ConditionComparisonError) != nil, fmt.Sprintf("conditions %+v", a.Status.Conditions)
	})
	sweep(getHelm, getOCI)

	seen = append(seen, p.stderr.String())
	seen = append(seen, gyre.printed...)
	for _, s := range seen {
		for _, pw := range passwords {
			if strings.Contains(s, pw) {
				t.Errorf("a password shows in %.400s", s)
			}
		}
	}
	if !strings.Contains(p.stderr.String(), "repository credentials changed") {
		t.Errorf("gyre serve did not log the credential changes:\n%s", tailOf(p.stderr, 3000))
	}
}

// refresh asks gyre to look at the Application name now, as `kubectl
// annotate` would.
func refresh(t *testing.T, apps dynamic.ResourceInterface, name string) {
	t.Helper()
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{gyresync.RefreshAnnotation: time.Now().Format(time.RFC3339Nano)}}})
	if _, err := apps.Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// rowOf returns the line of table that holds every one of cells, "" when
// none does.
func rowOf(table string, cells ...string) string {
	for _, line := range strings.Split(table, "\n") {
		all := true
		for _, c := range cells {
			all = all && strings.Contains(line, c)
		}
		if all {
			return line
		}
	}
	return ""
}

//go:build !nolocalcluster

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/localcluster"
	"github.com/gyre-cd/gyre/source"
	"github.com/gyre-cd/gyre/web"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The basic-auth credentials of the private git server in these tests.
const (
	privateUser     = "deploy-bot"
	privatePassword = "Pr1vate-Repo-Passw0rd"
)

// basicAuthGit serves the repositories under root with real git over HTTP,
// to privateUser and privatePassword only. A refused request gets a body
// that echoes what it was sent, as a careless server might.
func basicAuthGit(t *testing.T, root string) *httptestServer {
	t.Helper()
	backend := testsupport.GitHTTPHandler(t, root)
	s := &httptestServer{}
	s.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != privateUser || pass != privatePassword {
			s.refused.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, "denied for %s:%s", user, pass)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	return s
}

// httptestServer is an HTTP server on a free port that counts refusals.
type httptestServer struct {
	URL     string
	refused atomic.Int64
}

func (s *httptestServer) start(t *testing.T, h http.Handler) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.URL = "http://" + ln.Addr().String()
}

// cli runs the gyre binary as a user would, against server with token,
// with stdin, and returns what it printed. It fails the test when the
// command fails.
type cli struct {
	t             *testing.T
	server, token string
	config        string
	printed       []string // everything every command printed
}

// serveWithCLI starts `gyre serve` against c with its state in a new
// directory, waits for it to serve and returns it with a CLI that uses its
// admin token.
func serveWithCLI(t *testing.T, c *clustertest.Cluster) (*serveProcess, *cli) {
	t.Helper()
	state := t.TempDir()
	p := startServe(t, c.KubeconfigPath(), state)
	p.waitServing()
	token, err := os.ReadFile(filepath.Join(state, "token"))
	if err != nil {
		t.Fatal(err)
	}
	return p, &cli{t: t, server: p.url, token: strings.TrimSpace(string(token)), config: filepath.Join(t.TempDir(), "config.yaml")}
}

func (c *cli) run(stdin string, args ...string) string {
	c.t.Helper()
	out, err := c.try(stdin, args...)
	if err != nil {
		c.t.Fatalf("gyre %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (c *cli) try(stdin string, args ...string) (string, error) {
	c.t.Helper()
	cmd := exec.Command(gyreBin.path, append(args, "--config", c.config)...)
	cmd.Env = append(os.Environ(), envServer+"="+c.server, envToken+"="+c.token)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	c.printed = append(c.printed, string(out))
	return string(out), err
}

// listRepos runs `gyre repo list -o json`.
func (c *cli) listRepos() web.RepositoryList {
	c.t.Helper()
	var l web.RepositoryList
	if err := json.Unmarshal([]byte(c.run("", "repo", "list", "-o", "json")), &l); err != nil {
		c.t.Fatal(err)
	}
	return l
}

// conditionSays reports whether a has a condition whose message holds all
// of says, and returns the conditions for a failure message.
func conditionSays(a *app.Application, says ...string) (bool, string) {
	for _, c := range a.Status.Conditions {
		all := true
		for _, s := range says {
			all = all && strings.Contains(c.Message, s)
		}
		if all {
			return true, ""
		}
	}
	return false, fmt.Sprintf("conditions %+v do not say %q", a.Status.Conditions, says)
}

// TestRepoCredentialsLive drives `gyre serve` and the `gyre repo` commands
// against a private git server over HTTP (basic auth) and one over ssh:
// apps fail with a condition until credentials exist, `gyre repo add`
// makes them sync without a restart, `gyre repo list` shows the repository
// reachable, `gyre repo rm` makes the next fetch fail again, an Argo CD
// Secret works as it is, and the password shows up nowhere gyre writes.
func TestRepoCredentialsLive(t *testing.T) {
	needBinary(t)
	const dest = "private-dest"
	c := startCluster(t, localcluster.Options{DataDir: t.TempDir()}, dest)
	ctx := context.Background()

	gitRoot := t.TempDir()
	repo := testsupport.NewRepoAt(t, filepath.Join(gitRoot, "private.git"))
	v1 := repo.Commit("one", map[string]string{"manifests/cm.yaml": configMapDoc("private", "one")})
	srv := basicAuthGit(t, gitRoot)
	repoURL := srv.URL + "/private.git"

	p, gyre := serveWithCLI(t, c)
	apps := c.Dynamic.Resource(app.GroupVersionResource()).Namespace(systemNamespace)
	waitCRD(t, apps)
	secrets := c.Client.CoreV1().Secrets(systemNamespace)
	value := func() string { return configMapValues(t, c, dest)["private"] }

	// Without credentials the app fails, and says how to fix it. A Secret
	// without the label is not credentials, whatever it holds.
	unlabelled := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "not-credentials"},
		StringData: map[string]string{"url": repoURL, "username": privateUser, "password": privatePassword},
	}
	if _, err := secrets.Create(ctx, unlabelled, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	get := createAutomatedApp(t, apps, "private", repoURL, "manifests", dest)
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		return conditionSays(get(), "authentication required", "gyre repo add")
	})
	if srv.refused.Load() == 0 {
		t.Fatal("the git server refused nothing")
	}

	// A wrong password first: gyre presents it (the hint to add
	// credentials goes), and the server still refuses.
	const wrongPassword = "Wr0ng-Repo-Passw0rd"
	gyre.run(wrongPassword, "repo", "add", repoURL, "--username", privateUser, "--password-stdin")
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		a := get()
		if hint, _ := conditionSays(a, "gyre repo add"); hint {
			return false, "the condition still says no credentials were presented"
		}
		return conditionSays(a, "authentication required")
	})
	first, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: source.LabelSecretType + "=repository"})
	if err != nil || len(first.Items) != 1 {
		t.Fatalf("Secrets labelled %s=repository: %v, %v; want one", source.LabelSecretType, first, err)
	}

	// gyre repo add again replaces the password in the same Secret; the
	// app syncs with no restart, well before any poll (1h) or resync (3m)
	// would look again.
	added := time.Now()
	out := gyre.run(privatePassword+"\n", "repo", "add", repoURL, "--username", privateUser, "--password-stdin")
	if !strings.Contains(out, "repository "+repoURL) || !strings.Contains(out, "basic") {
		t.Errorf("gyre repo add printed %q", out)
	}
	list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: source.LabelSecretType + "=repository"})
	if err != nil || len(list.Items) != 1 || list.Items[0].UID != first.Items[0].UID {
		t.Fatalf("Secrets labelled %s=repository after a second add: %v, %v; want the first one, changed", source.LabelSecretType, list, err)
	}
	if got := list.Items[0].Data; string(got["password"]) != privatePassword || string(got["username"]) != privateUser || string(got["url"]) != repoURL || string(got["type"]) != "git" {
		t.Fatalf("the Secret holds keys %v; want url, type, username and the password from stdin", mapKeys(got))
	}
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		a := get()
		return a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == v1 && value() == "one",
			fmt.Sprintf("app %s at %.7s, config map %q", a.Status.Sync.Status, a.Status.Sync.Revision, value())
	})
	t.Logf("synced %s after gyre repo add", time.Since(added).Round(time.Millisecond))
	if ok, _ := conditionSays(get(), "authentication"); ok {
		t.Errorf("the authentication condition stayed after the sync: %+v", get().Status.Conditions)
	}

	// gyre repo list: reachable, fetched, no secret.
	l := gyre.listRepos()
	if len(l.Items) != 1 {
		t.Fatalf("gyre repo list: %+v; want one item", l)
	}
	r := l.Items[0]
	if r.URL != repoURL || r.Kind != source.SecretTypeRepository || r.Auth != source.AuthBasic || r.Username != privateUser || r.Label != source.LabelSecretType ||
		len(r.Repositories) != 1 || !r.Repositories[0].Reachable || r.Repositories[0].FetchedAt == nil {
		t.Fatalf("gyre repo list: %+v; want the repository, basic auth, reachable and fetched", r)
	}
	table := gyre.run("", "repo", "list")
	if !strings.Contains(table, repoURL) || !strings.Contains(table, "yes") || !strings.Contains(table, "basic ("+privateUser+")") {
		t.Errorf("gyre repo list printed:\n%s", table)
	}

	// gyre repo rm: the next fetch fails again.
	out = gyre.run("", "repo", "rm", repoURL)
	if !strings.Contains(out, "removed") {
		t.Errorf("gyre repo rm printed %q", out)
	}
	if list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: source.LabelSecretType}); err != nil || len(list.Items) != 0 {
		t.Fatalf("Secrets after gyre repo rm: %v, %v", list, err)
	}
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		return conditionSays(get(), "authentication required")
	})
	if _, err := gyre.try("", "repo", "rm", repoURL); err == nil {
		t.Error("gyre repo rm of credentials that are gone succeeded")
	}

	// Argo CD's repo-creds Secret, as Argo CD documents it, for the whole
	// server: gyre reads it unchanged, and the new commit syncs.
	v2 := repo.Commit("two", map[string]string{"manifests/cm.yaml": configMapDoc("private", "two")})
	argo := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "private-repo-creds", Labels: map[string]string{source.LabelArgoCDSecretType: "repo-creds"}},
		StringData: map[string]string{"type": "git", "url": srv.URL, "username": privateUser, "password": privatePassword, "project": "default"},
	}
	if _, err := secrets.Create(ctx, argo, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		a := get()
		return a.Status.Sync.Revision == v2 && value() == "two", fmt.Sprintf("app at %.7s, config map %q", a.Status.Sync.Revision, value())
	})
	l = gyre.listRepos()
	if len(l.Items) != 1 || l.Items[0].Label != source.LabelArgoCDSecretType || l.Items[0].Kind != source.SecretTypeRepoCreds ||
		len(l.Items[0].Repositories) != 1 || !l.Items[0].Repositories[0].Reachable {
		t.Fatalf("gyre repo list with the Argo CD Secret: %+v", l)
	}

	// gyre repo add of the same prefix replaces the credentials in Argo
	// CD's Secret, which keeps its label and the keys gyre does not read.
	gyre.run(privatePassword, "repo", "add", srv.URL, "--creds", "--username", privateUser, "--password-stdin")
	kept, err := secrets.Get(ctx, argo.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(kept.Data["project"]) != "default" || kept.Labels[source.LabelArgoCDSecretType] != "repo-creds" || kept.Labels[source.LabelSecretType] != "" {
		t.Errorf("Argo CD's Secret after gyre repo add: labels %v, keys %v", kept.Labels, mapKeys(kept.Data))
	}
	if l := gyre.listRepos(); len(l.Items) != 1 {
		t.Errorf("gyre repo list after replacing Argo CD's credentials: %+v; want the one Secret", l)
	}

	// A Secret gyre cannot use is listed with the reason, and logged.
	broken := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "broken", Labels: map[string]string{source.LabelSecretType: "repository"}},
		StringData: map[string]string{"url": srv.URL + "/other", "sshPrivateKey": "not a key"},
	}
	if _, err := secrets.Create(ctx, broken, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, 30*time.Second, func() (bool, string) {
		for _, r := range gyre.listRepos().Items {
			if r.Secret == systemNamespace+"/broken" {
				return strings.Contains(r.Invalid, "sshPrivateKey"), fmt.Sprintf("listed as %+v", r)
			}
		}
		return false, "the broken Secret is not listed"
	})
	if !strings.Contains(p.stderr.String(), "Secrets left out") {
		t.Errorf("gyre serve did not log the broken Secret:\n%s", tailOf(p.stderr, 3000))
	}

	// ssh, with a key and known_hosts, through gyre repo add.
	clientKey, clientPEM := testsupport.SSHKey(t)
	sshSrv := testsupport.ServeGitSSH(t, clientKey.PublicKey())
	sshRepo := testsupport.NewRepo(t)
	sshSHA := sshRepo.Commit("ssh", map[string]string{"cm.yaml": configMapDoc("over-ssh", "ssh")})
	sshURL := fmt.Sprintf("ssh://git@%s%s", sshSrv.Addr, filepath.ToSlash(sshRepo.Dir))
	getSSH := createAutomatedApp(t, apps, "over-ssh", sshURL, "", dest)
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		return conditionSays(getSSH(), "sshPrivateKey")
	})
	files := t.TempDir()
	keyFile, hostsFile := filepath.Join(files, "id"), filepath.Join(files, "known_hosts")
	if err := os.WriteFile(keyFile, clientPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hostsFile, []byte(sshSrv.KnownHosts), 0o600); err != nil {
		t.Fatal(err)
	}
	gyre.run("", "repo", "add", sshURL, "--ssh-key", keyFile, "--known-hosts", hostsFile)
	testsupport.Eventually(t, time.Minute, func() (bool, string) {
		a := getSSH()
		return a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == sshSHA && configMapValues(t, c, dest)["over-ssh"] == "ssh",
			fmt.Sprintf("ssh app %s at %.7s; conditions %+v", a.Status.Sync.Status, a.Status.Sync.Revision, a.Status.Conditions)
	})
	table = gyre.run("", "repo", "list")
	if !strings.Contains(table, "ssh key +known hosts") {
		t.Errorf("gyre repo list does not show the ssh key with known hosts:\n%s", table)
	}

	// The password and the private key appear in no log line, status,
	// event, API answer, metric or CLI output.
	var seen []string
	for _, path := range []string{
		"/api/v1/repositories", "/api/v1/applications",
		"/api/v1/applications/" + systemNamespace + "/private",
		"/api/v1/applications/" + systemNamespace + "/private/history",
		"/api/v1/applications/" + systemNamespace + "/over-ssh",
		"/metrics",
	} {
		seen = append(seen, apiGet(t, p.url+path, gyre.token))
	}
	for _, get := range []func() *app.Application{get, getSSH} {
		a, _ := json.Marshal(get())
		seen = append(seen, string(a))
	}
	events, err := c.Client.CoreV1().Events("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		seen = append(seen, e.Message)
	}
	seen = append(seen, p.stderr.String())
	seen = append(seen, gyre.printed...)
	keyBody := strings.Split(strings.TrimSpace(string(clientPEM)), "\n")[1]
	for _, s := range seen {
		for _, secret := range []string{privatePassword, wrongPassword, keyBody} {
			if strings.Contains(s, secret) {
				t.Errorf("a secret shows in %.300s", s)
			}
		}
	}
	if !strings.Contains(p.stderr.String(), "repository credentials changed") {
		t.Errorf("gyre serve did not log the credential changes:\n%s", tailOf(p.stderr, 3000))
	}
}

// apiGet reads path with token and returns the body; it fails the test on
// a status other than 200.
func apiGet(t *testing.T, url, token string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return string(body)
}

// mapKeys returns the keys of a Secret's data, for a failure message that
// shows no value.
func mapKeys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

package source_test

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gyre-cd/gyre/source"
)

const (
	httpUser     = "deploy"
	httpPassword = "s3cret-Passw0rd"
)

// httpCredentials answers every repository with httpUser and httpPassword,
// which serveGitHTTP asks for.
var httpCredentials = source.CredentialsFunc(func(string) (source.Credentials, error) {
	return source.Credentials{Username: httpUser, Password: httpPassword}, nil
})

// gitHTTPServer serves the repositories under root with real git
// (git http-backend behind net/http/cgi), requiring basic auth. A refused
// request gets a body that echoes the password it was given, as a careless
// server might, so tests can check that it never reaches an error message.
type gitHTTPServer struct {
	*httptest.Server
	infoRefs atomic.Int64 // ref advertisements served
}

func serveGitHTTP(t *testing.T, root string) *gitHTTPServer { return serveGit(t, root, false) }

// serveGitHTTPS is serveGitHTTP over TLS with a self-signed certificate.
func serveGitHTTPS(t *testing.T, root string) *gitHTTPServer { return serveGit(t, root, true) }

func serveGit(t *testing.T, root string, useTLS bool) *gitHTTPServer {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git binary not installed: it serves repositories over HTTP in this test (CI installs it)")
	}
	backend := &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	s := &gitHTTPServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != httpUser || pass != httpPassword {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte("denied for " + user + ":" + pass))
			return
		}
		if strings.HasSuffix(r.URL.Path, "/info/refs") {
			s.infoRefs.Add(1)
		}
		backend.ServeHTTP(w, r)
	}))
	if useTLS {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// credentialSecret is a gyre repository Secret for url.
func credentialSecret(name, url string, typ source.SecretType, data map[string]string) corev1.Secret {
	s := corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "gyre", Name: name,
			Labels: map[string]string{source.LabelSecretType: string(typ)},
		},
		Data: map[string][]byte{source.SecretKeyURL: []byte(url)},
	}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestHTTPWithBasicAuthFromSecret(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepoAt(t, filepath.Join(root, "team.git"))
	first := repo.commit("first", map[string]string{"apps/a/cm.yaml": "v: 1\n"})
	second := repo.commit("second", map[string]string{"apps/a/cm.yaml": "v: 2\n"})
	third := repo.commit("third", map[string]string{"apps/b/cm.yaml": "v: 1\n"})
	repo.tag("v2", second, true)
	srv := serveGitHTTP(t, root)
	url := srv.URL + "/team.git" // the Secret says /team: NormalizeURL drops .git

	creds, err := source.CredentialsFromSecrets([]corev1.Secret{
		credentialSecret("org", srv.URL, source.SecretTypeRepoCreds, map[string]string{
			source.SecretKeyUsername: "wrong", source.SecretKeyPassword: "wrong-password",
		}),
		credentialSecret("team", srv.URL+"/team", source.SecretTypeRepository, map[string]string{
			source.SecretKeyUsername: httpUser, source.SecretKeyPassword: httpPassword,
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	cacheDir := t.TempDir()
	c, n, clock := newCache(t, source.Options{Dir: cacheDir, Credentials: creds})
	ctx := context.Background()

	got, err := c.Resolve(ctx, url, "main")
	if err != nil || got != third {
		t.Fatalf("Resolve(main) over HTTP = %q, %v; want %s", got, err, third)
	}
	snap, err := c.Files(ctx, url, third, "apps")
	if err != nil {
		t.Fatal(err)
	}
	if data, err := snap.ReadFile("a/cm.yaml"); err != nil || string(data) != "v: 2\n" {
		t.Errorf("ReadFile(a/cm.yaml) = %q, %v", data, err)
	}

	// The tip was fetched shallowly: the cache knows the tip commit as a
	// shallow boundary and does not hold its parent.
	shallow := readShallow(t, cacheDir)
	if !strings.Contains(shallow, third) {
		t.Errorf("after fetching main, shallow = %q; want it to hold %s (a depth-1 fetch)", shallow, third)
	}
	fetches := n.fetches()
	// A commit that is not a ref tip needs the history: one full fetch.
	if got, err := c.Resolve(ctx, url, first[:7]); err != nil || got != first {
		t.Fatalf("Resolve(short SHA in history) = %q, %v; want %s", got, err, first)
	}
	if n.fetches() != fetches+1 {
		t.Errorf("resolving a commit in history made %d fetches, want 1", n.fetches()-fetches)
	}
	if shallow := readShallow(t, cacheDir); shallow != "" {
		t.Errorf("after the full fetch, shallow = %q; want none", shallow)
	}
	if paths, err := c.ChangedPaths(ctx, url, first, second); err != nil || len(paths) != 1 || paths[0] != "apps/a/cm.yaml" {
		t.Errorf("ChangedPaths(first, second) = %q, %v", paths, err)
	}

	if got, err := c.Resolve(ctx, url, "v2"); err != nil || got != second {
		t.Errorf("Resolve(annotated tag) over HTTP = %q, %v; want %s", got, err, second)
	}

	// A new commit after the full fetch is fetched shallowly again.
	fourth := repo.commit("fourth", map[string]string{"apps/b/cm.yaml": "v: 2\n"})
	clock.Advance(2 * time.Minute)
	if got, err := c.Resolve(ctx, url, "main"); err != nil || got != fourth {
		t.Fatalf("Resolve(main) after a push = %q, %v; want %s", got, err, fourth)
	}
	if paths, err := c.ChangedPaths(ctx, url, third, fourth); err != nil || len(paths) != 1 || paths[0] != "apps/b/cm.yaml" {
		t.Errorf("ChangedPaths(third, fourth) = %q, %v", paths, err)
	}
	if srv.infoRefs.Load() == 0 {
		t.Error("the HTTP server saw no ref advertisement")
	}
}

// readShallow returns the cache's shallow file for the only repository the
// cache has touched.
func readShallow(t *testing.T, cacheDir string) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(cacheDir, "*", "HEAD"))
	if len(matches) != 1 {
		t.Fatalf("want one cached repository, found %d", len(matches))
	}
	data, err := os.ReadFile(filepath.Join(filepath.Dir(matches[0]), "shallow"))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func TestHTTPWrongCredentials(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepoAt(t, filepath.Join(root, "team"))
	repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	srv := serveGitHTTP(t, root)
	url := srv.URL + "/team"
	const wrong = "not-the-Passw0rd"

	for name, creds := range map[string]source.CredentialSource{
		"wrong password": source.CredentialsFunc(func(string) (source.Credentials, error) {
			return source.Credentials{Username: httpUser, Password: wrong}, nil
		}),
		"no credentials": nil,
	} {
		t.Run(name, func(t *testing.T) {
			c, _, _ := newCache(t, source.Options{Credentials: creds})
			// A password in the URL is never used nor shown.
			_, err := c.Resolve(context.Background(), strings.Replace(url, "http://", "http://"+httpUser+":"+httpPassword+"@", 1), "main")
			if !errors.Is(err, source.ErrAuth) {
				t.Fatalf("Resolve = %v, want ErrAuth", err)
			}
			msg := err.Error()
			for _, secret := range []string{wrong, httpPassword} {
				if strings.Contains(msg, secret) {
					t.Errorf("error message %q contains a password", msg)
				}
			}
			for _, want := range []string{url, `"main"`, "authentication"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error message %q does not mention %q", msg, want)
				}
			}
		})
	}
}

func TestPacksMergedKeepEveryCommit(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepoAt(t, filepath.Join(root, "app"))
	srv := serveGitHTTP(t, root)
	url := srv.URL + "/app"
	cacheDir := t.TempDir()
	c, n, _ := newCache(t, source.Options{Dir: cacheDir, Credentials: httpCredentials})
	source.SetMaxPacks(c, 3)
	ctx := context.Background()

	// Each push is fetched shallowly into a pack of its own; once no ref
	// reaches the older commits, merging packs must still keep them.
	var shas []string
	for i := range 8 {
		shas = append(shas, repo.commit(fmt.Sprint("c", i), map[string]string{"v.yaml": fmt.Sprintf("v: %d\n", i)}))
		c.Refresh(url)
		if got, err := c.Resolve(ctx, url, "main"); err != nil || got != shas[i] {
			t.Fatalf("Resolve after push %d = %q, %v", i, got, err)
		}
	}
	if n.fetches() != 8 {
		t.Fatalf("%d fetches, want 8", n.fetches())
	}
	packs, _ := filepath.Glob(filepath.Join(cacheDir, "*", "objects", "pack", "*.pack"))
	if len(packs) > 3 {
		t.Errorf("%d packs after 8 fetches, want at most 3", len(packs))
	}
	fetches := n.fetches()
	for i, sha := range shas {
		snap, err := c.Files(ctx, url, sha, "")
		if err != nil {
			t.Fatalf("commit %d after merging packs: %v", i, err)
		}
		if data, err := snap.ReadFile("v.yaml"); err != nil || string(data) != fmt.Sprintf("v: %d\n", i) {
			t.Errorf("commit %d: v.yaml = %q, %v", i, data, err)
		}
	}
	if n.fetches() != fetches {
		t.Errorf("reading cached commits fetched %d times", n.fetches()-fetches)
	}
}

func TestHTTPSWithCAData(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepoAt(t, filepath.Join(root, "app"))
	sha := repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	srv := serveGitHTTPS(t, root)
	url := srv.URL + "/app"
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	tests := []struct {
		name  string
		extra map[string]string
		ok    bool
	}{
		{"caData trusts the server", map[string]string{source.SecretKeyCAData: string(caPEM)}, true},
		{"unknown authority is refused", nil, false},
		{"explicit insecureSkipVerify", map[string]string{source.SecretKeyInsecureSkipVerify: "true"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := map[string]string{source.SecretKeyUsername: httpUser, source.SecretKeyPassword: httpPassword}
			for k, v := range tt.extra {
				data[k] = v
			}
			creds, err := source.CredentialsFromSecrets([]corev1.Secret{credentialSecret("tls", url, source.SecretTypeRepository, data)})
			if err != nil {
				t.Fatal(err)
			}
			c, _, _ := newCache(t, source.Options{Credentials: creds})
			got, err := c.Resolve(context.Background(), url, "main")
			if tt.ok && (err != nil || got != sha) {
				t.Fatalf("Resolve over https = %q, %v; want %s", got, err, sha)
			}
			if !tt.ok && !errors.Is(err, source.ErrUnreachable) {
				t.Fatalf("Resolve over https with an unknown CA = %q, %v; want ErrUnreachable", got, err)
			}
		})
	}
}

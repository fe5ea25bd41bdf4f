package source_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gyre-cd/gyre/source"
)

// swappableCredentials is a CredentialSource whose Secrets a test replaces
// while the Cache runs, as cmd/'s informer does.
type swappableCredentials struct {
	current atomic.Pointer[source.SecretCredentials]
}

func (s *swappableCredentials) set(t *testing.T, secrets ...corev1.Secret) {
	t.Helper()
	set, err := source.CredentialsFromSecrets(secrets)
	if err != nil {
		t.Fatal(err)
	}
	s.current.Store(set)
}

func (s *swappableCredentials) Credentials(repoURL string) (source.Credentials, error) {
	return s.current.Load().Credentials(repoURL)
}

// TestHTTPCredentialsApplyLive drives one Cache, never rebuilt and with its
// clock standing still, against a git server that wants basic auth, while
// the credentials Secrets change under it: each change applies to the very
// next Resolve, whatever listing or refusal the cache held, and no password
// reaches an error, a status or a log line.
func TestHTTPCredentialsApplyLive(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepoAt(t, filepath.Join(root, "private.git"))
	sha := repo.commit("first", map[string]string{"apps/a/cm.yaml": "v: 1\n"})
	srv := serveGitHTTP(t, root)
	url := srv.URL + "/private.git"
	const wrongPassword = "wr0ng-Passw0rd-value"

	var logs testsupport.LockedBuffer
	creds := &swappableCredentials{}
	creds.set(t)
	c, _, _ := newCache(t, source.Options{
		Credentials: creds,
		Logger:      slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	ctx := context.Background()
	noSecret := func(what, s string) {
		t.Helper()
		for _, secret := range []string{httpPassword, wrongPassword} {
			if strings.Contains(s, secret) {
				t.Errorf("%s shows a password: %s", what, s)
			}
		}
	}
	refused := func(step string, hint bool) {
		t.Helper()
		_, err := c.Resolve(ctx, url, "main")
		if !errors.Is(err, source.ErrAuth) {
			t.Fatalf("%s: Resolve = %v; want ErrAuth", step, err)
		}
		msg := err.Error()
		noSecret(step+": error", msg)
		for _, want := range []string{srv.URL + "/private", `"main"`, "authentication required"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: error %q does not say %q", step, msg, want)
			}
		}
		if got := strings.Contains(msg, "gyre repo add"); got != hint {
			t.Errorf("%s: error %q; want a hint to add credentials: %v", step, msg, hint)
		}
		st, ok := c.Status(url)
		if !ok || st.Reachable() || !errors.Is(st.Err, source.ErrAuth) || st.CheckedAt.IsZero() {
			t.Errorf("%s: Status = %+v, %v; want a refusal recorded", step, st, ok)
		}
		noSecret(step+": status", fmt.Sprint(st.Err))
	}
	synced := func(step string) {
		t.Helper()
		got, err := c.Resolve(ctx, url, "main")
		if err != nil || got != sha {
			t.Fatalf("%s: Resolve = %q, %v; want %s", step, got, err, sha)
		}
		st, ok := c.Status(url)
		if !ok || !st.Reachable() || st.ListedAt.IsZero() {
			t.Errorf("%s: Status = %+v, %v; want reachable", step, st, ok)
		}
	}
	basic := func(password string) map[string]string {
		return map[string]string{source.SecretKeyUsername: httpUser, source.SecretKeyPassword: password}
	}

	refused("anonymous", true)
	creds.set(t, credentialSecret("private", url, source.SecretTypeRepository, basic(wrongPassword)))
	refused("wrong password", false)

	// A Helm repository's credentials at the same address are not a git
	// server's.
	helm := credentialSecret("private", url, source.SecretTypeRepository, basic(httpPassword))
	helm.Data[source.SecretKeyType] = []byte("helm")
	creds.set(t, helm)
	refused("a helm Secret only", true)

	creds.set(t, credentialSecret("private", url, source.SecretTypeRepository, basic(httpPassword)))
	synced("right password")
	if st, _ := c.Status(url); st.FetchedAt.IsZero() {
		t.Errorf("Status after the first fetch = %+v; want FetchedAt", st)
	}
	snap, err := c.Files(ctx, url, sha, "apps/a")
	if err != nil {
		t.Fatal(err)
	}
	if data, err := snap.ReadFile("cm.yaml"); err != nil || string(data) != "v: 1\n" {
		t.Errorf("ReadFile(cm.yaml) = %q, %v", data, err)
	}

	// The Secret goes: the cached listing goes with it, and the next
	// Resolve asks the server, which refuses.
	creds.set(t)
	refused("Secret deleted", true)

	// Argo CD's Secrets work as they are, repo-creds for the host here.
	argo := credentialSecret("argocd-creds", srv.URL, source.SecretTypeRepoCreds, basic(httpPassword))
	argo.Labels = map[string]string{source.LabelArgoCDSecretType: string(source.SecretTypeRepoCreds)}
	argo.Data[source.SecretKeyType] = []byte("git")
	creds.set(t, argo)
	synced("Argo CD repo-creds Secret")

	noSecret("the cache's log", logs.String())
	if !strings.Contains(logs.String(), "credentials changed") {
		t.Errorf("the cache did not log that it listed again for new credentials:\n%s", logs.String())
	}
}

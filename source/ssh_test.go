package source_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	corev1 "k8s.io/api/core/v1"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/source"
)

func TestSSHWithKeyAndKnownHostsFromSecret(t *testing.T) {
	clientKey, clientPEM := testsupport.SSHKey(t)
	srv := testsupport.ServeGitSSH(t, clientKey.PublicKey())
	repo := newTestRepo(t)
	sha := repo.commit("first", map[string]string{"apps/a/cm.yaml": "v: 1\n"})
	url := fmt.Sprintf("ssh://git@%s%s", srv.Addr, filepath.ToSlash(repo.dir))
	knownHost := srv.KnownHosts
	_, otherPEM := testsupport.SSHKey(t)
	otherHost, _ := testsupport.SSHKey(t)

	tests := []struct {
		name string
		data map[string]string
		is   error // nil: Resolve succeeds
		says string
	}{
		{"key and knownHosts", map[string]string{
			source.SecretKeySSHPrivateKey: string(clientPEM), source.SecretKeyKnownHosts: knownHost,
		}, nil, ""},
		{"no knownHosts fails closed", map[string]string{
			source.SecretKeySSHPrivateKey: string(clientPEM),
		}, source.ErrAuth, "knownHosts"},
		{"no knownHosts, explicit opt-out", map[string]string{
			source.SecretKeySSHPrivateKey: string(clientPEM), source.SecretKeyInsecureIgnoreHostKey: "true",
		}, nil, ""},
		{"host key mismatch", map[string]string{
			source.SecretKeySSHPrivateKey: string(clientPEM),
			source.SecretKeyKnownHosts:    knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, otherHost.PublicKey()),
		}, source.ErrAuth, "key mismatch"},
		{"key the server does not accept", map[string]string{
			source.SecretKeySSHPrivateKey: string(otherPEM), source.SecretKeyKnownHosts: knownHost,
		}, source.ErrAuth, "unable to authenticate"},
		{"no key at all", map[string]string{source.SecretKeyKnownHosts: knownHost}, source.ErrAuth, "sshPrivateKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds, err := source.CredentialsFromSecrets([]corev1.Secret{
				credentialSecret("ssh", url, source.SecretTypeRepository, tt.data),
			})
			if err != nil {
				t.Fatal(err)
			}
			c, _, _ := newCache(t, source.Options{Credentials: creds})
			got, err := c.Resolve(context.Background(), url, "main")
			if tt.is == nil {
				if err != nil || got != sha {
					t.Fatalf("Resolve over ssh = %q, %v; want %s", got, err, sha)
				}
				snap, err := c.Files(context.Background(), url, sha, "apps/a")
				if err != nil {
					t.Fatal(err)
				}
				if data, err := snap.ReadFile("cm.yaml"); err != nil || string(data) != "v: 1\n" {
					t.Errorf("ReadFile = %q, %v", data, err)
				}
				return
			}
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Resolve = %v; want %v saying %q", err, tt.is, tt.says)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error shows the key: %v", err)
			}
		})
	}
	if srv.Sessions() == 0 {
		t.Error("the SSH server ran no upload-pack")
	}
}

// portRewrite sends every ssh connection to port, so scp-style addresses
// (which cannot name a port) reach the test server.
type portRewrite struct {
	transport.Transport
	port int
}

func (p portRewrite) NewUploadPackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.UploadPackSession, error) {
	moved := *ep
	moved.Port = p.port
	return p.Transport.NewUploadPackSession(&moved, auth)
}

func TestSSHScpStyleURL(t *testing.T) {
	clientKey, clientPEM := testsupport.SSHKey(t)
	srv := testsupport.ServeGitSSH(t, clientKey.PublicKey())
	repo := newTestRepo(t)
	sha := repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	scp := "git@127.0.0.1:" + filepath.ToSlash(repo.dir)

	creds, err := source.CredentialsFromSecrets([]corev1.Secret{
		// repo-creds for the whole host, written in ssh:// form: the
		// scp-style repository URL matches it after normalisation.
		credentialSecret("host", "ssh://git@127.0.0.1", source.SecretTypeRepoCreds, map[string]string{
			source.SecretKeySSHPrivateKey: string(clientPEM),
			source.SecretKeyKnownHosts:    srv.KnownHosts,
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := source.New(source.Options{
		Dir: t.TempDir(), Credentials: creds,
		WrapTransport: func(scheme string, tr transport.Transport) transport.Transport {
			if scheme == "ssh" {
				return portRewrite{tr, srv.Port}
			}
			return tr
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Resolve(context.Background(), scp, "main")
	if err != nil || got != sha {
		t.Fatalf("Resolve(%s) = %q, %v; want %s", scp, got, err, sha)
	}
}

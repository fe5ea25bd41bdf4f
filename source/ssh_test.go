package source_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	corev1 "k8s.io/api/core/v1"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/gyre-cd/gyre/source"
)

// gitSSHServer is an in-process SSH server (golang.org/x/crypto/ssh) that
// accepts one client key and runs the real git upload-pack for each exec
// request, as a git host does.
type gitSSHServer struct {
	addr     string
	port     int
	hostKey  ssh.PublicKey
	sessions atomic.Int64
}

// newKey returns an ed25519 key as an ssh signer and as PEM.
func newKey(t *testing.T) (ssh.Signer, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return signer, pem.EncodeToMemory(block)
}

func serveGitSSH(t *testing.T, client ssh.PublicKey) *gitSSHServer {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git binary not installed: it runs upload-pack behind the test SSH server (CI installs it)")
	}
	hostSigner, _ := newKey(t)
	config := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), client.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	config.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &gitSSHServer{addr: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port, hostKey: hostSigner.PublicKey()}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.handle(conn, config, git)
		}
	}()
	return s
}

func (s *gitSSHServer) handle(conn net.Conn, config *ssh.ServerConfig, git string) {
	defer conn.Close()
	_, chans, reqs, err := ssh.NewServerConn(conn, config)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			defer ch.Close()
			for req := range creqs {
				if req.Type != "exec" {
					_ = req.Reply(false, nil)
					continue
				}
				var payload struct{ Command string }
				if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
					_ = req.Reply(false, nil)
					return
				}
				// go-git sends: git-upload-pack '/path/to/repo'
				fields := strings.SplitN(payload.Command, " ", 2)
				if len(fields) != 2 || fields[0] != "git-upload-pack" {
					_ = req.Reply(false, nil)
					return
				}
				_ = req.Reply(true, nil)
				s.sessions.Add(1)
				cmd := exec.Command(git, "upload-pack", strings.Trim(fields[1], "'"))
				stdin, _ := cmd.StdinPipe()
				cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
				go func() { _, _ = io.Copy(stdin, ch); stdin.Close() }()
				status := uint32(0)
				if err := cmd.Run(); err != nil {
					status = 1
				}
				_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
				return
			}
		}()
	}
}

func TestSSHWithKeyAndKnownHostsFromSecret(t *testing.T) {
	clientKey, clientPEM := newKey(t)
	srv := serveGitSSH(t, clientKey.PublicKey())
	repo := newTestRepo(t)
	sha := repo.commit("first", map[string]string{"apps/a/cm.yaml": "v: 1\n"})
	url := fmt.Sprintf("ssh://git@%s%s", srv.addr, filepath.ToSlash(repo.dir))
	knownHost := knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, srv.hostKey) + "\n"
	_, otherPEM := newKey(t)
	otherHost, _ := newKey(t)

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
			source.SecretKeyKnownHosts:    knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, otherHost.PublicKey()),
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
	if srv.sessions.Load() == 0 {
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
	clientKey, clientPEM := newKey(t)
	srv := serveGitSSH(t, clientKey.PublicKey())
	repo := newTestRepo(t)
	sha := repo.commit("first", map[string]string{"a.yaml": "a: 1\n"})
	scp := "git@127.0.0.1:" + filepath.ToSlash(repo.dir)

	creds, err := source.CredentialsFromSecrets([]corev1.Secret{
		// repo-creds for the whole host, written in ssh:// form: the
		// scp-style repository URL matches it after normalisation.
		credentialSecret("host", "ssh://git@127.0.0.1", source.SecretTypeRepoCreds, map[string]string{
			source.SecretKeySSHPrivateKey: string(clientPEM),
			source.SecretKeyKnownHosts:    knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, srv.hostKey),
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := source.New(source.Options{
		Dir: t.TempDir(), Credentials: creds,
		WrapTransport: func(scheme string, tr transport.Transport) transport.Transport {
			if scheme == "ssh" {
				return portRewrite{tr, srv.port}
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

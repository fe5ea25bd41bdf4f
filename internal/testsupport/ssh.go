package testsupport

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHKey returns a fresh ed25519 key as an ssh signer and as PEM.
func SSHKey(t testing.TB) (ssh.Signer, []byte) {
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

// GitSSHServer is an in-process ssh server (golang.org/x/crypto/ssh) that
// accepts one client key and runs the real `git upload-pack DIR` for each
// exec request, as a git host does. A repository in /x is at
// ssh://git@<Addr>/x.
type GitSSHServer struct {
	// Addr is the server's host:port, Port its port.
	Addr string
	Port int
	// HostKey is the server's host key; KnownHosts its known_hosts line.
	HostKey    ssh.PublicKey
	KnownHosts string

	sessions atomic.Int64
}

// Sessions returns how many upload-pack sessions the server has run.
func (s *GitSSHServer) Sessions() int64 { return s.sessions.Load() }

// ServeGitSSH starts a GitSSHServer that accepts the key client, until the
// test ends. It skips the test when no git binary is installed.
func ServeGitSSH(t testing.TB, client ssh.PublicKey) *GitSSHServer {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git binary not installed: it runs upload-pack behind the test ssh server (CI installs it)")
	}
	host, _ := SSHKey(t)
	config := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		if bytes.Equal(key.Marshal(), client.Marshal()) {
			return nil, nil
		}
		return nil, errors.New("unknown key")
	}}
	config.AddHostKey(host)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	addr := ln.Addr().String()
	s := &GitSSHServer{
		Addr:       addr,
		Port:       ln.Addr().(*net.TCPAddr).Port,
		HostKey:    host.PublicKey(),
		KnownHosts: knownhosts.Line([]string{knownhosts.Normalize(addr)}, host.PublicKey()) + "\n",
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn, config, git)
		}
	}()
	return s
}

// serve runs `git upload-pack DIR` for each exec request of conn.
func (s *GitSSHServer) serve(conn net.Conn, config *ssh.ServerConfig, git string) {
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
				var exe struct{ Command string }
				if req.Type != "exec" || ssh.Unmarshal(req.Payload, &exe) != nil {
					_ = req.Reply(false, nil)
					continue
				}
				// go-git sends: git-upload-pack '/path/to/repo'
				name, dir, _ := strings.Cut(exe.Command, " ")
				if name != "git-upload-pack" {
					_ = req.Reply(false, nil)
					continue
				}
				_ = req.Reply(true, nil)
				s.sessions.Add(1)
				cmd := exec.Command(git, "upload-pack", strings.Trim(dir, "'"))
				stdin, _ := cmd.StdinPipe()
				cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
				go func() { _, _ = io.Copy(stdin, ch); stdin.Close() }()
				status := uint32(0)
				if cmd.Run() != nil {
					status = 1
				}
				_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
				return
			}
		}()
	}
}

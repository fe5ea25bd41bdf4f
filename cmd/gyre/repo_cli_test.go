package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/source"
	"github.com/gyre-cd/gyre/web"
)

// TestRepoAddRequest: `gyre repo add` reads the password from stdin and
// the key files from disk, and refuses a URL that carries a password
// without printing it.
func TestRepoAddRequest(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	if err := os.WriteFile(key, []byte("KEY"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := repoAddOptions{Username: "bot", PasswordStdin: true, SSHKeyFile: key, Type: "git", Creds: true, InsecureSkipVerify: true}
	req, err := f.request("https://git.example.com/org", strings.NewReader("t0ken-value\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if req.Password != "t0ken-value" || req.SSHPrivateKey != "KEY" || req.Kind != source.SecretTypeRepoCreds || req.Type != source.RepoTypeGit || !req.InsecureSkipVerify || req.Username != "bot" {
		t.Errorf("request %+v", req)
	}
	if _, err := f.request("https://git.example.com/org", strings.NewReader("")); err == nil || !strings.Contains(err.Error(), "standard input is empty") {
		t.Errorf("empty stdin: %v", err)
	}
	_, err = (&repoAddOptions{Type: "git"}).request("https://bot:pa55-value@git.example.com/org", strings.NewReader(""))
	if err == nil || strings.Contains(err.Error(), "pa55-value") || !strings.Contains(err.Error(), "--password-stdin") {
		t.Errorf("a URL with a password: %v", err)
	}
	if _, err := (&repoAddOptions{CAFile: filepath.Join(dir, "missing")}).request("https://git.example.com/org", strings.NewReader("")); err == nil || !strings.Contains(err.Error(), "--ca-file") {
		t.Errorf("a missing --ca-file: %v", err)
	}
}

// TestRepoListCells: the AUTH and REACHABLE columns of `gyre repo list`.
func TestRepoListCells(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	fetched := now.Add(-90 * time.Second)
	older := now.Add(-time.Hour)
	for _, tt := range []struct {
		r                        web.Repository
		auth, reachable, fetched string
		msg                      string
	}{
		{web.Repository{Auth: source.AuthBasic, Username: "bot", CAData: true}, "basic (bot) +CA", "-", "-", ""},
		{web.Repository{Auth: source.AuthSSHKey, KnownHosts: true, Repositories: []web.RepositoryState{{URL: "ssh://h/a", Reachable: true, FetchedAt: &fetched}}},
			"ssh key +known hosts", "yes", "90s", ""},
		{web.Repository{Auth: source.AuthAnonymous, InsecureSkipVerify: true, Repositories: []web.RepositoryState{{URL: "https://h/a", Error: "refused"}}},
			"anonymous +no TLS verify", "no", "-", "refused"},
		{web.Repository{Auth: source.AuthBasic, Kind: source.SecretTypeRepoCreds, Repositories: []web.RepositoryState{
			{URL: "https://h/a", Reachable: true, FetchedAt: &older}, {URL: "https://h/b", Error: "refused"}, {URL: "https://h/c", Reachable: true, FetchedAt: &fetched},
		}}, "basic", "2/3", "90s", "https://h/b: refused"},
	} {
		if got := authSummary(tt.r); got != tt.auth {
			t.Errorf("authSummary(%+v) = %q, want %q", tt.r, got, tt.auth)
		}
		reachable, f, msg := repoHealth(tt.r, now)
		if reachable != tt.reachable || f != tt.fetched || msg != tt.msg {
			t.Errorf("repoHealth(%+v) = %q %q %q, want %q %q %q", tt.r, reachable, f, msg, tt.reachable, tt.fetched, tt.msg)
		}
	}
}

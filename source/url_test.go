package source_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/source"
)

func TestNormalizeURL(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in, want string
	}{
		{"https with .git and case", "https://GitHub.com/Org/Repo.git", "https://github.com/Org/Repo"},
		{"https plain", "https://github.com/Org/Repo", "https://github.com/Org/Repo"},
		{"trailing slash", "https://github.com/Org/Repo/", "https://github.com/Org/Repo"},
		{".git then slash", "https://github.com/Org/Repo.git/", "https://github.com/Org/Repo"},
		{"user and password dropped", "https://user:tok3n@github.com/org/repo.git", "https://github.com/org/repo"},
		{"token as user dropped", "https://ghp_abc@github.com/org/repo", "https://github.com/org/repo"},
		{"default https port dropped", "https://github.com:443/org/repo", "https://github.com/org/repo"},
		{"other port kept", "https://git.example.com:8443/org/repo", "https://git.example.com:8443/org/repo"},
		{"upper-case scheme", "HTTPS://github.com/org/repo", "https://github.com/org/repo"},
		{"query and fragment dropped", "https://github.com/org/repo?x=1#y", "https://github.com/org/repo"},
		{"http", "http://gitea.local/org/repo.git", "http://gitea.local/org/repo"},
		{"scp-style", "git@github.com:Org/Repo.git", "ssh://github.com/Org/Repo"},
		{"scp-style without user", "github.com:org/repo", "ssh://github.com/org/repo"},
		{"scp-style absolute path", "git@host.example:/srv/git/repo.git", "ssh://host.example/srv/git/repo"},
		{"ssh URL", "ssh://git@GitHub.com/Org/Repo.git", "ssh://github.com/Org/Repo"},
		{"ssh default port dropped", "ssh://git@github.com:22/org/repo", "ssh://github.com/org/repo"},
		{"ssh other port kept", "ssh://git@github.com:2222/org/repo", "ssh://github.com:2222/org/repo"},
		{"git protocol", "git://example.com/repo.git", "git://example.com/repo"},
		{"file URL keeps .git", "file:///srv/git/repo.git", "file:///srv/git/repo.git"},
		{"file URL cleaned", "file:///srv/git/./a/../repo/", "file:///srv/git/repo"},
		{"absolute path", "/srv/git/repo", "file:///srv/git/repo"},
		{"relative path", "repos/app", "file://" + filepath.ToSlash(filepath.Join(wd, "repos/app"))},
		{"dot path with colon", "./a:b", "file://" + filepath.ToSlash(filepath.Join(wd, "a:b"))},
		{"IPv6 host", "https://[::1]:443/org/repo", "https://[::1]/org/repo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := source.NormalizeURL(tt.in)
			if err != nil {
				t.Fatalf("NormalizeURL(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("NormalizeURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := source.NormalizeURL(got)
			if err != nil || again != got {
				t.Errorf("NormalizeURL is not idempotent: %q → %q, %v", got, again, err)
			}
		})
	}
}

func TestNormalizeURLErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"   ",
		"ftp://example.com/repo",
		"https:///no-host",
		"file://remote-host/srv/repo",
		"https://user:hunter22@exa mple.com/repo",
	} {
		_, err := source.NormalizeURL(in)
		if err == nil {
			t.Errorf("NormalizeURL(%q) succeeded, want an error", in)
			continue
		}
		if strings.Contains(err.Error(), "hunter22") {
			t.Errorf("NormalizeURL(%q) error shows the password: %v", in, err)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:pass@github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://ghp_token@github.com/org/repo", "https://github.com/org/repo"},
		{"https://github.com/org/repo", "https://github.com/org/repo"},
		{"ssh://git:pass@github.com/org/repo", "ssh://git@github.com/org/repo"},
		{"ssh://git@github.com/org/repo", "ssh://git@github.com/org/repo"},
		{"git@github.com:org/repo.git", "git@github.com:org/repo.git"},
		{"user:pass@github.com:org/repo.git", "github.com:org/repo.git"},
		{"/srv/git/repo", "/srv/git/repo"},
		{
			`Get "https://u:p4ss@host/x/info/refs": dial tcp: refused`,
			`Get "https://host/x/info/refs": dial tcp: refused`,
		},
	}
	for _, tt := range tests {
		if got := source.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

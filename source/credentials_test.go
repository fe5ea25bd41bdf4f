package source_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gyre-cd/gyre/source"
)

func TestCredentialsFromSecrets(t *testing.T) {
	_, keyPEM := newKey(t)
	secrets := []corev1.Secret{
		credentialSecret("host", "https://git.example.com", source.SecretTypeRepoCreds, map[string]string{
			source.SecretKeyPassword: "host-token",
		}),
		credentialSecret("org", "https://git.example.com/org/", source.SecretTypeRepoCreds, map[string]string{
			source.SecretKeyUsername: "org-bot", source.SecretKeyPassword: "org-token",
		}),
		credentialSecret("app", "https://GIT.example.com/org/app.git", source.SecretTypeRepository, map[string]string{
			source.SecretKeyUsername: "app-bot", source.SecretKeyPassword: "app-token",
			source.SecretKeyInsecureSkipVerify: "true",
		}),
		credentialSecret("ssh", "git@git.example.com:org/app", source.SecretTypeRepository, map[string]string{
			source.SecretKeySSHPrivateKey: string(keyPEM), source.SecretKeyInsecureIgnoreHostKey: "TRUE",
		}),
		// Not labelled: ignored.
		{ObjectMeta: metav1.ObjectMeta{Namespace: "gyre", Name: "other"},
			Data: map[string][]byte{source.SecretKeyURL: []byte("https://git.example.com/org/app"), source.SecretKeyPassword: []byte("x")}},
	}
	set, err := source.CredentialsFromSecrets(secrets)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url, wantPassword string
		wantKey           bool
	}{
		{"https://git.example.com/org/app", "app-token", false},         // exact beats prefixes
		{"https://git.example.com/org/app.git/", "app-token", false},    // any spelling
		{"https://git.example.com/org/other", "org-token", false},       // longest prefix
		{"https://git.example.com/org", "org-token", false},             // the prefix itself
		{"https://git.example.com/organisation/x", "host-token", false}, // path boundary
		{"https://git.example.com/team/x", "host-token", false},
		{"https://other.example.com/org/app", "", false},    // nothing
		{"ssh://git@git.example.com/org/app.git", "", true}, // scp form in the Secret
		{"http://git.example.com/org/app", "", false},       // another scheme
	}
	for _, tt := range tests {
		c, err := set.Credentials(tt.url)
		if err != nil {
			t.Fatalf("Credentials(%s): %v", tt.url, err)
		}
		if c.Password != tt.wantPassword || (len(c.SSHPrivateKey) > 0) != tt.wantKey {
			t.Errorf("Credentials(%s) = %v, want password %q, key %v", tt.url, c, tt.wantPassword, tt.wantKey)
		}
	}
	app, _ := set.Credentials("https://git.example.com/org/app")
	if app.Username != "app-bot" || !app.InsecureSkipVerify || app.InsecureIgnoreHostKey {
		t.Errorf("app credentials = %v", app)
	}
	ssh, _ := set.Credentials("git@git.example.com:org/app")
	if !ssh.InsecureIgnoreHostKey {
		t.Errorf("insecureIgnoreHostKey: TRUE was not read as true: %v", ssh)
	}
}

func TestCredentialsFromBadSecrets(t *testing.T) {
	secrets := []corev1.Secret{
		credentialSecret("good", "https://git.example.com/ok", source.SecretTypeRepository, map[string]string{
			source.SecretKeyPassword: "good-token",
		}),
		credentialSecret("dup", "https://git.example.com/ok.git", source.SecretTypeRepository, map[string]string{
			source.SecretKeyPassword: "dup-token",
		}),
		credentialSecret("badkey", "ssh://git@git.example.com/a", source.SecretTypeRepository, map[string]string{
			source.SecretKeySSHPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END OPENSSH PRIVATE KEY-----\n",
		}),
		credentialSecret("badca", "https://git.example.com/b", source.SecretTypeRepository, map[string]string{
			source.SecretKeyCAData: "not a certificate",
		}),
		credentialSecret("badhosts", "ssh://git@git.example.com/c", source.SecretTypeRepository, map[string]string{
			source.SecretKeyKnownHosts: "git.example.com ssh-ed25519 c2VjcmV0LWhvc3Q=",
		}),
		credentialSecret("nourl", "", source.SecretTypeRepoCreds, map[string]string{
			source.SecretKeyPassword: "nourl-token",
		}),
	}
	set, err := source.CredentialsFromSecrets(secrets)
	if err == nil {
		t.Fatal("CredentialsFromSecrets accepted broken Secrets")
	}
	msg := err.Error()
	for _, want := range []string{"gyre/dup", "gyre/badkey", "gyre/badca", "gyre/badhosts", "gyre/nourl", "sshPrivateKey", "caData", "knownHosts"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	for _, secret := range []string{"c2VjcmV0", "good-token", "dup-token", "nourl-token"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q shows secret data %q", msg, secret)
		}
	}
	// The usable Secret still works, and the first of a duplicate wins.
	c, _ := set.Credentials("https://git.example.com/ok")
	if c.Password != "dup-token" {
		t.Errorf("duplicate url: got %v; want the first by namespace/name (gyre/dup)", c)
	}
}

func TestCredentialsNeverPrinted(t *testing.T) {
	_, keyPEM := newKey(t)
	c := source.Credentials{Username: "bot", Password: "pa55word-value", SSHPrivateKey: keyPEM, CAData: []byte("ca")}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("creds", "c", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), c.String(), logged.String()} {
		if strings.Contains(s, "pa55word-value") || strings.Contains(s, "PRIVATE KEY") {
			t.Errorf("credentials printed a secret: %s", s)
		}
		if !strings.Contains(s, "bot") {
			t.Errorf("credentials printed without the user name: %s", s)
		}
	}
}

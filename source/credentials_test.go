package source_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/source"
)

func TestCredentialsFromSecrets(t *testing.T) {
	_, keyPEM := testsupport.SSHKey(t)
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
	_, keyPEM := testsupport.SSHKey(t)
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

// TestCredentialsArgoCDLabelAndTypes: Argo CD's label works as gyre's, the
// type key keeps Helm and OCI credentials away from git, and a bad type is
// refused without its value.
func TestCredentialsArgoCDLabelAndTypes(t *testing.T) {
	argo := func(name, url string, typ source.SecretType, data map[string]string) corev1.Secret {
		s := credentialSecret(name, url, typ, data)
		s.Labels = map[string]string{source.LabelArgoCDSecretType: string(typ)}
		return s
	}
	both := credentialSecret("both", "https://git.example.com/both", source.SecretTypeRepository, map[string]string{source.SecretKeyPassword: "both-token"})
	both.Labels[source.LabelArgoCDSecretType] = "cluster" // gyre's label decides
	secrets := []corev1.Secret{
		argo("argo-app", "https://git.example.com/org/app", source.SecretTypeRepository, map[string]string{
			source.SecretKeyPassword: "argo-app-token", source.SecretKeyType: "git",
		}),
		argo("argo-org", "https://git.example.com/org", source.SecretTypeRepoCreds, map[string]string{
			source.SecretKeyPassword: "argo-org-token",
		}),
		argo("argo-charts", "https://git.example.com/charts", source.SecretTypeRepository, map[string]string{
			source.SecretKeyPassword: "helm-token", source.SecretKeyType: "helm",
		}),
		credentialSecret("oci", "https://git.example.com/org/registry", source.SecretTypeRepoCreds, map[string]string{
			source.SecretKeyPassword: "oci-token", source.SecretKeyType: "OCI",
		}),
		argo("argo-cluster", "https://kube.example.com", "cluster", map[string]string{source.SecretKeyPassword: "kube-token"}),
		both,
	}
	set, err := source.CredentialsFromSecrets(secrets)
	if err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]string{
		"https://git.example.com/org/app":        "argo-app-token",
		"https://git.example.com/org/other":      "argo-org-token",
		"https://git.example.com/org/registry/x": "argo-org-token", // the OCI prefix is not git's
		"https://git.example.com/charts":         "",               // Helm only
		"https://kube.example.com":               "",               // a cluster Secret is no repository
		"https://git.example.com/both":           "both-token",
	} {
		if c, err := set.Credentials(url); err != nil || c.Password != want {
			t.Errorf("Credentials(%s) = %v, %v; want password %q", url, c, err, want)
		}
	}
	if cs, ok, _ := set.Lookup(source.RepoTypeHelm, "https://git.example.com/charts.git"); !ok || cs.Credentials.Password != "helm-token" || cs.Label != source.LabelArgoCDSecretType || cs.Name != "argo-charts" {
		t.Errorf("Lookup(helm, charts) = %+v, %v", cs, ok)
	}
	if cs, ok, _ := set.Lookup(source.RepoTypeOCI, "https://git.example.com/org/registry/x"); !ok || cs.Credentials.Password != "oci-token" || cs.Kind != source.SecretTypeRepoCreds {
		t.Errorf("Lookup(oci, registry/x) = %+v, %v", cs, ok)
	}

	// A gyre and an Argo CD Secret of one kind, type and url: the first by
	// name wins, the other is reported. An unknown type is refused.
	bad := credentialSecret("typo", "https://git.example.com/typo", source.SecretTypeRepository, map[string]string{
		source.SecretKeyPassword: "typo-token", source.SecretKeyType: "svn-s3cret",
	})
	dup := credentialSecret("z-dup", "https://git.example.com/org/app.git", source.SecretTypeRepository, map[string]string{source.SecretKeyPassword: "dup-token"})
	set, err = source.CredentialsFromSecrets(append(secrets, bad, dup))
	if err == nil || !strings.Contains(err.Error(), "gyre/typo") || !strings.Contains(err.Error(), `"type"`) || !strings.Contains(err.Error(), "gyre/z-dup") {
		t.Fatalf("CredentialsFromSecrets with a bad type and a duplicate: %v", err)
	}
	if strings.Contains(err.Error(), "svn-s3cret") || strings.Contains(err.Error(), "token") {
		t.Errorf("error shows a value: %v", err)
	}
	if c, _ := set.Credentials("https://git.example.com/org/app"); c.Password != "argo-app-token" {
		t.Errorf("duplicate url: got %v; want the first by name (argo-app)", c)
	}
}

// TestCredentialsAuthAndEqual: Auth names what a Secret holds, and Equal
// tells any change apart, which is how the cache notices a rotated Secret.
func TestCredentialsAuthAndEqual(t *testing.T) {
	_, keyPEM := testsupport.SSHKey(t)
	for _, tt := range []struct {
		c    source.Credentials
		want source.AuthKind
	}{
		{source.Credentials{}, source.AuthAnonymous},
		{source.Credentials{CAData: []byte("ca"), InsecureSkipVerify: true}, source.AuthAnonymous},
		{source.Credentials{Password: "token"}, source.AuthBasic},
		{source.Credentials{Username: "bot", Password: "pw"}, source.AuthBasic},
		{source.Credentials{SSHPrivateKey: keyPEM, Username: "git"}, source.AuthSSHKey},
	} {
		if got := tt.c.Auth(); got != tt.want {
			t.Errorf("%v.Auth() = %s, want %s", tt.c, got, tt.want)
		}
	}
	a := source.Credentials{Username: "bot", Password: "pw", CAData: []byte("ca")}
	b := a
	b.CAData = []byte("ca")
	if !a.Equal(b) {
		t.Error("equal credentials compare unequal")
	}
	for _, change := range []func(c *source.Credentials){
		func(c *source.Credentials) { c.Password = "pw2" },
		func(c *source.Credentials) { c.Username = "bot2" },
		func(c *source.Credentials) { c.InsecureSkipVerify = true },
		func(c *source.Credentials) { c.KnownHosts = []byte("h") },
		func(c *source.Credentials) { c.Username, c.Password = "botp", "w" }, // same bytes, other split
	} {
		c := a
		change(&c)
		if a.Equal(c) {
			t.Errorf("%v equals %v", a, c)
		}
	}
}

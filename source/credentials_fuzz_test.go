package source_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gyre-cd/gyre/source"
)

// FuzzCredentialSecret feeds arbitrary credentials Secrets (through the
// API, `gyre repo add` writes what a client sends) to the parser: it must
// not panic, its errors and descriptions must never carry the password,
// and a Secret it accepts for one repository must be found for that URL.
func FuzzCredentialSecret(f *testing.F) {
	f.Add("repository", "https://git.example.com/team/app.git", "git", "deploy", "s3cr3t-pass", []byte(nil), []byte(nil), []byte(nil))
	f.Add("repo-creds", "https://git.example.com/team", "", "", "tok-123456", []byte(nil), []byte(nil), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add("repository", "git@git.example.com:team/infra.git", "git", "git", "", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"), []byte("git.example.com ssh-ed25519 AAAA\n"), []byte(nil))
	f.Add("repository", "https://user:hunter2-pw@git.example.com/x", "helm", "user", "hunter2-pw", []byte(nil), []byte(nil), []byte(nil))
	f.Add("repository", "", "oci", "", "", []byte(nil), []byte(nil), []byte(nil))
	f.Fuzz(func(t *testing.T, kind, url, typ, username, password string, key, hosts, ca []byte) {
		data := map[string][]byte{
			source.SecretKeyURL:           []byte(url),
			source.SecretKeyUsername:      []byte(username),
			source.SecretKeyPassword:      []byte(password),
			source.SecretKeySSHPrivateKey: key,
			source.SecretKeyKnownHosts:    hosts,
			source.SecretKeyCAData:        ca,
		}
		if typ != "" {
			data["type"] = []byte(typ)
		}
		s := corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "gyre", Name: "repo", Labels: map[string]string{source.LabelSecretType: kind}},
			Data:       data,
		}
		cs, ok, err := source.ParseCredentialSecret(&s)
		// A password that other fields also spell cannot be told apart.
		secret := len(password) >= 6 && !strings.Contains(kind+url+typ+username+string(key)+string(hosts)+string(ca), password)
		if err != nil && secret && strings.Contains(err.Error(), password) {
			t.Fatalf("the parse error shows the password: %v", err)
		}
		if !ok || err != nil {
			return
		}
		if secret && (strings.Contains(cs.Credentials.String(), password) || strings.Contains(cs.URL, password)) {
			t.Fatalf("the parsed Secret shows the password: %v %s", cs.Credentials, cs.URL)
		}
		set, err := source.CredentialsFromSecrets([]corev1.Secret{s})
		if err != nil {
			if secret && strings.Contains(err.Error(), password) {
				t.Fatalf("the error shows the password: %v", err)
			}
			return
		}
		if cs.Kind != source.SecretTypeRepository {
			return
		}
		if got, found, err := set.Lookup(cs.Type, url); err != nil || !found || got.Name != "repo" {
			t.Fatalf("an accepted repository Secret for %q is not found for it: %v %v", url, found, err)
		}
	})
}

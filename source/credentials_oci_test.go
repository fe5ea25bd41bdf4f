package source_test

import (
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/source"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ociCredentialsSecret is a credentials Secret named name, labelled as kind,
// holding data.
func ociCredentialsSecret(name string, kind source.SecretType, data map[string]string) corev1.Secret {
	s := corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gyre", Name: name, Labels: map[string]string{source.LabelArgoCDSecretType: string(kind)}},
		Data:       map[string][]byte{},
	}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// TestOCICredentialSecrets: a Secret of type oci whose url is an oci://
// registry URL is read (its url and key keep oci://), answers every
// spelling of the registry's URL for type oci, and nothing else: not git
// or helm lookups of the https URL at the same address, not another path.
// A Secret of type git with an oci:// url stays unusable.
func TestOCICredentialSecrets(t *testing.T) {
	const password = "oci-Secret-pa55"
	secrets := []corev1.Secret{
		ociCredentialsSecret("registry", source.SecretTypeRepository, map[string]string{
			"type": "oci", "url": "oci://Registry.Example.com:5000/charts/", "username": "bot", "password": password,
		}),
		ociCredentialsSecret("prefix", source.SecretTypeRepoCreds, map[string]string{
			"type": "OCI", "url": "oci://registry.example.com:5000/team", "username": "team",
		}),
		ociCredentialsSecret("git-at-registry", source.SecretTypeRepository, map[string]string{
			"type": "git", "url": "oci://registry.example.com:5000/other", "password": "git-pa55",
		}),
	}

	cs, ok, err := source.ParseCredentialSecret(&secrets[0])
	if !ok || err != nil || cs.URL != "oci://Registry.Example.com:5000/charts/" || cs.Key != "oci://registry.example.com:5000/charts" || cs.Type != source.RepoTypeOCI {
		t.Fatalf("parseCredentialSecret = %+v, %v, %v; want the oci:// url and key", cs, ok, err)
	}
	if string(secrets[0].Data["url"]) != "oci://Registry.Example.com:5000/charts/" {
		t.Fatalf("parseCredentialSecret changed the Secret it read: url %q", secrets[0].Data["url"])
	}
	if key, err := source.NormalizeURL("OCI://registry.example.com:5000/charts"); err != nil || key != cs.Key {
		t.Errorf("NormalizeURL of another spelling = %q, %v; want %q, which `gyre repo add` and `rm` match on", key, err, cs.Key)
	}
	if _, ok, err := source.ParseCredentialSecret(&secrets[2]); !ok || err == nil {
		t.Errorf("a git Secret with an oci:// url parsed without error (ok %v)", ok)
	}

	set, err := source.CredentialsFromSecrets(secrets)
	if err == nil || !strings.Contains(err.Error(), "git-at-registry") || strings.Contains(err.Error(), "git-pa55") {
		t.Errorf("credentialsFromSecrets error %v; want the git Secret left out, without its password", err)
	}
	for _, tt := range []struct {
		typ    source.RepoType
		url    string
		secret string // "" for none
	}{
		{source.RepoTypeOCI, "oci://registry.example.com:5000/charts", "registry"},
		{source.RepoTypeOCI, "oci://REGISTRY.example.com:5000/charts/", "registry"},
		{source.RepoTypeOCI, "oci://registry.example.com:5000/team/app", "prefix"},
		{source.RepoTypeOCI, "oci://registry.example.com:5000/elsewhere", ""},
		{source.RepoTypeOCI, "oci://registry.example.com/charts", ""}, // another port
		{source.RepoTypeHelm, "https://registry.example.com:5000/charts", ""},
		{source.RepoTypeGit, "https://registry.example.com:5000/charts", ""},
		{source.RepoTypeGit, "https://registry.example.com:5000/other", ""},
	} {
		got, ok, err := set.Lookup(tt.typ, tt.url)
		if err != nil || ok != (tt.secret != "") || (ok && got.Name != tt.secret) {
			t.Errorf("lookup(%s, %s) = %s, %v, %v; want %q", tt.typ, tt.url, got.Name, ok, err, tt.secret)
		}
	}

	if c, _, _ := set.Lookup(source.RepoTypeOCI, "oci://registry.example.com:5000/charts"); c.Credentials.Username != "bot" || c.Credentials.Password != password {
		t.Errorf("lookup = %v; want the registry's account", c.Credentials)
	}
}

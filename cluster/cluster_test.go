package cluster_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/cluster"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

const testToken = "s3cr3t-bearer-token-value-0123456789"

// secret returns a gyre cluster Secret "name" in namespace gyre with data.
func secret(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       "gyre",
			Name:            name,
			ResourceVersion: "1",
			Labels:          map[string]string{cluster.LabelSecretType: cluster.SecretTypeCluster},
		},
		Data: map[string][]byte{},
	}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// configJSON marshals v as a Secret's config.
func configJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// selfSigned returns a fresh self-signed certificate and its key, as PEM.
func selfSigned(t testing.TB) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gyre-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func TestFromSecretBearerToken(t *testing.T) {
	s := secret("prod", map[string]string{
		cluster.KeyName:   " prod ",
		cluster.KeyServer: "https://prod.example.com:6443/",
		cluster.KeyConfig: configJSON(t, map[string]any{
			"bearerToken":        testToken,
			"disableCompression": true,
			"tlsClientConfig":    map[string]any{"insecure": true, "serverName": "api.prod"},
		}),
	})
	s.ResourceVersion = "42"
	s.Annotations = map[string]string{"team": "a"}
	c, err := cluster.FromSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "prod" || c.Server != "https://prod.example.com:6443" {
		t.Errorf("name, server = %q, %q; want prod, https://prod.example.com:6443 (trimmed, no trailing slash)", c.Name, c.Server)
	}
	if c.Version != "42" || c.Secret != (types.NamespacedName{Namespace: "gyre", Name: "prod"}) {
		t.Errorf("version, secret = %q, %v", c.Version, c.Secret)
	}
	if c.Labels[cluster.LabelSecretType] != cluster.SecretTypeCluster || c.Annotations["team"] != "a" {
		t.Errorf("labels, annotations = %v, %v", c.Labels, c.Annotations)
	}
	// The cluster's maps are copies: editing the Secret afterwards does not
	// reach it.
	s.Labels["x"] = "y"
	if _, ok := c.Labels["x"]; ok {
		t.Error("Cluster.Labels aliases the Secret's labels")
	}
	if c.Namespaces != nil || c.ClusterResources || c.Project != "" || c.InCluster() {
		t.Errorf("unexpected namespaces %v, clusterResources %v, project %q, inCluster %v", c.Namespaces, c.ClusterResources, c.Project, c.InCluster())
	}
	cfg := c.Config
	if cfg == nil {
		t.Fatal("no Config")
	}
	if cfg.Host != c.Server || cfg.BearerToken != testToken || !cfg.DisableCompression ||
		!cfg.TLSClientConfig.Insecure || cfg.TLSClientConfig.ServerName != "api.prod" {
		t.Errorf("config = %+v", cfg)
	}
	if cfg.Username != "" || cfg.Password != "" || cfg.ExecProvider != nil || cfg.AuthProvider != nil {
		t.Errorf("config has unexpected credentials: %+v", cfg)
	}
}

func TestFromSecretClientCertificate(t *testing.T) {
	certPEM, keyPEM := selfSigned(t)
	caPEM, _ := selfSigned(t)
	s := secret("certs", map[string]string{
		cluster.KeyServer: "https://10.0.0.1",
		// encoding/json base64-encodes []byte, as Argo CD's Secrets hold them.
		cluster.KeyConfig: configJSON(t, map[string]any{
			"tlsClientConfig": map[string]any{"caData": caPEM, "certData": certPEM, "keyData": keyPEM},
		}),
	})
	c, err := cluster.FromSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "https://10.0.0.1" {
		t.Errorf("name = %q, want the server", c.Name)
	}
	tc := c.Config.TLSClientConfig
	if string(tc.CertData) != string(certPEM) || string(tc.KeyData) != string(keyPEM) || string(tc.CAData) != string(caPEM) {
		t.Errorf("TLS data not carried over: %+v", tc)
	}
	if c.Config.BearerToken != "" {
		t.Errorf("bearer token = %q", c.Config.BearerToken)
	}
	if _, err := rest.TLSConfigFor(c.Config); err != nil {
		t.Errorf("TLSConfigFor: %v", err)
	}
}

func TestFromSecretUsernamePassword(t *testing.T) {
	c, err := cluster.FromSecret(secret("basic", map[string]string{
		cluster.KeyServer: "http://127.0.0.1:8080",
		cluster.KeyConfig: `{"username":"admin","password":"hunter2hunter2","tlsClientConfig":{}}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Config.Username != "admin" || c.Config.Password != "hunter2hunter2" || c.Config.Host != "http://127.0.0.1:8080" {
		t.Errorf("config = %+v", c.Config)
	}
}

func TestFromSecretArgoCD(t *testing.T) {
	caPEM, _ := selfSigned(t)
	// As Argo CD writes it: caData is base64 inside the JSON, which itself
	// is the Secret's (already decoded) data.
	cfg := `{
  "bearerToken": "` + testToken + `",
  "tlsClientConfig": {
    "insecure": false,
    "caData": "` + base64.StdEncoding.EncodeToString(caPEM) + `"
  }
}`
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       "argocd",
			Name:            "cluster-kubernetes.example.com-123",
			ResourceVersion: "7",
			Labels:          map[string]string{cluster.ArgoLabelSecretType: cluster.SecretTypeCluster, "env": "staging"},
		},
		Data: map[string][]byte{
			"name":             []byte("staging"),
			"server":           []byte("https://kubernetes.example.com"),
			"config":           []byte(cfg),
			"namespaces":       []byte("a, b,a"),
			"clusterResources": []byte("true"),
			"project":          []byte("team-a"),
		},
	}
	if !cluster.IsClusterSecret(s) {
		t.Error("IsClusterSecret = false for Argo CD's label")
	}
	c, err := cluster.FromSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "staging" || c.Server != "https://kubernetes.example.com" || c.Project != "team-a" || !c.ClusterResources {
		t.Errorf("cluster = %+v", c)
	}
	if !slices.Equal(c.Namespaces, []string{"a", "b"}) {
		t.Errorf("namespaces = %q, want [a b]", c.Namespaces)
	}
	if string(c.Config.TLSClientConfig.CAData) != string(caPEM) {
		t.Errorf("caData = %q, want the decoded PEM", c.Config.TLSClientConfig.CAData)
	}
	if c.Config.BearerToken != testToken || c.Labels["env"] != "staging" {
		t.Errorf("config = %+v, labels = %v", c.Config, c.Labels)
	}
}

func TestFromSecretNamespaces(t *testing.T) {
	for in, want := range map[string][]string{
		"":            nil,
		" , ,":        nil,
		"z,a":         {"a", "z"},
		"a, b,a":      {"a", "b"},
		" one ":       {"one"},
		"b,,a,,b, a ": {"a", "b"},
	} {
		c, err := cluster.FromSecret(secret("ns", map[string]string{
			cluster.KeyServer:     "https://x.example.com",
			cluster.KeyConfig:     `{"bearerToken":"t"}`,
			cluster.KeyNamespaces: in,
		}))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if !slices.Equal(c.Namespaces, want) {
			t.Errorf("namespaces %q = %q, want %q", in, c.Namespaces, want)
		}
	}
}

func TestFromSecretClusterResources(t *testing.T) {
	for in, want := range map[string]bool{"": false, "false": false, "true": true, " true\n": true} {
		c, err := cluster.FromSecret(secret("cr", map[string]string{
			cluster.KeyServer:           "https://x.example.com",
			cluster.KeyConfig:           `{"bearerToken":"t"}`,
			cluster.KeyClusterResources: in,
		}))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if c.ClusterResources != want {
			t.Errorf("clusterResources %q = %v, want %v", in, c.ClusterResources, want)
		}
	}
}

func TestFromSecretInCluster(t *testing.T) {
	for _, server := range []string{cluster.InClusterServer, cluster.InClusterServer + "/", " " + cluster.InClusterServer + "\n"} {
		s := secret("in-cluster", map[string]string{
			cluster.KeyName:       "home",
			cluster.KeyServer:     server,
			cluster.KeyNamespaces: "apps",
			// No config: gyre's own credentials reach it; a config, even
			// an invalid one, is not read.
			cluster.KeyConfig: "{not json",
		})
		c, err := cluster.FromSecret(s)
		if err != nil {
			t.Fatalf("%q: %v", server, err)
		}
		if c.Config != nil {
			t.Errorf("%q: Config = %+v, want nil", server, c.Config)
		}
		if !c.InCluster() || c.Server != cluster.InClusterServer || c.Name != "home" || !slices.Equal(c.Namespaces, []string{"apps"}) {
			t.Errorf("%q: cluster = %+v", server, c)
		}
	}
}

func TestFromSecretRefused(t *testing.T) {
	certPEM, keyPEM := selfSigned(t)
	caPEM, _ := selfSigned(t)
	const server = "https://x.example.com"
	for _, tc := range []struct {
		name string
		data map[string]string
		want string // in the error
	}{
		{"missing server", map[string]string{cluster.KeyConfig: `{"bearerToken":"t"}`}, `key "server": missing`},
		{"blank server", map[string]string{cluster.KeyServer: " \n", cluster.KeyConfig: `{"bearerToken":"t"}`}, `key "server": missing`},
		{"not a URL", map[string]string{cluster.KeyServer: "kubernetes.example.com", cluster.KeyConfig: `{"bearerToken":"t"}`}, "not an http(s) URL"},
		{"ftp URL", map[string]string{cluster.KeyServer: "ftp://x.example.com", cluster.KeyConfig: `{"bearerToken":"t"}`}, "not an http(s) URL"},
		{"no host", map[string]string{cluster.KeyServer: "https:///api", cluster.KeyConfig: `{"bearerToken":"t"}`}, "not an http(s) URL"},
		{"query", map[string]string{cluster.KeyServer: server + "?a=b", cluster.KeyConfig: `{"bearerToken":"t"}`}, "not an http(s) URL"},
		{"fragment", map[string]string{cluster.KeyServer: server + "#x", cluster.KeyConfig: `{"bearerToken":"t"}`}, "not an http(s) URL"},
		{"user info", map[string]string{cluster.KeyServer: "http://admin:pa55w0rd-in-url@x.example.com", cluster.KeyConfig: `{"bearerToken":"t"}`}, `key "server"`},
		{"missing config", map[string]string{cluster.KeyServer: server}, `key "config": missing`},
		{"blank config", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: " \n\t"}, `key "config": missing`},
		{"invalid JSON", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"bearerToken":"` + testToken + `",}`}, "invalid JSON at byte"},
		{"truncated JSON", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"bearerToken":"` + testToken}, "invalid JSON"},
		{"wrong type", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"bearerToken":["` + testToken + `"]}`}, "field bearerToken: not a string"},
		{"bad base64", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"bearerToken":"t","tlsClientConfig":{"caData":"!!` + testToken + `"}}`}, "invalid JSON"},
		{"unknown field", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"bearerToken":"` + testToken + `","bearerTokn":"x"}`}, `unknown field "bearerTokn"`},
		{"unknown nested field", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"bearerToken":"t","tlsClientConfig":{"caFile":"/x"}}`}, `unknown field "caFile"`},
		{"execProviderConfig", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"execProviderConfig":{"command":"argocd-k8s-auth","args":["` + testToken + `"]}}`}, "execProviderConfig is not supported"},
		{"awsAuthConfig", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"awsAuthConfig":{"clusterName":"c","roleARN":"` + testToken + `"}}`}, "awsAuthConfig is not supported"},
		{"proxyUrl", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"bearerToken":"t","proxyUrl":"http://proxy:3128"}`}, "proxyUrl is not supported"},
		{"token and username", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"bearerToken":"` + testToken + `","username":"u","password":"p"}`}, "not both"},
		{"username without password", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"username":"u"}`}, "username and password go together"},
		{"password without username", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"password":"` + testToken + `"}`}, "username and password go together"},
		{"cert without key", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: configJSON(t, map[string]any{"tlsClientConfig": map[string]any{"certData": certPEM}})}, "certData and keyData go together"},
		{"key without cert", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: configJSON(t, map[string]any{"tlsClientConfig": map[string]any{"keyData": keyPEM}})}, "certData and keyData go together"},
		{"no credentials", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"tlsClientConfig":{"insecure":true}}`}, "no credentials"},
		{"empty object", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{}`}, "no credentials"},
		{"null", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `null`}, "no credentials"},
		{"insecure and caData", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: configJSON(t, map[string]any{"bearerToken": testToken, "tlsClientConfig": map[string]any{"insecure": true, "caData": caPEM}})}, "insecure and caData exclude each other"},
		{"clusterResources yes", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"bearerToken":"t"}`, cluster.KeyClusterResources: "yes"}, `key "clusterResources" is "yes", want true or false`},
		{"bad CA PEM", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: configJSON(t, map[string]any{"bearerToken": testToken, "tlsClientConfig": map[string]any{"caData": []byte("not a certificate")}})}, "tlsClientConfig:"},
		{"corrupt CA PEM", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: configJSON(t, map[string]any{"bearerToken": testToken, "tlsClientConfig": map[string]any{"caData": corruptPEM(caPEM)}})}, "tlsClientConfig:"},
		{"bad cert PEM", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: configJSON(t, map[string]any{"tlsClientConfig": map[string]any{"certData": corruptPEM(certPEM), "keyData": keyPEM}})}, "tlsClientConfig:"},
		{"bad key PEM", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: configJSON(t, map[string]any{"tlsClientConfig": map[string]any{"certData": certPEM, "keyData": corruptPEM(keyPEM)}})}, "tlsClientConfig:"},
		{"swapped cert and key", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: configJSON(t, map[string]any{"tlsClientConfig": map[string]any{"certData": keyPEM, "keyData": certPEM}})}, "tlsClientConfig:"},
		{"mismatched cert and key", map[string]string{cluster.KeyServer: server, cluster.KeyConfig: configJSON(t, map[string]any{"tlsClientConfig": map[string]any{"certData": caPEM, "keyData": keyPEM}})}, "tlsClientConfig:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := secret("bad", tc.data)
			c, err := cluster.FromSecret(s)
			if err == nil {
				t.Fatalf("FromSecret = %+v, want an error", c)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
			if !strings.HasPrefix(msg, "cluster Secret gyre/bad: ") {
				t.Errorf("error %q does not name the Secret", msg)
			}
			// Nothing secret is quoted: not the token, not the config, not
			// PEM, not a password in the URL.
			for _, leak := range []string{testToken, "pa55w0rd-in-url", "-----", "PRIVATE KEY", "CERTIFICATE", "argocd-k8s-auth", "hunter2"} {
				if strings.Contains(msg, leak) {
					t.Errorf("error quotes %q: %s", leak, msg)
				}
			}
			if cfg := tc.data[cluster.KeyConfig]; len(cfg) > 8 && strings.Contains(msg, cfg) {
				t.Errorf("error quotes the config: %s", msg)
			}
			for _, b := range [][]byte{certPEM, keyPEM, caPEM} {
				if strings.Contains(msg, base64.StdEncoding.EncodeToString(b)[:16]) {
					t.Errorf("error quotes base64 TLS data: %s", msg)
				}
			}
		})
	}
}

// corruptPEM keeps p's PEM armour but breaks its DER.
func corruptPEM(p []byte) []byte {
	b, _ := pem.Decode(p)
	b.Bytes = b.Bytes[:len(b.Bytes)/2]
	return pem.EncodeToMemory(b)
}

func TestNormalizeServer(t *testing.T) {
	for in, want := range map[string]string{
		"https://a.example.com":           "https://a.example.com",
		"https://a.example.com/":          "https://a.example.com",
		" https://a.example.com:6443/ \n": "https://a.example.com:6443",
		"http://10.0.0.1:8080":            "http://10.0.0.1:8080",
		"https://a.example.com/k8s/":      "https://a.example.com/k8s",
		cluster.InClusterServer + "/":     cluster.InClusterServer,
	} {
		got, err := cluster.NormalizeServer(in)
		if err != nil || got != want {
			t.Errorf("NormalizeServer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", " ", "a.example.com", "//a.example.com", "ftp://a", "https://", "https://u:p@a", "https://u@a", "https://a?x=1", "https://a#f", "https://a b", "https://%zz"} {
		if got, err := cluster.NormalizeServer(in); err == nil {
			t.Errorf("NormalizeServer(%q) = %q, want an error", in, got)
		}
	}
}

func TestNormalizeServerHidesUserInfo(t *testing.T) {
	for _, in := range []string{
		"https://admin:pa55w0rd-in-url@a.example.com",
		"https://pa55w0rd-in-url@a.example.com",
		"https://admin:pa55w0rd-in-url@a.example.com/?x=1",
		"https://admin:pa55w0rd-in-url@a b.example.com",
	} {
		_, err := cluster.NormalizeServer(in)
		if err == nil {
			t.Fatalf("NormalizeServer(%q): no error", in)
		}
		if strings.Contains(err.Error(), "pa55w0rd-in-url") {
			t.Errorf("NormalizeServer(%q): error quotes the user info: %v", in, err)
		}
	}
}

func TestIsClusterSecret(t *testing.T) {
	for _, tc := range []struct {
		labels map[string]string
		want   bool
	}{
		{nil, false},
		{map[string]string{}, false},
		{map[string]string{cluster.LabelSecretType: cluster.SecretTypeCluster}, true},
		{map[string]string{cluster.ArgoLabelSecretType: cluster.SecretTypeCluster}, true},
		{map[string]string{cluster.LabelSecretType: "repository"}, false},
		{map[string]string{cluster.ArgoLabelSecretType: "repository"}, false},
		{map[string]string{cluster.LabelSecretType: "repository", cluster.ArgoLabelSecretType: cluster.SecretTypeCluster}, true},
		{map[string]string{"secret-type": cluster.SecretTypeCluster}, false},
		{map[string]string{cluster.LabelSecretType: "Cluster"}, false},
	} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: tc.labels}}
		if got := cluster.IsClusterSecret(s); got != tc.want {
			t.Errorf("IsClusterSecret(%v) = %v, want %v", tc.labels, got, tc.want)
		}
	}
	if got := cluster.SecretLabels(); !slices.Equal(got, []string{cluster.LabelSecretType, cluster.ArgoLabelSecretType}) {
		t.Errorf("SecretLabels() = %q", got)
	}
}

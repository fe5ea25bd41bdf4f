package cluster_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/cluster"
)

// FuzzFromSecret feeds FromSecret arbitrary servers, configs and
// namespaces. It must not panic; what it accepts must be normalized; and
// its errors must never quote a bearer token, even one inside otherwise
// valid JSON whose other fields (from extra) are arbitrary.
func FuzzFromSecret(f *testing.F) {
	ca, _ := selfSigned(f)
	caJSON, _ := json.Marshal(map[string]any{"tlsClientConfig": map[string]any{"caData": ca}})
	for _, s := range []struct {
		server, config, namespaces, token, extra string
	}{
		{"https://a.example.com", `{"bearerToken":"t"}`, "", "0123456789abcdef", `{}`},
		{"https://a.example.com/", `{"username":"u","password":"p","tlsClientConfig":{"insecure":true}}`, "a, b,a", "token-token-token", `{"tlsClientConfig":{"insecure":true}}`},
		{"http://10.0.0.1:8080", `{"bearerToken":"t","tlsClientConfig":{"caData":"bm90IHBlbQ=="}}`, "x", "another-long-token", `{"tlsClientConfig":{"caData":"bm90IHBlbQ=="}}`},
		{cluster.InClusterServer, ``, "apps", "in-cluster-token", `{"username":"u"}`},
		{"https://u:p@a.example.com", `{"bearerToken":"t"`, "", "user-info-token", `{"proxyUrl":"http://p"}`},
		{"https://a.example.com", `{"execProviderConfig":{"command":"x"}}`, "", "exec-provider-token", `{"execProviderConfig":{"command":"x"}}`},
		{"https://a.example.com", `{"awsAuthConfig":{}}`, "", "aws-auth-token-value", `{"awsAuthConfig":{"clusterName":"c"}}`},
		{"https://a.example.com", `{"bearerToken":1}`, "", "type-error-token", `{"tlsClientConfig":{"insecure":"yes"}}`},
		{"https://a.example.com", `{"bearerToken":"t","nope":1}`, "", "unknown-field-token", `{"nope":1}`},
		{"https://a.example.com", string(caJSON), "", "ca-data-token-xyz", string(caJSON)},
		{"https://a.example.com", `{"tlsClientConfig":{"certData":"LS0tLS1CRUdJTg==","keyData":"LS0tLS1CRUdJTg=="}}`, "", "cert-key-token-xy", `{"tlsClientConfig":{"certData":"LS0tLS1CRUdJTg==","keyData":"LS0tLS1CRUdJTg=="}}`},
	} {
		f.Add(s.server, []byte(s.config), s.namespaces, s.token, []byte(s.extra))
	}
	f.Fuzz(func(t *testing.T, server string, config []byte, namespaces, token string, extra []byte) {
		// 1. Arbitrary config bytes.
		s := secret("fuzz", map[string]string{cluster.KeyServer: server, cluster.KeyNamespaces: namespaces})
		s.Data[cluster.KeyConfig] = config
		c, err := cluster.FromSecret(s)
		if err == nil {
			checkCluster(t, c)
		} else if !strings.HasPrefix(err.Error(), "cluster Secret gyre/fuzz: ") {
			t.Errorf("error does not name the Secret: %v", err)
		}

		// 2. A token in valid JSON, beside arbitrary other fields.
		if len(token) <= 8 {
			return
		}
		withToken := func(tok string) error {
			fields := map[string]json.RawMessage{}
			_ = json.Unmarshal(extra, &fields) // not an object: just the token
			b, err := json.Marshal(tok)
			if err != nil {
				t.Fatal(err)
			}
			fields["bearerToken"] = b
			cfg, err := json.Marshal(fields)
			if err != nil {
				t.Fatal(err)
			}
			s := secret("fuzz", map[string]string{cluster.KeyServer: server, cluster.KeyNamespaces: namespaces})
			s.Data[cluster.KeyConfig] = cfg
			c, err := cluster.FromSecret(s)
			if err == nil {
				checkCluster(t, c)
				if c.Config != nil && c.Config.BearerToken != asJSON(t, tok) {
					t.Errorf("bearer token = %q, want %q", c.Config.BearerToken, tok)
				}
			}
			return err
		}
		err = withToken(token)
		if err == nil {
			return
		}
		// What the error says regardless of the token (the server, a field
		// name, fixed text) may contain it by chance; that is no leak.
		const placeholder = "\x00placeholder-token\x00"
		other := withToken(placeholder)
		for _, tok := range []string{token, asJSON(t, token)} {
			if strings.Contains(err.Error(), tok) && (other == nil || !strings.Contains(other.Error(), tok)) {
				t.Errorf("error quotes the bearer token %q: %v", tok, err)
			}
		}
	})
}

// asJSON returns s as it reads back from JSON: encoding/json replaces each
// byte of invalid UTF-8 with U+FFFD.
func asJSON(t *testing.T, s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkCluster checks what FromSecret accepted.
func checkCluster(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	if n, err := cluster.NormalizeServer(c.Server); err != nil || n != c.Server {
		t.Errorf("server %q is not normalized: %q, %v", c.Server, n, err)
	}
	if strings.HasSuffix(c.Server, "/") {
		t.Errorf("server %q ends in a slash", c.Server)
	}
	if c.Name == "" {
		t.Error("empty name")
	}
	if c.InCluster() != (c.Config == nil) {
		t.Errorf("in-cluster %v with Config %v", c.InCluster(), c.Config)
	}
	if c.Config != nil && c.Config.Host != c.Server {
		t.Errorf("Config.Host %q, server %q", c.Config.Host, c.Server)
	}
	if !slices.IsSorted(c.Namespaces) || len(slices.Compact(slices.Clone(c.Namespaces))) != len(c.Namespaces) {
		t.Errorf("namespaces %q not sorted and unique", c.Namespaces)
	}
	for _, ns := range c.Namespaces {
		if ns == "" || ns != strings.TrimSpace(ns) || strings.Contains(ns, ",") {
			t.Errorf("namespace %q", ns)
		}
	}
}

package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/gyre-cd/gyre/app"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// The labels and keys of a cluster Secret.
const (
	// LabelSecretType marks a Secret in gyre's namespace as gyre's; the
	// value SecretTypeCluster makes it a cluster.
	LabelSecretType = "gyre.dev/secret-type"
	// ArgoLabelSecretType is Argo CD's label, honoured the same way.
	ArgoLabelSecretType = "argocd.argoproj.io/secret-type"
	// SecretTypeCluster is the label value of a cluster Secret.
	SecretTypeCluster = "cluster"

	KeyName             = "name"
	KeyServer           = "server"
	KeyConfig           = "config"
	KeyNamespaces       = "namespaces"
	KeyClusterResources = "clusterResources"
	KeyProject          = "project"
)

// SecretLabels are the labels whose value SecretTypeCluster marks a cluster
// Secret.
func SecretLabels() []string { return []string{LabelSecretType, ArgoLabelSecretType} }

// InClusterServer and InClusterName name the cluster gyre runs in.
const (
	InClusterServer = app.InClusterServer
	InClusterName   = app.InClusterName
)

// Cluster is one cluster gyre may deploy to.
type Cluster struct {
	// Name is what destination.name and Project destinations call it.
	Name string
	// Server is the API server's URL, without a trailing slash.
	Server string
	// Namespaces, when set, are the only namespaces gyre manages objects
	// in there.
	Namespaces []string
	// ClusterResources allows cluster-scoped objects while Namespaces
	// limits the namespaced ones.
	ClusterResources bool
	// Project, when set, is the only Project whose Applications may use
	// the cluster (Argo CD's project-scoped clusters).
	Project string
	// Labels and Annotations are the Secret's, for ApplicationSet cluster
	// generators.
	Labels, Annotations map[string]string
	// Config reaches the cluster's API server.
	Config *rest.Config
	// Secret is the Secret the cluster came from; empty for the in-cluster
	// cluster without a Secret.
	Secret types.NamespacedName
	// Version changes whenever what reaches the cluster changes: its
	// Secret's resourceVersion ("" for the built-in in-cluster cluster).
	Version string
}

// InCluster reports whether c is the cluster gyre runs in.
func (c *Cluster) InCluster() bool { return c.Server == InClusterServer }

// Config is the JSON of a cluster Secret's "config" key: Argo CD's
// ClusterConfig, of which gyre reads the fields below.
type Config struct {
	BearerToken     string    `json:"bearerToken,omitempty"`
	Username        string    `json:"username,omitempty"`
	Password        string    `json:"password,omitempty"`
	TLSClientConfig TLSConfig `json:"tlsClientConfig"`
	// ExecProviderConfig and AWSAuthConfig are refused (they run a
	// program); they are read only to say so.
	ExecProviderConfig json.RawMessage `json:"execProviderConfig,omitempty"`
	AWSAuthConfig      json.RawMessage `json:"awsAuthConfig,omitempty"`
	// DisableCompression turns off response compression.
	DisableCompression bool `json:"disableCompression,omitempty"`
	// ProxyURL is refused.
	ProxyURL string `json:"proxyUrl,omitempty"`
}

// TLSConfig is the TLS part of Config; the data fields are PEM, base64 in
// the JSON.
type TLSConfig struct {
	Insecure   bool   `json:"insecure,omitempty"`
	ServerName string `json:"serverName,omitempty"`
	CAData     []byte `json:"caData,omitempty"`
	CertData   []byte `json:"certData,omitempty"`
	KeyData    []byte `json:"keyData,omitempty"`
}

// IsClusterSecret reports whether s carries a cluster secret-type label.
func IsClusterSecret(s *corev1.Secret) bool {
	for _, l := range SecretLabels() {
		if s.Labels[l] == SecretTypeCluster {
			return true
		}
	}
	return false
}

// FromSecret reads a cluster Secret. Its errors name the Secret and the key
// at fault and never quote a credential.
func FromSecret(s *corev1.Secret) (*Cluster, error) {
	where := fmt.Sprintf("cluster Secret %s/%s", s.Namespace, s.Name)
	server, err := NormalizeServer(string(s.Data[KeyServer]))
	if err != nil {
		return nil, fmt.Errorf("%s: key %q: %w", where, KeyServer, err)
	}
	c := &Cluster{
		Name:        strings.TrimSpace(string(s.Data[KeyName])),
		Server:      server,
		Project:     strings.TrimSpace(string(s.Data[KeyProject])),
		Labels:      maps.Clone(s.Labels),
		Annotations: maps.Clone(s.Annotations),
		Secret:      types.NamespacedName{Namespace: s.Namespace, Name: s.Name},
		Version:     s.ResourceVersion,
	}
	if c.Name == "" {
		c.Name = server
	}
	for ns := range strings.SplitSeq(string(s.Data[KeyNamespaces]), ",") {
		if ns = strings.TrimSpace(ns); ns != "" && !slices.Contains(c.Namespaces, ns) {
			c.Namespaces = append(c.Namespaces, ns)
		}
	}
	slices.Sort(c.Namespaces)
	switch v := strings.TrimSpace(string(s.Data[KeyClusterResources])); v {
	case "", "false":
	case "true":
		c.ClusterResources = true
	default:
		return nil, fmt.Errorf("%s: key %q is %q, want true or false", where, KeyClusterResources, v)
	}
	if c.InCluster() {
		return c, nil // gyre's own credentials reach it; see the package doc
	}
	cfg, err := restConfig(server, s.Data[KeyConfig])
	if err != nil {
		return nil, fmt.Errorf("%s: key %q: %w", where, KeyConfig, err)
	}
	c.Config = cfg
	return c, nil
}

// restConfig builds the client configuration of the cluster at server from
// a Secret's config JSON.
func restConfig(server string, raw []byte) (*rest.Config, error) {
	var cc Config
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errors.New("missing: it holds the credentials (bearerToken or tlsClientConfig) as JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cc); err != nil {
		return nil, fmt.Errorf("not the JSON gyre reads (bearerToken, username, password, tlsClientConfig, disableCompression): %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not one JSON object: something follows it")
	}
	switch {
	case len(cc.ExecProviderConfig) > 0 && string(cc.ExecProviderConfig) != "null":
		return nil, errors.New("execProviderConfig is not supported: gyre runs no programs to get credentials; give a bearerToken or a client certificate")
	case len(cc.AWSAuthConfig) > 0 && string(cc.AWSAuthConfig) != "null":
		return nil, errors.New("awsAuthConfig is not supported: give a bearerToken or a client certificate")
	case cc.ProxyURL != "":
		return nil, errors.New("proxyUrl is not supported")
	case cc.BearerToken != "" && cc.Username != "":
		return nil, errors.New("set bearerToken or username and password, not both")
	case (cc.Username == "") != (cc.Password == ""):
		return nil, errors.New("username and password go together")
	case (len(cc.TLSClientConfig.CertData) == 0) != (len(cc.TLSClientConfig.KeyData) == 0):
		return nil, errors.New("tlsClientConfig: certData and keyData go together")
	case cc.BearerToken == "" && cc.Username == "" && len(cc.TLSClientConfig.CertData) == 0:
		return nil, errors.New("no credentials: set bearerToken, username and password, or tlsClientConfig.certData and keyData")
	case cc.TLSClientConfig.Insecure && len(cc.TLSClientConfig.CAData) > 0:
		return nil, errors.New("tlsClientConfig: insecure and caData exclude each other")
	}
	cfg := &rest.Config{
		Host:               server,
		BearerToken:        cc.BearerToken,
		Username:           cc.Username,
		Password:           cc.Password,
		DisableCompression: cc.DisableCompression,
		TLSClientConfig: rest.TLSClientConfig{
			Insecure:   cc.TLSClientConfig.Insecure,
			ServerName: cc.TLSClientConfig.ServerName,
			CAData:     cc.TLSClientConfig.CAData,
			CertData:   cc.TLSClientConfig.CertData,
			KeyData:    cc.TLSClientConfig.KeyData,
		},
	}
	if _, err := rest.TLSConfigFor(cfg); err != nil {
		return nil, fmt.Errorf("tlsClientConfig: %s", tlsProblem(err))
	}
	return cfg, nil
}

// jsonProblem says what is wrong with the config JSON without quoting it:
// a syntax error's offset, or the unknown field's name.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s: not a %s", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "invalid JSON"
}

// tlsProblem names what TLSConfigFor could not read, without the PEM data.
func tlsProblem(err error) string {
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	if strings.Contains(msg, "-----") {
		return "the certificate, key or CA data is not valid PEM"
	}
	return msg
}

// NormalizeServer checks that server is an https (or http) URL with a host
// and drops its trailing slash, so that the same cluster is always spelled
// the same way.
func NormalizeServer(server string) (string, error) {
	server = strings.TrimSpace(server)
	if server == "" {
		return "", errors.New("missing: the cluster's API server URL")
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		if strings.Contains(server, "@") {
			// Not quoted: what precedes the @ may be a password.
			return "", errors.New("not an http(s) URL of an API server without user info: credentials go in the config key, not the URL")
		}
		return "", fmt.Errorf("%q is not an http(s) URL of an API server", server)
	}
	return strings.TrimSuffix(server, "/"), nil
}

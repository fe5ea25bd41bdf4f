package source

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
)

// LabelSecretType is the label that marks a Kubernetes Secret as gyre
// repository credentials; its value is a SecretType.
const LabelSecretType = "gyre.dev/secret-type"

// SecretType says how a credentials Secret's url is matched.
type SecretType string

// The credential Secret types.
const (
	// SecretTypeRepository credentials apply to exactly one repository: the
	// Secret's url, compared after NormalizeURL.
	SecretTypeRepository SecretType = "repository"
	// SecretTypeRepoCreds credentials apply to every repository under the
	// Secret's url, a prefix compared after NormalizeURL on a path boundary
	// (https://github.com/org matches https://github.com/org/app but not
	// https://github.com/org2/app). The longest matching prefix wins, and a
	// repository Secret always beats a repo-creds one.
	SecretTypeRepoCreds SecretType = "repo-creds"
)

// The data keys read from a credentials Secret.
const (
	// SecretKeyURL is the repository URL, or the URL prefix for repo-creds.
	SecretKeyURL = "url"
	// SecretKeyUsername is the HTTP user name (or the ssh login name).
	SecretKeyUsername = "username"
	// SecretKeyPassword is the HTTP password or token.
	SecretKeyPassword = "password"
	// SecretKeySSHPrivateKey is a PEM-encoded, unencrypted ssh private key.
	SecretKeySSHPrivateKey = "sshPrivateKey"
	// SecretKeyKnownHosts holds known_hosts lines for the ssh host key check.
	SecretKeyKnownHosts = "knownHosts"
	// SecretKeyInsecureIgnoreHostKey set to "true" skips the ssh host key check.
	SecretKeyInsecureIgnoreHostKey = "insecureIgnoreHostKey"
	// SecretKeyCAData is a PEM bundle of extra certificate authorities for https.
	SecretKeyCAData = "caData"
	// SecretKeyInsecureSkipVerify set to "true" skips TLS verification.
	SecretKeyInsecureSkipVerify = "insecureSkipVerify"
)

// Credentials is what gyre presents to a git server. The zero value means
// anonymous access. Its String, GoString and LogValue methods never show a
// secret, so a Credentials value may be logged by accident without harm.
type Credentials struct {
	// Username for HTTP basic auth; for ssh it overrides the login name in
	// the URL. Empty with a Password set means "git".
	Username string
	// Password is an HTTP password or token.
	Password string
	// SSHPrivateKey is a PEM-encoded, unencrypted private key for ssh URLs.
	SSHPrivateKey []byte
	// KnownHosts holds known_hosts lines for ssh host key verification. When
	// empty the host key check fails closed unless InsecureIgnoreHostKey.
	KnownHosts []byte
	// InsecureIgnoreHostKey accepts any ssh host key. An explicit opt-in.
	InsecureIgnoreHostKey bool
	// CAData is a PEM bundle trusted for https in addition to the system
	// roots.
	CAData []byte
	// InsecureSkipVerify skips TLS certificate verification. An explicit
	// opt-in.
	InsecureSkipVerify bool
}

// IsZero reports whether c carries no credentials at all.
func (c Credentials) IsZero() bool {
	return c.Username == "" && c.Password == "" && len(c.SSHPrivateKey) == 0 &&
		len(c.KnownHosts) == 0 && !c.InsecureIgnoreHostKey && len(c.CAData) == 0 && !c.InsecureSkipVerify
}

// String describes which kinds of credentials c holds, without any secret.
func (c Credentials) String() string {
	var parts []string
	if c.Username != "" {
		parts = append(parts, "username="+c.Username)
	}
	if c.Password != "" {
		parts = append(parts, "password=***")
	}
	if len(c.SSHPrivateKey) > 0 {
		parts = append(parts, "sshPrivateKey=***")
	}
	if len(c.KnownHosts) > 0 {
		parts = append(parts, "knownHosts")
	}
	if c.InsecureIgnoreHostKey {
		parts = append(parts, "insecureIgnoreHostKey")
	}
	if len(c.CAData) > 0 {
		parts = append(parts, "caData")
	}
	if c.InsecureSkipVerify {
		parts = append(parts, "insecureSkipVerify")
	}
	return "Credentials{" + strings.Join(parts, " ") + "}"
}

// GoString is String, so %#v does not print secrets either.
func (c Credentials) GoString() string { return c.String() }

// LogValue is String, so slog does not print secrets either.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// secrets returns the secret strings that must never appear in a message.
func (c Credentials) secrets() []string {
	var s []string
	if c.Password != "" {
		s = append(s, c.Password)
	}
	return s
}

// CredentialSource tells the Cache which credentials to use for a repository.
// It is asked before every network operation, so a rotated Secret applies on
// the next ref listing. cmd/ backs it with an informer over labelled Secrets;
// SecretCredentials is the pure part of that.
type CredentialSource interface {
	// Credentials returns the credentials for repoURL, or the zero value
	// for anonymous access.
	Credentials(repoURL string) (Credentials, error)
}

// CredentialsFunc adapts a function to a CredentialSource.
type CredentialsFunc func(repoURL string) (Credentials, error)

// Credentials calls f.
func (f CredentialsFunc) Credentials(repoURL string) (Credentials, error) { return f(repoURL) }

// SecretCredentials is a CredentialSource built from Kubernetes Secrets by
// CredentialsFromSecrets. It is immutable and safe for concurrent use; to
// follow changes, build a new one and swap it in.
type SecretCredentials struct {
	exact    map[string]Credentials
	prefixes []prefixCredentials // longest prefix first
}

// prefixCredentials is one repo-creds Secret.
type prefixCredentials struct {
	prefix string
	creds  Credentials
}

var _ CredentialSource = (*SecretCredentials)(nil)

// CredentialsFromSecrets builds a SecretCredentials from the Secrets labelled
// LabelSecretType; other Secrets are ignored. A Secret that cannot be used
// (no url, an unparsable key or CA bundle, a duplicate url) is left out and
// reported in the returned error, which names the Secret and the key but
// never a value; the returned set holds every usable Secret even then. When
// two Secrets of one type declare the same url, the first by namespace/name
// wins.
func CredentialsFromSecrets(secrets []corev1.Secret) (*SecretCredentials, error) {
	sorted := make([]*corev1.Secret, 0, len(secrets))
	for i := range secrets {
		sorted = append(sorted, &secrets[i])
	}
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})

	set := &SecretCredentials{exact: map[string]Credentials{}}
	owner := map[string]string{}
	var errs []error
	for _, s := range sorted {
		typ := SecretType(s.Labels[LabelSecretType])
		if typ != SecretTypeRepository && typ != SecretTypeRepoCreds {
			continue
		}
		name := s.Namespace + "/" + s.Name
		key, creds, err := credentialsFromSecret(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("secret %s: %w", name, err))
			continue
		}
		id := string(typ) + " " + key
		if first, dup := owner[id]; dup {
			errs = append(errs, fmt.Errorf("secret %s: %s url %q already declared by secret %s, which wins", name, typ, key, first))
			continue
		}
		owner[id] = name
		if typ == SecretTypeRepository {
			set.exact[key] = creds
		} else {
			set.prefixes = append(set.prefixes, prefixCredentials{prefix: key, creds: creds})
		}
	}
	sort.SliceStable(set.prefixes, func(i, j int) bool {
		return len(set.prefixes[i].prefix) > len(set.prefixes[j].prefix)
	})
	return set, errors.Join(errs...)
}

// Credentials returns the credentials of the repository Secret whose url
// normalises to repoURL's identity, else those of the longest repo-creds
// prefix, else the zero value.
func (s *SecretCredentials) Credentials(repoURL string) (Credentials, error) {
	key, err := NormalizeURL(repoURL)
	if err != nil {
		return Credentials{}, err
	}
	if c, ok := s.exact[key]; ok {
		return c, nil
	}
	for _, p := range s.prefixes {
		if hasPathPrefix(key, p.prefix) {
			return p.creds, nil
		}
	}
	return Credentials{}, nil
}

// hasPathPrefix reports whether prefix is key or a leading run of whole path
// segments of key.
func hasPathPrefix(key, prefix string) bool {
	if !strings.HasPrefix(key, prefix) {
		return false
	}
	return len(key) == len(prefix) || strings.HasSuffix(prefix, "/") || key[len(prefix)] == '/'
}

// credentialsFromSecret reads one Secret's data into a normalised url and
// Credentials, validating what can be validated without a network.
func credentialsFromSecret(s *corev1.Secret) (string, Credentials, error) {
	get := func(k string) []byte {
		if v, ok := s.Data[k]; ok {
			return v
		}
		if v, ok := s.StringData[k]; ok {
			return []byte(v)
		}
		return nil
	}
	rawURL := strings.TrimSpace(string(get(SecretKeyURL)))
	if rawURL == "" {
		return "", Credentials{}, fmt.Errorf("no %q key", SecretKeyURL)
	}
	key, err := NormalizeURL(rawURL)
	if err != nil {
		return "", Credentials{}, fmt.Errorf("key %q: %w", SecretKeyURL, err)
	}
	c := Credentials{
		Username:              strings.TrimSpace(string(get(SecretKeyUsername))),
		Password:              strings.TrimSpace(string(get(SecretKeyPassword))),
		SSHPrivateKey:         get(SecretKeySSHPrivateKey),
		KnownHosts:            get(SecretKeyKnownHosts),
		InsecureIgnoreHostKey: isTrue(get(SecretKeyInsecureIgnoreHostKey)),
		CAData:                get(SecretKeyCAData),
		InsecureSkipVerify:    isTrue(get(SecretKeyInsecureSkipVerify)),
	}
	if len(c.SSHPrivateKey) > 0 {
		if _, err := ssh.ParsePrivateKey(c.SSHPrivateKey); err != nil {
			var missing *ssh.PassphraseMissingError
			if errors.As(err, &missing) {
				return "", Credentials{}, fmt.Errorf("key %q: passphrase-protected keys are not supported", SecretKeySSHPrivateKey)
			}
			return "", Credentials{}, fmt.Errorf("key %q: not a valid private key", SecretKeySSHPrivateKey)
		}
	}
	if len(c.KnownHosts) > 0 {
		if err := validateKnownHosts(c.KnownHosts); err != nil {
			return "", Credentials{}, fmt.Errorf("key %q: %w", SecretKeyKnownHosts, err)
		}
	}
	if len(c.CAData) > 0 && !x509.NewCertPool().AppendCertsFromPEM(c.CAData) {
		return "", Credentials{}, fmt.Errorf("key %q: no PEM certificate found", SecretKeyCAData)
	}
	return key, c, nil
}

// isTrue reads a Secret flag: only "true" (any case) turns it on.
func isTrue(v []byte) bool { return strings.EqualFold(strings.TrimSpace(string(v)), "true") }

// validateKnownHosts checks that every non-comment line of a known_hosts
// blob parses.
func validateKnownHosts(data []byte) error {
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if _, _, _, _, _, err := ssh.ParseKnownHosts(line); err != nil {
			return fmt.Errorf("line %d: not a known_hosts entry", i+1)
		}
	}
	return nil
}

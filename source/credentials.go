package source

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
)

// LabelSecretType is the label that marks a Kubernetes Secret as gyre
// repository credentials; its value is a SecretType.
const LabelSecretType = "gyre.dev/secret-type"

// LabelArgoCDSecretType is Argo CD's label for the same purpose, with the
// same values and keys: Secrets written for Argo CD work unchanged. When a
// Secret carries both labels, gyre's decides.
const LabelArgoCDSecretType = "argocd.argoproj.io/secret-type"

// SecretLabels are the labels that mark credentials Secrets, gyre's first.
// cmd/ watches the Secrets that carry one of them with a SecretType value,
// and no other.
func SecretLabels() []string { return []string{LabelSecretType, LabelArgoCDSecretType} }

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

// RepoType is the kind of repository a credentials Secret is for: its
// "type" key, as in Argo CD. Credentials of one type are never offered to a
// repository of another: a Helm repository's password does not go to a git
// server at the same address.
type RepoType string

// The repository types.
const (
	// RepoTypeGit is a git repository; the default when "type" is absent.
	RepoTypeGit RepoType = "git"
	// RepoTypeHelm is a Helm chart repository (index.yaml over http).
	RepoTypeHelm RepoType = "helm"
	// RepoTypeOCI is an OCI registry.
	RepoTypeOCI RepoType = "oci"
)

// RepoTypes lists the repository types a Secret may declare.
func RepoTypes() []RepoType { return []RepoType{RepoTypeGit, RepoTypeHelm, RepoTypeOCI} }

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
	// SecretKeyType is the RepoType; absent means git.
	SecretKeyType = "type"
)

// SecretKeys lists every data key gyre reads from a credentials Secret.
func SecretKeys() []string {
	return []string{
		SecretKeyURL, SecretKeyType, SecretKeyUsername, SecretKeyPassword, SecretKeySSHPrivateKey,
		SecretKeyKnownHosts, SecretKeyInsecureIgnoreHostKey, SecretKeyCAData, SecretKeyInsecureSkipVerify,
	}
}

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

// Equal reports whether c and o hold the same credentials.
func (c Credentials) Equal(o Credentials) bool { return c.fingerprint() == o.fingerprint() }

// AuthKind names how a client authenticates to a repository.
type AuthKind string

// The ways of authenticating.
const (
	// AuthAnonymous presents no credentials.
	AuthAnonymous AuthKind = "anonymous"
	// AuthBasic is a user name and password (or token): HTTP basic auth,
	// or an ssh password login.
	AuthBasic AuthKind = "basic"
	// AuthSSHKey is an ssh private key.
	AuthSSHKey AuthKind = "ssh-key"
)

// Auth says how c authenticates: with an ssh key when it holds one, else
// with a user name and password when it holds either, else anonymously.
// TLS and host key settings apply in every case.
func (c Credentials) Auth() AuthKind {
	switch {
	case len(c.SSHPrivateKey) > 0:
		return AuthSSHKey
	case c.Username != "" || c.Password != "":
		return AuthBasic
	}
	return AuthAnonymous
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
	exact    map[exactKey]*CredentialSecret
	prefixes []*CredentialSecret // repo-creds, longest prefix first
}

// exactKey finds a repository Secret.
type exactKey struct {
	typ RepoType
	url string // normalised
}

var _ CredentialSource = (*SecretCredentials)(nil)

// CredentialSecret is one usable credentials Secret, as gyre read it.
type CredentialSecret struct {
	// Namespace and Name name the Secret.
	Namespace, Name string
	// Label is the label that marked it: LabelSecretType or
	// LabelArgoCDSecretType.
	Label string
	// Kind says how URL is matched: one repository, or a prefix.
	Kind SecretType
	// Type is the kind of repository it is for.
	Type RepoType
	// URL is the Secret's url key with any password removed (Redact).
	URL string
	// Key is NormalizeURL of URL: what repositories are matched against.
	Key string
	// Credentials are what it holds.
	Credentials Credentials
}

// ParseCredentialSecret reads a credentials Secret. ok is false, and the
// Secret of no concern, when neither of SecretLabels says repository or
// repo-creds. An error names the key at fault but never a value; the
// fields read before the fault are set even then (Credentials never is).
func ParseCredentialSecret(s *corev1.Secret) (_ CredentialSecret, ok bool, _ error) {
	cs := CredentialSecret{Namespace: s.Namespace, Name: s.Name}
	for _, label := range SecretLabels() {
		v, found := s.Labels[label]
		if !found {
			continue
		}
		cs.Label, cs.Kind = label, SecretType(v)
		break
	}
	if cs.Kind != SecretTypeRepository && cs.Kind != SecretTypeRepoCreds {
		return CredentialSecret{}, false, nil
	}
	return cs, true, cs.read(s)
}

// CredentialsFromSecrets builds a SecretCredentials from the Secrets marked
// by one of SecretLabels; other Secrets are ignored. A Secret that cannot be
// used (no url, an unknown type, an unparsable key or CA bundle, a url that
// another Secret of the same kind and type declares) is left out and
// reported in the returned error, which names the Secret and the key but
// never a value; the returned set holds every usable Secret even then. When
// two Secrets of one kind and type declare the same url, the first by
// namespace/name wins.
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

	set := &SecretCredentials{exact: map[exactKey]*CredentialSecret{}}
	owner := map[string]string{}
	var errs []error
	for _, s := range sorted {
		cs, ok, err := ParseCredentialSecret(s)
		if !ok {
			continue
		}
		name := s.Namespace + "/" + s.Name
		if err != nil {
			errs = append(errs, fmt.Errorf("secret %s: %w", name, err))
			continue
		}
		id := string(cs.Kind) + " " + string(cs.Type) + " " + cs.Key
		if first, dup := owner[id]; dup {
			errs = append(errs, fmt.Errorf("secret %s: %s url %q (type %s) already declared by secret %s, which wins", name, cs.Kind, cs.Key, cs.Type, first))
			continue
		}
		owner[id] = name
		if cs.Kind == SecretTypeRepository {
			set.exact[exactKey{cs.Type, cs.Key}] = &cs
		} else {
			set.prefixes = append(set.prefixes, &cs)
		}
	}
	sort.SliceStable(set.prefixes, func(i, j int) bool {
		return len(set.prefixes[i].Key) > len(set.prefixes[j].Key)
	})
	return set, errors.Join(errs...)
}

// Credentials returns the git credentials for repoURL: Lookup's for
// RepoTypeGit, or the zero value when no Secret matches.
func (s *SecretCredentials) Credentials(repoURL string) (Credentials, error) {
	cs, ok, err := s.Lookup(RepoTypeGit, repoURL)
	if !ok {
		return Credentials{}, err
	}
	return cs.Credentials, nil
}

// Lookup returns the Secret of type typ that applies to repoURL: the
// repository Secret whose url normalises to repoURL's identity, else the
// repo-creds Secret with the longest matching prefix. ok is false when none
// does. A nil SecretCredentials holds no Secret.
func (s *SecretCredentials) Lookup(typ RepoType, repoURL string) (_ CredentialSecret, ok bool, _ error) {
	key, err := NormalizeURL(repoURL)
	if err != nil {
		return CredentialSecret{}, false, err
	}
	if s == nil {
		return CredentialSecret{}, false, nil
	}
	if c, ok := s.exact[exactKey{typ, key}]; ok {
		return *c, true, nil
	}
	for _, p := range s.prefixes {
		if p.Type == typ && hasPathPrefix(key, p.Key) {
			return *p, true, nil
		}
	}
	return CredentialSecret{}, false, nil
}

// Secrets returns every Secret in use, by namespace/name: those
// CredentialsFromSecrets did not leave out.
func (s *SecretCredentials) Secrets() []CredentialSecret {
	if s == nil {
		return nil
	}
	out := make([]CredentialSecret, 0, len(s.exact)+len(s.prefixes))
	for _, c := range s.exact {
		out = append(out, *c)
	}
	for _, c := range s.prefixes {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// hasPathPrefix reports whether prefix is key or a leading run of whole path
// segments of key.
func hasPathPrefix(key, prefix string) bool {
	if !strings.HasPrefix(key, prefix) {
		return false
	}
	return len(key) == len(prefix) || strings.HasSuffix(prefix, "/") || key[len(prefix)] == '/'
}

// read fills cs from the Secret's data: its url (redacted and normalised),
// type and Credentials, validating what can be validated without a
// network. On an error the fields read before the fault stay set, so that a
// broken Secret can still be listed and deleted.
func (cs *CredentialSecret) read(s *corev1.Secret) error {
	get := func(k string) []byte {
		if v, ok := s.Data[k]; ok {
			return v
		}
		if v, ok := s.StringData[k]; ok {
			return []byte(v)
		}
		return nil
	}
	cs.URL = Redact(strings.TrimSpace(string(get(SecretKeyURL))))
	if cs.URL == "" {
		return fmt.Errorf("no %q key", SecretKeyURL)
	}
	key, err := NormalizeURL(cs.URL)
	if err != nil {
		return fmt.Errorf("key %q: %w", SecretKeyURL, scrub(err, nil))
	}
	cs.Key = key
	typ := RepoType(strings.ToLower(strings.TrimSpace(string(get(SecretKeyType)))))
	if typ == "" {
		typ = RepoTypeGit
	}
	if !slices.Contains(RepoTypes(), typ) {
		return fmt.Errorf("key %q: unknown repository type (want git, helm or oci)", SecretKeyType)
	}
	cs.Type = typ
	switch scheme, _, _ := strings.Cut(key, "://"); {
	case scheme == "oci" && typ != RepoTypeOCI:
		return fmt.Errorf("key %q: an oci:// url is a registry, of type oci, not %s", SecretKeyType, typ)
	case typ == RepoTypeOCI && scheme != "oci" && scheme != "https" && scheme != "http":
		return fmt.Errorf("key %q: a registry of type oci needs an oci:// (or https://) url, not %s://", SecretKeyURL, scheme)
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
				return fmt.Errorf("key %q: passphrase-protected keys are not supported", SecretKeySSHPrivateKey)
			}
			return fmt.Errorf("key %q: not a valid private key", SecretKeySSHPrivateKey)
		}
	}
	if len(c.KnownHosts) > 0 {
		if err := validateKnownHosts(c.KnownHosts); err != nil {
			return fmt.Errorf("key %q: %w", SecretKeyKnownHosts, err)
		}
	}
	if len(c.CAData) > 0 && !x509.NewCertPool().AppendCertsFromPEM(c.CAData) {
		return fmt.Errorf("key %q: no PEM certificate found", SecretKeyCAData)
	}
	cs.Credentials = c
	return nil
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

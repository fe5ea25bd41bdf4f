package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gyre-cd/gyre/source"
)

// Repositories keeps the credentials gyre presents to repositories: the
// Secrets in gyre's own namespace labelled gyre.dev/secret-type (or Argo
// CD's label). cmd/gyre implements it over the cluster and the git and
// chart caches.
// What it returns never holds a secret value: no password, token, private
// key or CA bundle, only which of them a Secret has.
type Repositories interface {
	// ListRepositories returns every credentials Secret, with what the
	// git cache (type git) or the chart cache (helm, oci) last heard from
	// the repositories it serves.
	ListRepositories(ctx context.Context) ([]Repository, error)
	// PutRepository creates the Secret req describes, or replaces the
	// credentials of the one that holds the same url, kind and type;
	// created says which. It returns an error wrapping ErrBadRequest for
	// credentials that cannot work (a key that does not parse, a CA bundle
	// without a certificate); the error names the field, never its value.
	PutRepository(ctx context.Context, req RepositoryRequest) (_ Repository, created bool, _ error)
	// DeleteRepository deletes the Secrets of url (any spelling) of kind,
	// and of type typ unless it is empty, and returns them; an error
	// wrapping ErrNotFound when there is none.
	DeleteRepository(ctx context.Context, url string, kind source.SecretType, typ source.RepoType) ([]Repository, error)
}

// RepositoryList is the answer of GET /api/v1/repositories, and of DELETE
// (the Secrets deleted).
type RepositoryList struct {
	Items []Repository `json:"items"`
}

// Repository is one credentials Secret as the API shows it: whom it is for
// and what kind of credentials it holds, never their values.
type Repository struct {
	// URL is the Secret's url without user information: one repository,
	// or for repo-creds the prefix of every repository it serves.
	URL  string            `json:"url"`
	Kind source.SecretType `json:"kind"`
	Type source.RepoType   `json:"type"`
	// Secret is the Secret's namespace/name.
	Secret string `json:"secret"`
	// Label is the label that marked the Secret: gyre's or Argo CD's.
	Label string `json:"label"`
	// Auth is how gyre authenticates with it; Username is the user name it
	// presents, if any.
	Auth     source.AuthKind `json:"auth"`
	Username string          `json:"username,omitempty"`
	// CAData, KnownHosts, InsecureIgnoreHostKey and InsecureSkipVerify say
	// which of those the Secret sets.
	CAData                bool `json:"caData,omitempty"`
	KnownHosts            bool `json:"knownHosts,omitempty"`
	InsecureIgnoreHostKey bool `json:"insecureIgnoreHostKey,omitempty"`
	InsecureSkipVerify    bool `json:"insecureSkipVerify,omitempty"`
	// Invalid, when set, is why gyre does not use the Secret.
	Invalid string `json:"invalid,omitempty"`
	// Repositories are those in the git or chart cache that use these
	// credentials, with the outcome of their last request: at most one for
	// a repository Secret, any number for repo-creds.
	Repositories []RepositoryState `json:"repositories"`
}

// RepositoryState is what gyre last heard from one repository's server.
type RepositoryState struct {
	// URL is the repository's identity: no credentials.
	URL string `json:"url"`
	// Reachable is set when the last request succeeded: a git ref listing
	// or fetch, a Helm index fetch or chart download, a registry tag
	// listing or pull.
	Reachable bool `json:"reachable"`
	// CheckedAt is when that request ended.
	CheckedAt *time.Time `json:"checkedAt,omitempty"`
	// ListedAt and FetchedAt are when a ref listing (an index fetch or tag
	// listing) and a fetch (a chart download or pull) last succeeded.
	ListedAt  *time.Time `json:"listedAt,omitempty"`
	FetchedAt *time.Time `json:"fetchedAt,omitempty"`
	// Error is why the last request failed.
	Error string `json:"error,omitempty"`
}

// RepositoryRequest is the body of POST /api/v1/repositories. Only URL is
// required.
type RepositoryRequest struct {
	// URL is the repository, or with Kind repo-creds a prefix. It may not
	// carry a password: that goes in Password.
	URL string `json:"url"`
	// Kind defaults to repository; Type to oci for an oci:// URL, else
	// to git.
	Kind source.SecretType `json:"kind,omitempty"`
	Type source.RepoType   `json:"type,omitempty"`
	// Username and Password for HTTP basic auth (a token as password).
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// SSHPrivateKey (PEM, unencrypted) and KnownHosts for ssh URLs;
	// InsecureIgnoreHostKey skips the host key check instead.
	SSHPrivateKey         string `json:"sshPrivateKey,omitempty"`
	KnownHosts            string `json:"knownHosts,omitempty"`
	InsecureIgnoreHostKey bool   `json:"insecureIgnoreHostKey,omitempty"`
	// CAData is a PEM bundle trusted for https besides the system roots;
	// InsecureSkipVerify skips TLS verification.
	CAData             string `json:"caData,omitempty"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
}

// check validates r and fills in its defaults. Its errors never quote a
// value but the url, and that only without user information.
func (r *RepositoryRequest) check() error {
	r.URL = strings.TrimSpace(r.URL)
	if r.URL == "" {
		return statusError(http.StatusBadRequest, `body: "url" is required`)
	}
	if source.Redact(r.URL) != r.URL {
		return statusError(http.StatusBadRequest, fmt.Sprintf("url %s carries a password or token: send it in \"password\" instead", source.Redact(r.URL)))
	}
	registry := isRegistryURL(r.URL)
	if registry {
		if u, err := url.Parse(r.URL); err != nil || u.Host == "" {
			return statusError(http.StatusBadRequest, fmt.Sprintf("url %s: not an oci://host/path registry URL", source.Redact(r.URL)))
		}
	} else if _, err := source.NormalizeURL(r.URL); err != nil {
		return statusError(http.StatusBadRequest, fmt.Sprintf("url %s: not a repository URL", source.Redact(r.URL)))
	}
	if r.Kind == "" {
		r.Kind = source.SecretTypeRepository
	}
	if err := checkKind(r.Kind); err != nil {
		return err
	}
	switch {
	case r.Type == "" && registry:
		r.Type = source.RepoTypeOCI
	case r.Type == "":
		r.Type = source.RepoTypeGit
	case registry && r.Type != source.RepoTypeOCI:
		// gyre asks only for credentials of type oci for an oci:// URL.
		return statusError(http.StatusBadRequest, fmt.Sprintf("url %s: an oci:// URL takes type %s, not %q", source.Redact(r.URL), source.RepoTypeOCI, r.Type))
	}
	return checkType(r.Type)
}

// isRegistryURL reports whether raw is an oci:// URL: an OCI registry,
// whose credentials are of type oci.
func isRegistryURL(raw string) bool {
	return len(raw) >= len("oci://") && strings.EqualFold(raw[:len("oci://")], "oci://")
}

func checkKind(k source.SecretType) error {
	if k != source.SecretTypeRepository && k != source.SecretTypeRepoCreds {
		return statusError(http.StatusBadRequest, fmt.Sprintf("kind %q: want %s or %s", k, source.SecretTypeRepository, source.SecretTypeRepoCreds))
	}
	return nil
}

func checkType(t source.RepoType) error {
	if !slices.Contains(source.RepoTypes(), t) {
		return statusError(http.StatusBadRequest, fmt.Sprintf("type %q: want one of %v", t, source.RepoTypes()))
	}
	return nil
}

// repositories returns the Repositories, or answers 501 without them.
func (s *Server) repositories(w http.ResponseWriter) (Repositories, bool) {
	if s.opts.Repositories == nil {
		writeError(w, statusError(http.StatusNotImplemented, "this server does not manage repository credentials"))
		return nil, false
	}
	return s.opts.Repositories, true
}

// listRepositories answers GET /api/v1/repositories.
func (s *Server) listRepositories(w http.ResponseWriter, r *http.Request) {
	repos, ok := s.repositories(w)
	if !ok {
		return
	}
	items, err := repos.ListRepositories(r.Context())
	if err != nil {
		writeError(w, redactedError{err: err})
		return
	}
	writeJSON(w, http.StatusOK, RepositoryList{Items: redactRepositories(items)})
}

// putRepository answers POST /api/v1/repositories: 201 with the new
// Secret, or 200 when it replaced the credentials of an existing one.
func (s *Server) putRepository(w http.ResponseWriter, r *http.Request) {
	repos, ok := s.repositories(w)
	if !ok {
		return
	}
	var req RepositoryRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := req.check(); err != nil {
		writeError(w, err)
		return
	}
	repo, created, err := repos.PutRepository(r.Context(), req)
	if err != nil {
		writeError(w, redactedError{err: err, secrets: []string{req.Password, req.SSHPrivateKey, req.CAData, req.KnownHosts}})
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.log.Info("repository credentials stored", "url", source.Redact(req.URL), "kind", req.Kind, "type", req.Type,
		"secret", repo.Secret, "created", created, "by", identityFrom(r.Context()).Name)
	writeJSON(w, status, redactRepositories([]Repository{repo})[0])
}

// deleteRepository answers DELETE /api/v1/repositories?url=&kind=&type=:
// the Secrets deleted, or 404.
func (s *Server) deleteRepository(w http.ResponseWriter, r *http.Request) {
	repos, ok := s.repositories(w)
	if !ok {
		return
	}
	q := r.URL.Query()
	url := strings.TrimSpace(q.Get("url"))
	kind := source.SecretType(q.Get("kind"))
	typ := source.RepoType(q.Get("type"))
	if url == "" {
		writeError(w, statusError(http.StatusBadRequest, `query: "url" is required`))
		return
	}
	if kind == "" {
		kind = source.SecretTypeRepository
	}
	if err := checkKind(kind); err != nil {
		writeError(w, err)
		return
	}
	if typ != "" {
		if err := checkType(typ); err != nil {
			writeError(w, err)
			return
		}
	}
	deleted, err := repos.DeleteRepository(r.Context(), url, kind, typ)
	if err != nil {
		writeError(w, redactedError{err: err})
		return
	}
	s.log.Info("repository credentials deleted", "url", source.Redact(url), "kind", kind, "secrets", len(deleted), "by", identityFrom(r.Context()).Name)
	writeJSON(w, http.StatusOK, RepositoryList{Items: redactRepositories(deleted)})
}

// redactRepositories returns items with every address and message
// without credentials, whatever the implementation let through.
func redactRepositories(items []Repository) []Repository {
	out := make([]Repository, len(items))
	for i, it := range items {
		it.URL = redactURL(it.URL)
		it.Invalid = redactMessage(it.Invalid)
		states := make([]RepositoryState, len(it.Repositories))
		for j, st := range it.Repositories {
			st.URL = redactURL(st.URL)
			st.Error = redactMessage(st.Error)
			states[j] = st
		}
		it.Repositories = states
		out[i] = it
	}
	return out
}

// redactedError is an error whose message has URL credentials, and each
// of secrets, removed. It keeps err's status.
type redactedError struct {
	err     error
	secrets []string
}

func (e redactedError) Error() string {
	msg := redactMessage(e.err.Error())
	for _, secret := range e.secrets {
		if secret = strings.TrimSpace(secret); len(secret) >= 4 {
			msg = strings.ReplaceAll(msg, secret, "***")
		}
	}
	return msg
}

func (e redactedError) Unwrap() error { return e.err }

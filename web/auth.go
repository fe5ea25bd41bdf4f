package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"unicode"

	"github.com/gyre-cd/gyre/app"
	corev1 "k8s.io/api/core/v1"
)

// Role is what an API token may do.
type Role string

// The roles.
const (
	// RoleAdmin may read and request operations (sync, rollback, resume,
	// refresh).
	RoleAdmin Role = "admin"
	// RoleReadonly may read only.
	RoleReadonly Role = "readonly"
)

// allows reports whether r grants what need asks for.
func (r Role) allows(need Role) bool {
	return r == RoleAdmin || r == need
}

// Identity is who a token belongs to. Name is recorded as the initiator of
// the operations it requests.
type Identity struct {
	Name string
	Role Role
	// Projects, when not empty, limits the identity to the Applications of
	// these projects (app.Application.ProjectName); the API answers for any
	// other Application as if it did not exist. Empty means every project.
	Projects []string
}

// sees reports whether id may see Applications of project.
func (id Identity) sees(project string) bool {
	return len(id.Projects) == 0 || slices.Contains(id.Projects, project)
}

// seesApp reports whether id may see a.
func (id Identity) seesApp(a *app.Application) bool {
	return id.sees(a.ProjectName())
}

// TokenSource finds the identity a bearer token belongs to. Lookup must be
// safe for concurrent use and should not reveal through its timing which
// tokens exist.
type TokenSource interface {
	Lookup(token string) (Identity, bool)
}

// StaticTokens is a fixed set of tokens, each mapped to its identity.
type StaticTokens map[string]Identity

// Lookup returns the identity of token. It compares SHA-256 digests, so
// that the comparison does not depend on the tokens' lengths, against every
// token without stopping at a match.
func (t StaticTokens) Lookup(token string) (Identity, bool) {
	if token == "" {
		return Identity{}, false
	}
	got := sha256.Sum256([]byte(token))
	var id Identity
	found := 0
	for tok, who := range t {
		want := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
			id, found = who, 1
		}
	}
	return id, found == 1
}

// TokenSet is a TokenSource whose tokens may be replaced while it serves:
// cmd/gyre stores a new set each time the token Secret changes, and a token
// that is no longer in the set is refused from the next request on. The
// zero TokenSet knows no token.
type TokenSet struct {
	current atomic.Pointer[StaticTokens]
}

// NewTokenSet returns a TokenSet holding t.
func NewTokenSet(t StaticTokens) *TokenSet {
	s := &TokenSet{}
	s.Store(t)
	return s
}

// Store replaces every token with t. The caller must not change t after.
func (s *TokenSet) Store(t StaticTokens) { s.current.Store(&t) }

// Lookup returns the identity of token in the current set, as
// StaticTokens.Lookup does.
func (s *TokenSet) Lookup(token string) (Identity, bool) {
	t := s.current.Load()
	if t == nil {
		return Identity{}, false
	}
	return t.Lookup(token)
}

// projectsKeyPrefix starts the keys of a token Secret that limit a name's
// tokens to projects.
const projectsKeyPrefix = "projects."

// TokensFromSecret reads API tokens from a Secret. A key "<role>.<name>"
// (e.g. "admin.ci", "readonly.dashboard") holds a token; a key
// "projects.<name>" limits every token of that name to the projects it
// lists, separated by commas or white space (e.g. "projects.ci":
// "team-a,team-b"). Kubernetes allows only letters, digits, '-', '_' and
// '.' in Secret keys, so the projects cannot be part of the token's key.
// Surrounding white space in a value is ignored.
//
// It returns the tokens of every valid key and, when some keys are
// invalid, an error naming each of them: a token whose key is invalid, or
// whose value another key repeats, is left out, never given more than its
// key says. Keys are read in sorted order.
func TokensFromSecret(s *corev1.Secret) (StaticTokens, error) {
	values := secretValues(s)
	keys := slices.Sorted(maps.Keys(values))

	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("secret %s/%s: key %q: %s", s.Namespace, s.Name, k, fmt.Sprintf(format, args...)))
	}
	scopes := map[string][]string{} // a name with an invalid projects key maps to nil
	for _, k := range keys {
		if name, ok := strings.CutPrefix(k, projectsKeyPrefix); ok {
			projects := strings.FieldsFunc(values[k], func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
			switch {
			case name == "":
				bad(k, "want projects.<name>, e.g. projects.ci")
			case len(projects) == 0:
				bad(k, "no projects listed (want e.g. team-a,team-b; remove the key for tokens of every project)")
				scopes[name] = nil // its tokens are left out below: fail closed
			default:
				slices.Sort(projects)
				scopes[name] = slices.Compact(projects)
			}
		}
	}
	type entry struct {
		key string
		id  Identity
	}
	byToken := map[string][]entry{}
	tokenKeys := map[string]bool{}
	for _, k := range keys {
		if strings.HasPrefix(k, projectsKeyPrefix) {
			continue
		}
		role, name, ok := strings.Cut(k, ".")
		if !ok || name == "" {
			bad(k, "want <role>.<name>, e.g. admin.ci, or projects.<name>")
			continue
		}
		if r := Role(role); r != RoleAdmin && r != RoleReadonly {
			bad(k, "unknown role %q (want %s or %s)", role, RoleAdmin, RoleReadonly)
			continue
		}
		tokenKeys[name] = true
		if projects, scoped := scopes[name]; scoped && len(projects) == 0 {
			bad(k, "left out: projects.%s is invalid", name)
			continue
		}
		tok := strings.TrimSpace(values[k])
		if tok == "" {
			bad(k, "empty token")
			continue
		}
		byToken[tok] = append(byToken[tok], entry{k, Identity{Name: name, Role: Role(role), Projects: scopes[name]}})
	}
	for name := range scopes {
		if !tokenKeys[name] {
			bad(projectsKeyPrefix+name, "no token key <role>.%s to limit", name)
		}
	}
	t := StaticTokens{}
	for tok, es := range byToken {
		if len(es) > 1 {
			for _, e := range es[1:] {
				bad(e.key, "same token as %s; both are left out", es[0].key)
			}
			continue
		}
		t[tok] = es[0].id
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return t, errors.Join(errs...)
}

// secretValues returns the Secret's data and stringData (which wins) as
// strings.
func secretValues(s *corev1.Secret) map[string]string {
	values := make(map[string]string, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		values[k] = string(v)
	}
	for k, v := range s.StringData {
		values[k] = v
	}
	return values
}

// identityKey is the context key of the caller's Identity.
type identityKey struct{}

// identityFrom returns the identity the auth middleware stored in ctx.
func identityFrom(ctx context.Context) Identity {
	id, _ := ctx.Value(identityKey{}).(Identity)
	return id
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header, or "".
func bearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// authorize wraps h so that it runs only for a bearer token whose role
// grants need: 401 without a known token, 403 for a role that does not
// grant need. Routes that name an Application use appRoute, which also
// checks the token's projects.
func (s *Server) authorize(need Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := s.identify(bearerToken(r), need)
		if err != nil {
			writeAuthError(w, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	}
}

// identify returns the identity of token if its role grants need.
func (s *Server) identify(token string, need Role) (Identity, error) {
	if token == "" {
		return Identity{}, errNoToken
	}
	id, ok := s.opts.Tokens.Lookup(token)
	if !ok {
		return Identity{}, errBadToken
	}
	if !id.Role.allows(need) {
		return Identity{}, statusError(http.StatusForbidden, fmt.Sprintf("%s %q may not do this: it needs the %s role", id.Role, id.Name, need))
	}
	return id, nil
}

// The answers to a missing or unknown credential.
var (
	errNoToken  = statusError(http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token>")
	errBadToken = statusError(http.StatusUnauthorized, "invalid token")
)

// writeAuthError answers a failed authentication, a 401 with the
// WWW-Authenticate header it needs.
func writeAuthError(w http.ResponseWriter, err error) {
	if statusOf(err) == http.StatusUnauthorized {
		challenge := `Bearer realm="gyre"`
		if err != errNoToken {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	writeError(w, err)
}

package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"

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

// TokensFromSecret reads API tokens from a Secret whose keys are
// "<role>.<name>" (e.g. "admin.ci", "readonly.dashboard") and whose values
// are the tokens. Surrounding white space in a value is ignored.
func TokensFromSecret(s *corev1.Secret) (StaticTokens, error) {
	t := StaticTokens{}
	keys := make([]string, 0, len(s.Data)+len(s.StringData))
	values := map[string]string{}
	for k, v := range s.Data {
		keys, values[k] = append(keys, k), string(v)
	}
	for k, v := range s.StringData {
		if _, dup := values[k]; !dup {
			keys = append(keys, k)
		}
		values[k] = v
	}
	slices.Sort(keys)
	for _, k := range keys {
		role, name, ok := strings.Cut(k, ".")
		if !ok || name == "" {
			return nil, fmt.Errorf("secret %s/%s: key %q: want <role>.<name>, e.g. admin.ci", s.Namespace, s.Name, k)
		}
		if r := Role(role); r != RoleAdmin && r != RoleReadonly {
			return nil, fmt.Errorf("secret %s/%s: key %q: unknown role %q (want %s or %s)", s.Namespace, s.Name, k, role, RoleAdmin, RoleReadonly)
		}
		tok := strings.TrimSpace(values[k])
		if tok == "" {
			return nil, fmt.Errorf("secret %s/%s: key %q: empty token", s.Namespace, s.Name, k)
		}
		if prev, dup := t[tok]; dup {
			return nil, fmt.Errorf("secret %s/%s: key %q: same token as %s.%s", s.Namespace, s.Name, k, prev.Role, prev.Name)
		}
		t[tok] = Identity{Name: name, Role: Role(role)}
	}
	return t, nil
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

// authorize wraps h so that it runs only for a token whose role grants need:
// 401 without a known token, 403 for a role that does not grant need.
func (s *Server) authorize(need Role, h http.HandlerFunc) http.HandlerFunc {
	return s.authorizeToken(need, bearerToken, h)
}

// authorizeQuery is authorize that also takes the token from a "token"
// query parameter, for the browser's EventSource, which cannot send
// headers. Only the event stream uses it: a URL is more likely than a
// header to end up in a log.
func (s *Server) authorizeQuery(need Role, h http.HandlerFunc) http.HandlerFunc {
	return s.authorizeToken(need, func(r *http.Request) string {
		if tok := bearerToken(r); tok != "" {
			return tok
		}
		return r.URL.Query().Get("token")
	}, h)
}

func (s *Server) authorizeToken(need Role, token func(*http.Request) string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := token(r)
		if tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gyre"`)
			writeError(w, statusError(http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token>"))
			return
		}
		id, ok := s.opts.Tokens.Lookup(tok)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gyre", error="invalid_token"`)
			writeError(w, statusError(http.StatusUnauthorized, "invalid token"))
			return
		}
		if !id.Role.allows(need) {
			writeError(w, statusError(http.StatusForbidden, fmt.Sprintf("%s %q may not do this: it needs the %s role", id.Role, id.Name, need)))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	}
}

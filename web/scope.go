package web

import (
	"fmt"
	"net/http"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/types"
)

// A token limited to projects (Identity.Projects) sees only the
// Applications of those projects, and the API must not tell it whether any
// other exists. Three places apply that rule, each once:
//
//   - appRoute, for every route whose path names one Application: an
//     Application the caller may not see answers exactly as one that does
//     not exist (404, same message), before the handler runs;
//   - listQuery.matches, for the application list: the filter, the total
//     and the pages count only what the caller sees;
//   - the event stream, whose clients are only told about Applications of
//     their projects (see hub.publish and Server.changeEvent).
//
// Routes about what every project shares (repository credentials) go
// through authorizeEveryProject: a token limited to projects gets 403
// there, whatever its role.

// appHandler serves a route about one Application: a, which appRoute found
// and checked the caller may see.
type appHandler func(w http.ResponseWriter, r *http.Request, a *app.Application)

// appRoute wraps h for a route whose path names an Application by
// {namespace} and {name}: it authorizes the bearer token for need, finds
// the Application and checks that the token's projects include it. An
// unknown Application and one of another project both answer 404 with the
// same message. Handlers reach the Application only through this wrapper.
func (s *Server) appRoute(need Role, h appHandler) http.HandlerFunc {
	return s.authorize(need, func(w http.ResponseWriter, r *http.Request) {
		key := appKey(r)
		a, ok := s.opts.Backend.Application(key)
		if !ok || !identityFrom(r.Context()).seesApp(a) {
			writeError(w, appNotFound(key))
			return
		}
		h(w, r, a)
	})
}

// appKey returns the key the path names.
func appKey(r *http.Request) types.NamespacedName {
	return types.NamespacedName{Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
}

// appNotFound is the answer for an Application that does not exist, or
// that the caller may not see.
func appNotFound(key types.NamespacedName) error {
	return fmt.Errorf("application %s: %w", key, ErrNotFound)
}

// authorizeEveryProject wraps h for a route about what every project
// shares: it authorizes the bearer token for need, and refuses with 403 a
// token limited to projects.
func (s *Server) authorizeEveryProject(need Role, h http.HandlerFunc) http.HandlerFunc {
	return s.authorize(need, func(w http.ResponseWriter, r *http.Request) {
		if id := identityFrom(r.Context()); len(id.Projects) > 0 {
			writeError(w, statusError(http.StatusForbidden, fmt.Sprintf("%s %q is limited to projects and may not do this: it concerns every project", id.Role, id.Name)))
			return
		}
		h(w, r)
	})
}

package web

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/gyre-cd/gyre/app"
)

// ProjectList is the answer of GET /api/v1/projects.
type ProjectList struct {
	Items []ProjectView `json:"items"`
}

// ProjectView is one Project as the API shows it.
type ProjectView struct {
	Name string          `json:"name"`
	Spec app.ProjectSpec `json:"spec"`
	// Implicit marks the default Project while no Project named "default"
	// exists: it allows everything.
	Implicit bool `json:"implicit,omitempty"`
	// Applications counts the Applications that use the Project (those the
	// caller may see).
	Applications int `json:"applications"`
}

// projectViews returns every Project the caller may see, the implicit
// default included while there is no Project named "default", by name.
func (s *Server) projectViews(id Identity) []ProjectView {
	var out []ProjectView
	for _, p := range s.opts.Backend.Projects() {
		out = append(out, ProjectView{Name: p.Name, Spec: p.Spec})
	}
	if !slices.ContainsFunc(out, func(v ProjectView) bool { return v.Name == app.DefaultProject }) {
		out = append(out, ProjectView{Name: app.DefaultProject, Spec: app.DefaultProjectSpec(), Implicit: true})
	}
	out = slices.DeleteFunc(out, func(v ProjectView) bool { return !id.sees(v.Name) })
	for _, a := range s.opts.Backend.Applications() {
		for i := range out {
			if out[i].Name == a.ProjectName() {
				out[i].Applications++
			}
		}
	}
	slices.SortFunc(out, func(a, b ProjectView) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// listProjects answers GET /api/v1/projects. A token limited to projects
// sees only those.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) {
	items := s.projectViews(identityFrom(r.Context()))
	if items == nil {
		items = []ProjectView{}
	}
	writeJSON(w, http.StatusOK, ProjectList{Items: items})
}

// getProject answers GET /api/v1/projects/{name}; a Project the caller may
// not see is answered as one that does not exist.
func (s *Server) getProject(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	for _, v := range s.projectViews(identityFrom(r.Context())) {
		if v.Name == name {
			writeJSON(w, http.StatusOK, v)
			return
		}
	}
	writeError(w, statusError(http.StatusNotFound, fmt.Sprintf("project %q not found", name)))
}

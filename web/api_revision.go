package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// RevisionBackend is what the API needs to look at an Application at a
// revision other than the one it follows, a pull request's branch say:
// GET .../diff?revision=REF and GET .../manifests. A Backend that also
// implements it serves those; without it they answer 501.
type RevisionBackend interface {
	// DiffAt compares the Application with its render at revision (a
	// branch, tag, ref or commit of its repository; one per source,
	// comma-joined, for several sources) as DiffObjects compares it with
	// a local render, and returns the revision compared. Nothing is
	// written.
	DiffAt(ctx context.Context, key types.NamespacedName, revision string) ([]diff.Result, string, error)
	// RenderAt renders the Application at revision (empty: the revision
	// it follows) with its own options and returns the objects and the
	// revision rendered.
	RenderAt(ctx context.Context, key types.NamespacedName, revision string) ([]*unstructured.Unstructured, string, error)
}

// HardRefresher is what POST .../refresh?hard=true needs: a refresh that
// resolves the revision again and renders afresh instead of from the
// render cache. A Backend that also implements it serves hard refreshes;
// without it they answer 501.
type HardRefresher interface {
	// RefreshHard queues the Application for a comparison that forgets
	// its cached ref listing and render first.
	RefreshHard(key types.NamespacedName)
}

// RevisionDiffResponse is the answer of GET .../diff?revision=REF: the
// diff, and the revision REF resolved to (a commit SHA; one per source,
// comma-joined).
type RevisionDiffResponse struct {
	DiffResponse
	Revision string `json:"revision"`
}

// ManifestsResponse is the answer of GET .../manifests: the objects the
// Application renders to at Revision, as rendered (before gyre places
// them in the destination namespace and marks them), Secret values
// masked.
type ManifestsResponse struct {
	Revision string                       `json:"revision"`
	Items    []*unstructured.Unstructured `json:"items"`
}

// revisionBackend returns the backend as a RevisionBackend, or an error
// that answers 501.
func (s *Server) revisionBackend() (RevisionBackend, error) {
	rb, ok := s.opts.Backend.(RevisionBackend)
	if !ok {
		return nil, statusError(http.StatusNotImplemented, "this server cannot render Applications at another revision")
	}
	return rb, nil
}

// getRevisionDiff answers GET .../diff?revision=REF: what a sync of REF
// would change. It only reads, as GET .../diff does.
func (s *Server) getRevisionDiff(w http.ResponseWriter, r *http.Request, a *app.Application, revision string) {
	rb, err := s.revisionBackend()
	if err != nil {
		writeError(w, err)
		return
	}
	key := a.Key()
	results, rev, err := rb.DiffAt(r.Context(), key, revision)
	if err != nil {
		writeError(w, fmt.Errorf("diff %s at %s: %w", key, revision, err))
		return
	}
	writeJSON(w, http.StatusOK, RevisionDiffResponse{DiffResponse: newDiffResponse(results), Revision: rev})
}

// getManifests answers GET .../manifests[?revision=REF]: the objects the
// Application renders to at REF, or at the revision it follows.
func (s *Server) getManifests(w http.ResponseWriter, r *http.Request, a *app.Application) {
	rb, err := s.revisionBackend()
	if err != nil {
		writeError(w, err)
		return
	}
	revision := strings.TrimSpace(r.URL.Query().Get("revision"))
	key := a.Key()
	objs, rev, err := rb.RenderAt(r.Context(), key, revision)
	if err != nil {
		at := ""
		if revision != "" {
			at = " at " + revision
		}
		writeError(w, fmt.Errorf("render %s%s: %w", key, at, err))
		return
	}
	out := ManifestsResponse{Revision: rev, Items: make([]*unstructured.Unstructured, len(objs))}
	for i, o := range objs {
		out.Items[i] = maskSecret(o)
	}
	writeJSON(w, http.StatusOK, out)
}

// refreshHard answers POST .../refresh?hard=true.
func (s *Server) refreshHard(w http.ResponseWriter, a *app.Application) {
	hr, ok := s.opts.Backend.(HardRefresher)
	if !ok {
		writeError(w, statusError(http.StatusNotImplemented, "this server cannot refresh hard; refresh without hard=true"))
		return
	}
	hr.RefreshHard(a.Key())
	writeJSON(w, http.StatusAccepted, Accepted{Accepted: true})
}

package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Creating, changing and deleting Applications: web checks the request —
// the caller's role and projects, the spec (app.Application.Validate) —
// and the Cluster writes it. The reconciler then sees the change through
// its watch, as it sees one made with kubectl.
//
// A token limited to projects may create an Application only in one of
// its projects, may not move one out of them with a patch, and, as on
// every route that names an Application, does not see the others.

// ErrAlreadyExists: an Application with that namespace and name exists
// (409). Cluster.CreateApplication returns it wrapped.
var ErrAlreadyExists = errors.New("already exists")

// DeleteResponse is the answer of DELETE /api/v1/applications/{ns}/{name}.
type DeleteResponse struct {
	Deleted bool `json:"deleted"`
	// Cascade: the Application's objects are deleted with it.
	Cascade bool `json:"cascade"`
}

// writeAppError answers with err, 409 when it wraps ErrAlreadyExists.
func writeAppError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrAlreadyExists) {
		err = statusError(http.StatusConflict, err.Error())
	}
	writeError(w, err)
}

// clusterWrites returns the error a write answers with when the server has
// no cluster access.
func (s *Server) clusterWrites() error {
	if s.opts.Cluster == nil {
		return statusError(http.StatusNotImplemented, "this server has no cluster access to write Applications")
	}
	return nil
}

// boolQuery reads the query parameter name as a boolean, def when absent.
func boolQuery(r *http.Request, name string, def bool) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, statusError(http.StatusBadRequest, fmt.Sprintf("%s: %q is not true or false", name, v))
	}
	return b, nil
}

// refuseProject is the answer to a token limited to projects that names
// another project for an Application.
func refuseProject(id Identity, verb, project string) error {
	return statusError(http.StatusForbidden, fmt.Sprintf("%s %q is limited to projects %s and may not %s an Application in project %q",
		id.Role, id.Name, strings.Join(id.Projects, ", "), verb, project))
}

// createApp creates the Application of the body: 201 with it, 409 when it
// exists, 400 when its spec is invalid. With upsert=true an existing
// Application of a project the caller sees takes the body's spec instead
// (200).
func (s *Server) createApp(w http.ResponseWriter, r *http.Request) {
	if err := s.clusterWrites(); err != nil {
		writeError(w, err)
		return
	}
	upsert, err := boolQuery(r, "upsert", false)
	if err != nil {
		writeError(w, err)
		return
	}
	var body app.Application
	if err := decodeBody(w, r, &body); err != nil {
		writeError(w, err)
		return
	}
	a, err := newApplication(&body)
	if err != nil {
		writeError(w, err)
		return
	}
	id := identityFrom(r.Context())
	if !id.seesApp(a) {
		writeError(w, refuseProject(id, "create", a.ProjectName()))
		return
	}
	if err := a.Validate(); err != nil {
		writeError(w, statusError(http.StatusBadRequest, fmt.Sprintf("application %s: %v", a.Key(), err)))
		return
	}
	created, err := s.opts.Cluster.CreateApplication(r.Context(), a)
	if err == nil {
		writeJSON(w, http.StatusCreated, redactApplication(created))
		return
	}
	if !upsert || !errors.Is(err, ErrAlreadyExists) {
		writeAppError(w, fmt.Errorf("create application %s: %w", a.Key(), err))
		return
	}
	updated, err := s.opts.Cluster.UpdateApplication(r.Context(), a.Key(), func(cur *app.Application) error {
		if !id.seesApp(cur) {
			// As without upsert: the caller learns only that it exists.
			return fmt.Errorf("application %s: %w", a.Key(), ErrAlreadyExists)
		}
		cur.Spec = a.Spec
		return nil
	})
	if err != nil {
		writeAppError(w, fmt.Errorf("update application %s: %w", a.Key(), err))
		return
	}
	writeJSON(w, http.StatusOK, redactApplication(updated))
}

// newApplication returns the Application to create from a request body:
// its name, namespace, labels, annotations, finalizers and spec; the rest
// (status, a pending operation, server-set metadata) is the cluster's to
// set.
func newApplication(body *app.Application) (*app.Application, error) {
	if body.Kind != "" && body.Kind != app.ApplicationKind {
		return nil, statusError(http.StatusBadRequest, fmt.Sprintf("body: kind %q: must be %s", body.Kind, app.ApplicationKind))
	}
	if body.Name == "" || body.Namespace == "" {
		return nil, statusError(http.StatusBadRequest, "body: metadata.name and metadata.namespace are required")
	}
	return &app.Application{
		ObjectMeta: metav1.ObjectMeta{
			Name: body.Name, Namespace: body.Namespace,
			Labels: body.Labels, Annotations: body.Annotations, Finalizers: body.Finalizers,
		},
		Spec: body.Spec,
	}, nil
}

// patchApp applies the body, a JSON merge patch (RFC 7386) of the form
// {"spec": {...}}, to the Application, and answers with the result. The
// patched spec is validated before it is written: 400 when invalid, 403
// when it would move the Application out of the caller's projects.
func (s *Server) patchApp(w http.ResponseWriter, r *http.Request, a *app.Application) {
	if err := s.clusterWrites(); err != nil {
		writeError(w, err)
		return
	}
	var patch struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := decodeBody(w, r, &patch); err != nil {
		writeError(w, err)
		return
	}
	if len(patch.Spec) == 0 || string(patch.Spec) == "null" {
		writeError(w, statusError(http.StatusBadRequest, `body: want a merge patch {"spec": {...}}`))
		return
	}
	id := identityFrom(r.Context())
	updated, err := s.opts.Cluster.UpdateApplication(r.Context(), a.Key(), func(cur *app.Application) error {
		if !id.seesApp(cur) {
			return appNotFound(cur.Key()) // moved to another project meanwhile
		}
		spec, err := mergeSpec(cur.Spec, patch.Spec)
		if err != nil {
			return err
		}
		next := *cur
		next.Spec = spec
		if !id.seesApp(&next) {
			return refuseProject(id, "move", next.ProjectName())
		}
		if err := next.Validate(); err != nil {
			return statusError(http.StatusBadRequest, fmt.Sprintf("application %s: %v", a.Key(), err))
		}
		cur.Spec = spec
		return nil
	})
	if err != nil {
		writeAppError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, redactApplication(updated))
}

// mergeSpec returns spec with the merge patch applied, decoded strictly:
// a field Spec does not have answers 400.
func mergeSpec(spec app.Spec, patch json.RawMessage) (app.Spec, error) {
	var p any
	if err := json.Unmarshal(patch, &p); err != nil {
		return spec, statusError(http.StatusBadRequest, jsonProblem(err))
	}
	if _, ok := p.(map[string]any); !ok {
		return spec, statusError(http.StatusBadRequest, `body: field "spec" must be an object`)
	}
	cur, err := json.Marshal(spec)
	if err != nil {
		return spec, err
	}
	var doc any
	if err := json.Unmarshal(cur, &doc); err != nil {
		return spec, err
	}
	merged, err := json.Marshal(mergePatch(doc, p))
	if err != nil {
		return spec, err
	}
	var out app.Spec
	dec := json.NewDecoder(bytes.NewReader(merged))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return spec, statusError(http.StatusBadRequest, strings.Replace(jsonProblem(err), "body: ", "spec: ", 1))
	}
	return out, nil
}

// mergePatch applies patch to target as RFC 7386 says: an object merges
// key by key, null removes a key, anything else replaces.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

// deleteApp deletes the Application. With cascade=true, the default, it
// first makes sure the Application carries app.ResourcesFinalizer, so that
// the reconciler deletes its objects before it goes; with cascade=false it
// removes that finalizer first, so that the objects stay.
func (s *Server) deleteApp(w http.ResponseWriter, r *http.Request, a *app.Application) {
	if err := s.clusterWrites(); err != nil {
		writeError(w, err)
		return
	}
	cascade, err := boolQuery(r, "cascade", true)
	if err != nil {
		writeError(w, err)
		return
	}
	key := a.Key()
	if slices.Contains(a.Finalizers, app.ResourcesFinalizer) != cascade {
		_, err = s.opts.Cluster.UpdateApplication(r.Context(), key, func(cur *app.Application) error {
			cur.Finalizers = withFinalizer(cur.Finalizers, app.ResourcesFinalizer, cascade)
			return nil
		})
		if err != nil {
			writeAppError(w, fmt.Errorf("delete application %s: set finalizers: %w", key, err))
			return
		}
	}
	if err := s.opts.Cluster.DeleteApplication(r.Context(), key); err != nil {
		writeAppError(w, fmt.Errorf("delete application %s: %w", key, err))
		return
	}
	writeJSON(w, http.StatusOK, DeleteResponse{Deleted: true, Cascade: cascade})
}

// withFinalizer returns finalizers with f when want, else without it.
func withFinalizer(finalizers []string, f string, want bool) []string {
	has := slices.Contains(finalizers, f)
	switch {
	case want && !has:
		return append(slices.Clone(finalizers), f)
	case !want && has:
		return slices.DeleteFunc(slices.Clone(finalizers), func(s string) bool { return s == f })
	}
	return finalizers
}

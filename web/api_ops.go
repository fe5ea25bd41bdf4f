package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/gyre-cd/gyre/app"
)

// decodeBody reads r's JSON body, at most maxAPIBody bytes, into v
// strictly: an unknown field, a value of the wrong type or trailing data
// answer 400 naming the problem. An empty body leaves v as it is.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeBodyMax(w, r, v, maxAPIBody)
}

// decodeBodyMax is decodeBody for a body of at most limit bytes.
func decodeBodyMax(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return statusError(http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d bytes", mbe.Limit))
		}
		return statusError(http.StatusBadRequest, "body: "+err.Error())
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return statusError(http.StatusBadRequest, jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return statusError(http.StatusBadRequest, "body: unexpected data after the JSON object")
	}
	return nil
}

// jsonProblem says what is wrong with a body encoding/json refused, naming
// the field where it can.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return fmt.Sprintf("body: field %q must be %s, not %s", te.Field, kindName(te.Type), te.Value)
	case errors.As(err, &te):
		return fmt.Sprintf("body: must be %s, not %s", kindName(te.Type), te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("body: invalid JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "body: invalid JSON: unexpected end"
	}
	// encoding/json reports unknown fields as `json: unknown field "x"`.
	return "body: " + strings.TrimPrefix(err.Error(), "json: ")
}

// kindName names a Go type the way a JSON author thinks of it.
func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// request asks the backend for op on a and answers 202.
func (s *Server) request(w http.ResponseWriter, r *http.Request, a *app.Application, op app.Operation) {
	op.InitiatedBy = app.InitiatedBy{Username: identityFrom(r.Context()).Name}
	if err := s.opts.Backend.Request(r.Context(), a.Key(), op); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, Accepted{Accepted: true})
}

// refresh queues the application for a comparison now; with ?hard=true
// one that forgets the cached ref listing and render first.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request, a *app.Application) {
	switch h := r.URL.Query().Get("hard"); h {
	case "", "false":
	case "true":
		s.refreshHard(w, a)
		return
	default:
		writeError(w, statusError(http.StatusBadRequest, fmt.Sprintf("query: hard=%q: want true or false", h)))
		return
	}
	s.opts.Backend.Refresh(a.Key())
	writeJSON(w, http.StatusAccepted, Accepted{Accepted: true})
}

func (s *Server) sync(w http.ResponseWriter, r *http.Request, a *app.Application) {
	var req SyncRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	for i, k := range req.Resources {
		if k.Kind == "" || k.Name == "" {
			writeError(w, statusError(http.StatusBadRequest, fmt.Sprintf("body: resources[%d]: kind and name are required", i)))
			return
		}
	}
	s.request(w, r, a, app.Operation{Sync: &app.SyncOperation{
		Revision: req.Revision, Prune: req.Prune, DryRun: req.DryRun, Resources: req.Resources,
	}})
}

// rollback checks the history id against the application before asking, so
// that an unknown id answers 400 rather than failing later.
func (s *Server) rollback(w http.ResponseWriter, r *http.Request, a *app.Application) {
	var req RollbackRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.ID == nil {
		writeError(w, statusError(http.StatusBadRequest, `body: field "id" is required`))
		return
	}
	if a.Status.FindHistory(*req.ID) == nil {
		writeError(w, statusError(http.StatusBadRequest, fmt.Sprintf("rollback: application %s has no history entry with id %d", a.Key(), *req.ID)))
		return
	}
	s.request(w, r, a, app.Operation{Rollback: &app.RollbackOperation{ID: *req.ID, Prune: req.Prune, DryRun: req.DryRun}})
}

func (s *Server) resume(w http.ResponseWriter, r *http.Request, a *app.Application) {
	var req struct{}
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	s.request(w, r, a, app.Operation{Resume: &app.ResumeOperation{}})
}

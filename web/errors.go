package web

import (
	"encoding/json"
	"errors"
	"net/http"
)

// The errors a Backend or Cluster returns, wrapped, to choose the HTTP
// status of the answer. Any other error answers 500 with its message.
var (
	// ErrNotFound: the application or object does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrOperationInProgress: the application already has an operation
	// pending or running (409).
	ErrOperationInProgress = errors.New("an operation is already in progress")
	// ErrBadRequest: the request is invalid (400).
	ErrBadRequest = errors.New("bad request")
)

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// httpError is an error with the status it answers with.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// statusError returns an error that answers with status and msg.
func statusError(status int, msg string) error {
	return &httpError{status: status, msg: msg}
}

// statusOf returns the HTTP status for err.
func statusOf(err error) int {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrOperationInProgress):
		return http.StatusConflict
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// writeError answers with err's status and {"error": err.Error()}.
func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, statusOf(err), errorBody{Error: err.Error()})
}

// writeJSON answers with status and v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to tell it
}

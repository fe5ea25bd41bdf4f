package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gyre-cd/gyre/app"
)

// ClusterList is the body of GET /api/v1/clusters.
type ClusterList struct {
	Items []app.ClusterState `json:"items"`
}

// ClusterRequest is the body of POST /api/v1/clusters: a cluster Secret to
// write in gyre's namespace. Config is the Secret's "config" JSON as Argo
// CD writes it (bearerToken, username and password, tlsClientConfig); it
// is checked by whoever stores it, and never echoed back.
type ClusterRequest struct {
	Name             string            `json:"name"`
	Server           string            `json:"server"`
	Config           json.RawMessage   `json:"config"`
	Namespaces       []string          `json:"namespaces,omitempty"`
	ClusterResources bool              `json:"clusterResources,omitempty"`
	Project          string            `json:"project,omitempty"`
	Labels           map[string]string `json:"labels,omitempty"`
	// Upsert replaces the Secret of a cluster with the same name or
	// server; without it, that is a conflict.
	Upsert bool `json:"upsert,omitempty"`
}

// ClusterStore writes and deletes cluster Secrets. cmd/gyre implements it
// over gyre's namespace.
type ClusterStore interface {
	// PutCluster writes the Secret req describes and returns the name of
	// that Secret and whether it was created. An invalid request is an
	// error wrapping ErrBadRequest that names the field, never a value; a
	// cluster that exists without req.Upsert wraps ErrAlreadyExists.
	PutCluster(ctx context.Context, req ClusterRequest) (secret string, created bool, err error)
	// DeleteCluster deletes the Secrets of the cluster called name and
	// returns their names; ErrNotFound when there is none.
	DeleteCluster(ctx context.Context, name string) ([]string, error)
}

// ClusterWritten is the answer to POST and DELETE /api/v1/clusters.
type ClusterWritten struct {
	Name    string   `json:"name"`
	Secrets []string `json:"secrets"`
}

// listClusters answers GET /api/v1/clusters: every destination cluster
// with its connection state and how many Applications deploy there. No
// credential is part of it.
func (s *Server) listClusters(w http.ResponseWriter, _ *http.Request) {
	if s.opts.Clusters == nil {
		writeError(w, statusError(http.StatusNotImplemented, "this server does not know its clusters"))
		return
	}
	items := s.opts.Clusters()
	if items == nil {
		items = []app.ClusterState{}
	}
	writeJSON(w, http.StatusOK, ClusterList{Items: items})
}

// putCluster answers POST /api/v1/clusters.
func (s *Server) putCluster(w http.ResponseWriter, r *http.Request) {
	if s.opts.ClusterStore == nil {
		writeError(w, statusError(http.StatusNotImplemented, "this server cannot write cluster Secrets"))
		return
	}
	var req ClusterRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || req.Server == "" || len(req.Config) == 0 {
		writeError(w, statusError(http.StatusBadRequest, "name, server and config are required"))
		return
	}
	secret, created, err := s.opts.ClusterStore.PutCluster(r.Context(), req)
	if err != nil {
		writeAppError(w, redactedError{err: err, secrets: jsonStrings(req.Config)})
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.log.Info("cluster Secret stored", "cluster", req.Name, "server", req.Server, "secret", secret, "created", created, "by", identityFrom(r.Context()).Name)
	writeJSON(w, status, ClusterWritten{Name: req.Name, Secrets: []string{secret}})
}

// deleteCluster answers DELETE /api/v1/clusters?name=.
func (s *Server) deleteCluster(w http.ResponseWriter, r *http.Request) {
	if s.opts.ClusterStore == nil {
		writeError(w, statusError(http.StatusNotImplemented, "this server cannot write cluster Secrets"))
		return
	}
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	if name == "" {
		writeError(w, statusError(http.StatusBadRequest, `query: "name" is required`))
		return
	}
	secrets, err := s.opts.ClusterStore.DeleteCluster(r.Context(), name)
	if err != nil {
		writeError(w, err)
		return
	}
	s.log.Info("cluster Secrets deleted", "cluster", name, "secrets", secrets, "by", identityFrom(r.Context()).Name)
	writeJSON(w, http.StatusOK, ClusterWritten{Name: name, Secrets: secrets})
}

// jsonStrings returns every string in a JSON document, to keep the
// credentials of a cluster config out of an error message however the
// store quotes them.
func jsonStrings(raw json.RawMessage) []string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return []string{string(raw)}
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

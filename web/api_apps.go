package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gyre-cd/gyre/admit"
	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// listQuery is the parsed query of GET /api/v1/applications.
type listQuery struct {
	namespace string
	name      string
	selector  labels.Selector // nil: no label filter
	sync      []string        // any of; case-insensitive
	health    []string        // any of; case-insensitive
	search    string          // lower case
	waiting   *bool           // nil: either; else whether its syncs wait for dependencies
	limit     int             // 0: no limit
	after     string          // "namespace/name" of the previous page's last item
	caller    Identity        // only Applications it sees match
}

// parseListQuery reads the filters, the page size and the continue token.
// label may repeat and holds Kubernetes label selectors ("team=a",
// "env in (prod,staging)"); sync and health may repeat or hold
// comma-separated values, any of which matches; waiting=true keeps the
// Applications whose syncs wait for their dependencies (spec.dependsOn),
// waiting=false the others.
func parseListQuery(q url.Values) (listQuery, error) {
	lq := listQuery{
		namespace: q.Get("namespace"),
		name:      q.Get("name"),
		sync:      splitValues(q["sync"]),
		health:    splitValues(q["health"]),
		search:    strings.ToLower(strings.TrimSpace(q.Get("search"))),
	}
	if sels := q["label"]; len(sels) > 0 {
		sel, err := labels.Parse(strings.Join(sels, ","))
		if err != nil {
			return lq, statusError(http.StatusBadRequest, fmt.Sprintf("label: %v", err))
		}
		lq.selector = sel
	}
	if v := q.Get("waiting"); v != "" {
		w, err := strconv.ParseBool(v)
		if err != nil {
			return lq, statusError(http.StatusBadRequest, fmt.Sprintf("waiting: %q is not true or false", v))
		}
		lq.waiting = &w
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return lq, statusError(http.StatusBadRequest, fmt.Sprintf("limit: %q is not a whole number ≥ 0", v))
		}
		lq.limit = n
	}
	if v := q.Get("continue"); v != "" {
		after, err := decodeContinue(v)
		if err != nil {
			return lq, statusError(http.StatusBadRequest, "continue: invalid token; start again without it")
		}
		lq.after = after
	}
	return lq, nil
}

func splitValues(vs []string) []string {
	var out []string
	for _, v := range vs {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// continuePrefix versions the continue token's format.
const continuePrefix = "v1:"

// encodeContinue returns the token of the page after the one that ends
// with the application key.
func encodeContinue(key types.NamespacedName) string {
	return base64.RawURLEncoding.EncodeToString([]byte(continuePrefix + key.Namespace + "/" + key.Name))
}

func decodeContinue(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", err
	}
	after, ok := strings.CutPrefix(string(b), continuePrefix)
	if !ok || !strings.Contains(after, "/") {
		return "", fmt.Errorf("continue token %q: unknown format", tok)
	}
	return after, nil
}

// matches reports whether a passes every filter of q. An Application the
// caller may not see matches nothing, so that neither the items nor the
// total tell it that one exists.
func (q *listQuery) matches(a *app.Application) bool {
	if !q.caller.seesApp(a) {
		return false
	}
	if q.namespace != "" && a.Namespace != q.namespace || q.name != "" && a.Name != q.name {
		return false
	}
	if len(q.sync) > 0 && !anyFold(q.sync, string(a.Status.Sync.Status)) {
		return false
	}
	if len(q.health) > 0 && !anyFold(q.health, string(a.Status.Health.Status)) {
		return false
	}
	if q.waiting != nil && a.Status.SyncHeld() != *q.waiting {
		return false
	}
	if q.selector != nil && !q.selector.Matches(labels.Set(a.Labels)) {
		return false
	}
	if q.search != "" {
		fields := []string{a.Name, a.Namespace, a.Spec.Destination.Namespace}
		for _, src := range a.Spec.SourceList() {
			// The repository is searched as the API shows it: a search
			// must not find the password that the answer leaves out.
			fields = append(fields, redactURL(src.RepoURL), src.Path, src.Chart, src.TargetRevision)
		}
		found := false
		for _, f := range fields {
			if f != "" && containsFold(f, q.search) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func anyFold(wants []string, got string) bool {
	return slices.ContainsFunc(wants, func(w string) bool { return strings.EqualFold(w, got) })
}

// containsFold reports whether s contains lower, which is lower case, with
// no allocation for ASCII s.
func containsFold(s, lower string) bool {
	for i := 0; i+len(lower) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(lower)], lower) {
			return true
		}
	}
	return false
}

// listApps answers GET /api/v1/applications.
func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	q.caller = identityFrom(r.Context())
	writeJSON(w, http.StatusOK, listApplications(s.index.apps(), q))
}

// listApplications filters apps, which are sorted by namespace and name,
// and cuts out the page q asks for.
func listApplications(sorted []*app.Application, q listQuery) AppList {
	start := 0
	if q.after != "" {
		ns, name, _ := strings.Cut(q.after, "/")
		var found bool
		start, found = slices.BinarySearchFunc(sorted, types.NamespacedName{Namespace: ns, Name: name}, compareKey)
		if found {
			start++
		}
	}
	out := AppList{Items: []AppSummary{}}
	var last *app.Application
	for i, a := range sorted {
		if !q.matches(a) {
			continue
		}
		out.Total++
		if i < start {
			continue
		}
		if q.limit > 0 && len(out.Items) == q.limit {
			if out.Continue == "" {
				out.Continue = encodeContinue(last.Key())
			}
			continue
		}
		out.Items = append(out.Items, summarize(a))
		last = a
	}
	return out
}

// getApp answers with the full Application, managed fields left out and
// repository addresses without credentials.
func (s *Server) getApp(w http.ResponseWriter, _ *http.Request, a *app.Application) {
	out := redactApplication(a)
	out.ManagedFields = nil
	out.APIVersion, out.Kind = app.SchemeGroupVersion().String(), app.ApplicationKind
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getTree(w http.ResponseWriter, _ *http.Request, a *app.Application) {
	nodes := s.opts.Backend.Tree(a)
	if nodes == nil {
		nodes = []app.TreeNode{}
	}
	writeJSON(w, http.StatusOK, TreeResponse{Nodes: nodes})
}

// getDiff compares the Application with git now, or with its render at
// ?revision=REF (see getRevisionDiff).
func (s *Server) getDiff(w http.ResponseWriter, r *http.Request, a *app.Application) {
	if rev := strings.TrimSpace(r.URL.Query().Get("revision")); rev != "" {
		s.getRevisionDiff(w, r, a, rev)
		return
	}
	key := a.Key()
	results, err := s.opts.Backend.Diff(r.Context(), key)
	if err != nil {
		writeError(w, fmt.Errorf("diff %s: %w", key, err))
		return
	}
	writeJSON(w, http.StatusOK, newDiffResponse(results))
}

// postDiff compares the Application with the objects of a render made
// elsewhere (gyre app diff --local): what a sync of them would change. It
// only reads, so a caller who may see the Application may ask.
func (s *Server) postDiff(w http.ResponseWriter, r *http.Request, a *app.Application) {
	var req DiffRequest
	if err := decodeBodyMax(w, r, &req, maxDiffBody); err != nil {
		writeError(w, err)
		return
	}
	if req.Objects == nil {
		writeError(w, statusError(http.StatusBadRequest, `body: field "objects" is required (the rendered objects; [] for none)`))
		return
	}
	objs := make([]*unstructured.Unstructured, 0, len(req.Objects))
	for i, raw := range req.Objects {
		o, err := decodeObject(raw)
		if err != nil {
			writeError(w, statusError(http.StatusBadRequest, fmt.Sprintf("body: objects[%d]: %v", i, err)))
			return
		}
		objs = append(objs, o)
	}
	key := a.Key()
	results, err := s.opts.Backend.DiffObjects(r.Context(), key, objs)
	if err != nil {
		writeError(w, fmt.Errorf("diff %s: %w", key, err))
		return
	}
	writeJSON(w, http.StatusOK, newDiffResponse(results))
}

// decodeObject decodes one Kubernetes object of a DiffRequest.
func decodeObject(raw json.RawMessage) (*unstructured.Unstructured, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	o := &unstructured.Unstructured{}
	if err := o.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	switch {
	case o.GetAPIVersion() == "":
		return nil, errors.New("apiVersion is required")
	case o.GetName() == "" && o.GetGenerateName() == "":
		return nil, fmt.Errorf("%s: metadata.name is required", o.GetKind())
	}
	return o, nil
}

// newDiffResponse turns a backend's diff results into the API's answer.
func newDiffResponse(results []diff.Result) DiffResponse {
	out := DiffResponse{Items: make([]DiffItem, 0, len(results))}
	for _, res := range results {
		var v *admit.Violation
		item := DiffItem{Key: res.Key, Status: res.Status, Diff: res.Diff, Message: res.Message, Refused: errors.As(res.Err, &v)}
		out.Items = append(out.Items, item)
		if item.Refused || res.SyncStatus() == app.OutOfSync {
			out.OutOfSync++
		}
	}
	return out
}

func (s *Server) getHistory(w http.ResponseWriter, _ *http.Request, a *app.Application) {
	items := redactHistory(a.Status.History)
	if items == nil {
		items = []app.HistoryEntry{}
	}
	writeJSON(w, http.StatusOK, HistoryResponse{Items: items})
}

// getResources answers with every object the Application manages, where
// status.resources may list only some of them.
func (s *Server) getResources(w http.ResponseWriter, r *http.Request, a *app.Application) {
	items, err := s.opts.Backend.Resources(r.Context(), a)
	if err != nil {
		writeError(w, err)
		return
	}
	if items == nil {
		items = []app.ResourceStatus{}
	}
	writeJSON(w, http.StatusOK, ResourcesResponse{Items: items, Summary: app.SummarizeResources(items)})
}

// getOperation answers with the current or last operation and its change
// set, complete where status.operationState.syncResult may list only some
// of the objects.
func (s *Server) getOperation(w http.ResponseWriter, _ *http.Request, a *app.Application) {
	op := a.Status.OperationState
	if op == nil {
		writeJSON(w, http.StatusOK, OperationResponse{})
		return
	}
	out := *op
	out.Message = redactMessage(op.Message)
	if cs := s.opts.Backend.OperationResult(a); cs != nil {
		c := *cs
		if c.Summary == nil {
			c.Summary = app.SummarizeChanges(c.Resources)
		}
		out.SyncResult = &c
	}
	writeJSON(w, http.StatusOK, OperationResponse{OperationState: &out})
}

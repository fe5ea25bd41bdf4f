package web

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"

	"github.com/gyre-cd/gyre/app"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// objectQuery reads the object an app's resource or events route names, and
// checks that it is in a's resource tree: a token that may read one
// application's objects may not read arbitrary ones through it.
func (s *Server) objectQuery(r *http.Request, a *app.Application) (key app.ResourceKey, version string, err error) {
	if s.opts.Cluster == nil {
		return key, "", statusError(http.StatusNotImplemented, "this server has no cluster access for live objects")
	}
	q := r.URL.Query()
	key = app.ResourceKey{Group: q.Get("group"), Kind: q.Get("kind"), Namespace: q.Get("namespace"), Name: q.Get("name")}
	if key.Kind == "" || key.Name == "" {
		return key, "", statusError(http.StatusBadRequest, "kind and name are required")
	}
	for _, n := range s.opts.Backend.Tree(a) {
		if n.Key == key {
			if version = q.Get("version"); version == "" {
				version = n.Version
			}
			return key, version, nil
		}
	}
	return key, "", fmt.Errorf("%s: not part of application %s: %w", key, a.Key(), ErrNotFound)
}

// getResource answers with one live object, Secret values masked.
func (s *Server) getResource(w http.ResponseWriter, r *http.Request, a *app.Application) {
	key, version, err := s.objectQuery(r, a)
	if err != nil {
		writeError(w, err)
		return
	}
	obj, err := s.opts.Cluster.Resource(r.Context(), a, key, version)
	if err != nil {
		writeError(w, fmt.Errorf("%s: %w", key, err))
		return
	}
	writeJSON(w, http.StatusOK, maskSecret(obj).Object)
}

// getEvents answers with the events about one object, newest first.
func (s *Server) getEvents(w http.ResponseWriter, r *http.Request, a *app.Application) {
	key, _, err := s.objectQuery(r, a)
	if err != nil {
		writeError(w, err)
		return
	}
	events, err := s.opts.Cluster.Events(r.Context(), a, key)
	if err != nil {
		writeError(w, fmt.Errorf("events of %s: %w", key, err))
		return
	}
	out := EventsResponse{Items: make([]EventItem, 0, len(events))}
	for i := range events {
		out.Items = append(out.Items, eventItem(&events[i]))
	}
	slices.SortStableFunc(out.Items, func(a, b EventItem) int {
		switch {
		case a.LastTimestamp == nil || b.LastTimestamp == nil:
			return cmp.Compare(boolInt(a.LastTimestamp == nil), boolInt(b.LastTimestamp == nil))
		default:
			return b.LastTimestamp.Compare(a.LastTimestamp.Time)
		}
	})
	writeJSON(w, http.StatusOK, out)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// eventItem flattens an event, reading the newer series fields when the
// older ones are not set.
func eventItem(e *corev1.Event) EventItem {
	it := EventItem{Type: e.Type, Reason: e.Reason, Message: e.Message, Count: e.Count}
	switch {
	case !e.LastTimestamp.IsZero():
		it.LastTimestamp = &e.LastTimestamp
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		t := metav1.NewTime(e.Series.LastObservedTime.Time)
		it.LastTimestamp = &t
	case !e.EventTime.IsZero():
		t := metav1.NewTime(e.EventTime.Time)
		it.LastTimestamp = &t
	case !e.FirstTimestamp.IsZero():
		it.LastTimestamp = &e.FirstTimestamp
	}
	if it.Count == 0 {
		it.Count = 1
		if e.Series != nil && e.Series.Count > 0 {
			it.Count = e.Series.Count
		}
	}
	return it
}

// maskedValue replaces every value of a Secret's data.
const maskedValue = "++++++++"

// lastApplied is the annotation kubectl apply keeps the whole applied object
// in, Secret values included.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// maskSecret returns obj, or for a core Secret a copy with every value of
// data and stringData replaced by maskedValue and the last-applied
// annotation dropped. The keys stay visible.
func maskSecret(obj *unstructured.Unstructured) *unstructured.Unstructured {
	gvk := obj.GroupVersionKind()
	if gvk.Group != "" || gvk.Kind != "Secret" {
		return obj
	}
	obj = obj.DeepCopy()
	for _, field := range []string{"data", "stringData"} {
		switch m := obj.Object[field].(type) {
		case nil:
		case map[string]any:
			for k := range m {
				m[k] = maskedValue
			}
		default:
			obj.Object[field] = maskedValue
		}
	}
	if ann := obj.GetAnnotations(); ann[lastApplied] != "" {
		delete(ann, lastApplied)
		obj.SetAnnotations(ann)
	}
	return obj
}

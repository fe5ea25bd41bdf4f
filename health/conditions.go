package health

import (
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// condition is one entry of status.conditions, read leniently: the
// Kubernetes conventions (metav1.Condition) and older shapes alike.
type condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// ObservedGeneration is the generation the condition describes; 0 when
	// the condition does not say.
	ObservedGeneration int64 `json:"observedGeneration"`
}

// conditions returns obj's status.conditions; entries that are not objects
// and fields of unexpected types are skipped.
func conditions(obj *unstructured.Unstructured) []condition {
	raw, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	var out []condition
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		c := condition{}
		c.Type, _, _ = unstructured.NestedString(m, "type")
		c.Status, _, _ = unstructured.NestedString(m, "status")
		c.Reason, _, _ = unstructured.NestedString(m, "reason")
		c.Message, _, _ = unstructured.NestedString(m, "message")
		c.ObservedGeneration, _ = intField(m, "observedGeneration")
		out = append(out, c)
	}
	return out
}

// findCondition returns the condition of type t, or nil.
func findCondition(conds []condition, t string) *condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// text is the condition's message, or its reason when it has none.
func (c *condition) text() string {
	return firstNonEmpty(c.Message, c.Reason)
}

// observedGeneration returns status.observedGeneration and whether obj has
// one.
func observedGeneration(obj *unstructured.Unstructured) (int64, bool) {
	return intField(obj.Object, "status", "observedGeneration")
}

// intField reads an integer field, whether it was decoded from JSON by
// apimachinery (int64) or by encoding/json or a YAML library (float64, int).
// ok is false when the field is missing or not a whole number.
func intField(m map[string]any, fields ...string) (int64, bool) {
	v, found, err := unstructured.NestedFieldNoCopy(m, fields...)
	if !found || err != nil {
		return 0, false
	}
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	}
	return 0, false
}

// IntField is intField, for the packages of custom checks (health/cel).
func IntField(m map[string]any, fields ...string) (int64, bool) { return intField(m, fields...) }

// ConditionText returns the message of obj's condition of type t, or its
// reason when it has no message; "" when obj has no such condition.
func ConditionText(obj *unstructured.Unstructured, t string) string {
	if c := findCondition(conditions(obj), t); c != nil {
		return c.text()
	}
	return ""
}

// generation returns metadata.generation (0 when absent).
func generation(obj *unstructured.Unstructured) int64 {
	g, _ := intField(obj.Object, "metadata", "generation")
	return g
}

// Observed reports whether obj's controller has looked at its latest
// generation: false while status.observedGeneration is behind
// metadata.generation, and while it is missing on a kind whose built-in
// controller always writes it (the apps/v1 workloads), which is an object
// no controller has looked at yet. Of other kinds, an object without one
// counts as observed: nothing says otherwise.
func Observed(obj *unstructured.Unstructured) bool {
	g, ok := observedGeneration(obj)
	if !ok {
		gvk := obj.GroupVersionKind()
		return gvk.Group != "apps" || !slices.Contains([]string{"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}, gvk.Kind)
	}
	return g >= generation(obj)
}

// stale reports whether obj's status.observedGeneration, when it has one, is
// behind metadata.generation.
func stale(obj *unstructured.Unstructured) (observed int64, isStale bool) {
	g, ok := observedGeneration(obj)
	return g, ok && g < generation(obj)
}

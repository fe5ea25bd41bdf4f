package health_test

import (
	"testing"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/health"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// customFunc adapts a function to health.Custom.
type customFunc func(*unstructured.Unstructured) (app.HealthState, bool)

func (f customFunc) Check(o *unstructured.Unstructured) (app.HealthState, bool) { return f(o) }

func TestCheckerConsultsCustomFirst(t *testing.T) {
	widget := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}}}
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"}}}
	var nilChecker *health.Checker
	if _, ok := nilChecker.Check(widget); ok {
		t.Fatal("a nil Checker found health for a kind without conditions")
	}
	c := &health.Checker{}
	c.SetCustom(customFunc(func(o *unstructured.Unstructured) (app.HealthState, bool) {
		if o.GetKind() != "Widget" {
			return app.HealthState{}, false
		}
		return app.HealthState{Status: app.Degraded, Message: "custom"}, true
	}))
	if st, ok := c.Check(widget); !ok || st.Status != app.Degraded || st.Message != "custom" {
		t.Fatalf("custom kind = %+v, %v; want the custom answer", st, ok)
	}
	if _, ok := c.Check(cm); ok {
		t.Fatal("a kind the custom set has no check for did not fall through to the built-in rules")
	}
	now := metav1.Now()
	widget.SetDeletionTimestamp(&now)
	if st, _ := c.Check(widget); st.Status != app.Progressing {
		t.Fatalf("a deleting object = %+v, want Progressing whatever the custom check says", st)
	}
	c.SetCustom(nil)
	widget.SetDeletionTimestamp(nil)
	if _, ok := c.Check(widget); ok {
		t.Fatal("SetCustom(nil) kept the custom set")
	}
}

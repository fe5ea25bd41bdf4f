package app

import (
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestUnstructuredRoundTrip reads an Application that sets every field into
// the Go types and writes it back: the result must equal the input, which
// proves every json tag matches the CRD's property names.
func TestUnstructuredRoundTrip(t *testing.T) {
	in := &unstructured.Unstructured{Object: readYAML(t, "application-valid.yaml")}
	a, err := FromUnstructured(in)
	if err != nil {
		t.Fatal(err)
	}
	if a.Spec.Source.Helm == nil || a.Spec.Source.Helm.Parameters[0].Name != "image.tag" ||
		a.Status.OperationState.SyncResult.Resources[1].HookType != SyncPhasePreSync ||
		a.Status.History[0].Source.Directory == nil || !a.Status.History[0].Source.Directory.Recurse {
		t.Fatalf("FromUnstructured lost fields: %+v", a)
	}
	out, err := a.ToUnstructured()
	if err != nil {
		t.Fatal(err)
	}
	unstructured.RemoveNestedField(out.Object, "metadata", "creationTimestamp")
	if got, want := canonicalJSON(t, out.Object), canonicalJSON(t, in.Object); got != want {
		t.Errorf("round trip changed the object\n got: %s\nwant: %s", got, want)
	}
}

func canonicalJSON(t *testing.T, obj map[string]any) string {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any // numbers become float64 on both sides
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(m)
	return string(b)
}

func TestFromUnstructuredErrors(t *testing.T) {
	tests := []struct {
		name string
		obj  map[string]any
		want string
	}{
		{"other kind", map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "api", "namespace": "prod"}},
			"apps/Deployment/prod/api: not a gyre.dev/Application"},
		{"wrong field type", map[string]any{"apiVersion": "gyre.dev/v1alpha1", "kind": "Application", "metadata": map[string]any{"name": "web", "namespace": "gyre"},
			"spec": map[string]any{"revisionHistoryLimit": "ten"}}, "Application gyre/web: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromUnstructured(&unstructured.Unstructured{Object: tt.obj})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("FromUnstructured: error %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestToUnstructuredSetsKind(t *testing.T) {
	a := &Application{}
	a.Name, a.Namespace = "web", "gyre"
	u, err := a.ToUnstructured()
	if err != nil {
		t.Fatal(err)
	}
	if u.GroupVersionKind() != GroupVersionKind() {
		t.Errorf("ToUnstructured: kind %s, want %s", u.GroupVersionKind(), GroupVersionKind())
	}
}

func TestAddToScheme(t *testing.T) {
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	obj, err := s.New(GroupVersionKind())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := obj.(*Application); !ok {
		t.Errorf("scheme.New(%s) = %T, want *Application", GroupVersionKind(), obj)
	}
	gvks, _, err := s.ObjectKinds(&ApplicationList{})
	if err != nil || len(gvks) != 1 || gvks[0].Kind != ApplicationListKind {
		t.Errorf("ObjectKinds(ApplicationList) = %v, %v", gvks, err)
	}
	if gvr := GroupVersionResource(); gvr.String() != "gyre.dev/v1alpha1, Resource=applications" {
		t.Errorf("GroupVersionResource() = %s", gvr)
	}
}

// TestTyped runs the shared informer's transform: an Application comes out
// typed and without managedFields, a second pass leaves it as it is, and an
// object that does not decode stays unstructured for FromObject to report.
func TestTyped(t *testing.T) {
	in := &unstructured.Unstructured{Object: readYAML(t, "application-valid.yaml")}
	in.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "gyre", Operation: metav1.ManagedFieldsOperationUpdate}})
	out, err := Typed(in)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := out.(*Application)
	if !ok {
		t.Fatalf("Typed returned %T, want *Application", out)
	}
	if a.ManagedFields != nil || a.Name != in.GetName() || a.Spec.Source.Helm == nil {
		t.Errorf("typed Application %s: managedFields %v, helm %v", a.Name, a.ManagedFields, a.Spec.Source.Helm)
	}
	if again, _ := Typed(a); again != any(a) {
		t.Errorf("a second pass returned %T %p, want the same Application %p", again, again, a)
	}
	if got, err := FromObject(a); err != nil || got != a {
		t.Errorf("FromObject(typed) = %p, %v; want the same value", got, err)
	}

	bad := &unstructured.Unstructured{Object: readYAML(t, "application-valid.yaml")}
	bad.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "gyre"}})
	bad.Object["spec"].(map[string]any)["project"] = map[string]any{"not": "a string"}
	out, _ = Typed(bad)
	u, ok := out.(*unstructured.Unstructured)
	if !ok || u.GetManagedFields() != nil {
		t.Fatalf("an undecodable Application became %T (managedFields kept: %v), want it unstructured without them", out, ok && u.GetManagedFields() != nil)
	}
	if _, err := FromObject(u); err == nil || !strings.Contains(err.Error(), "guestbook") {
		t.Errorf("FromObject of an undecodable Application: %v, want an error naming the Application", err)
	}
	if _, err := FromObject("x"); err == nil {
		t.Error("FromObject accepted a string")
	}
}

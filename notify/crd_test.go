package notify

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"sigs.k8s.io/yaml"
)

func parseCRD(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(CRD(), &crd); err != nil {
		t.Fatalf("crd.yaml: %v", err)
	}
	return &crd
}

// TestCRD: the manifest passes the API server's own validation (CEL rules
// included), is named after the Go constants, and its schema has exactly
// the Go types' fields, and the event enum is Events().
func TestCRD(t *testing.T) {
	crd := parseCRD(t)
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(crd)
	var internal apiextensions.CustomResourceDefinition
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, &internal, nil); err != nil {
		t.Fatal(err)
	}
	for _, err := range crdvalidation.ValidateCustomResourceDefinition(context.Background(), &internal) {
		t.Errorf("crd.yaml: %v", err)
	}
	gvr := GroupVersionResource()
	if crd.Name != gvr.Resource+"."+gvr.Group || crd.Spec.Names.Kind != Kind || crd.Spec.Versions[0].Name != gvr.Version {
		t.Errorf("crd.yaml names %s kind %s version %s, want %s", crd.Name, crd.Spec.Names.Kind, crd.Spec.Versions[0].Name, gvr)
	}
	root := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	spec := root.Properties["spec"]
	compareFields(t, "spec", reflect.TypeFor[Spec](), spec)
	compareFields(t, "status", reflect.TypeFor[Status](), root.Properties["status"])
	var enum []Event
	for _, v := range spec.Properties["events"].Items.Schema.Enum {
		enum = append(enum, Event(strings.Trim(string(v.Raw), `"`)))
	}
	if !slices.Equal(enum, Events()) {
		t.Errorf("events enum %v, want %v", enum, Events())
	}
}

// compareFields checks that the schema s of a struct type has a property
// for each json field of typ and no other, recursing into structs of ours.
func compareFields(t *testing.T, path string, typ reflect.Type, s apiextensionsv1.JSONSchemaProps) {
	t.Helper()
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct || typ.PkgPath() != reflect.TypeFor[Spec]().PkgPath() {
		return
	}
	fields := map[string]bool{}
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = true
		p, ok := s.Properties[name]
		if !ok {
			t.Errorf("%s.%s: in the Go type, not in crd.yaml", path, name)
			continue
		}
		compareFields(t, path+"."+name, f.Type, p)
	}
	for name := range s.Properties {
		if !fields[name] {
			t.Errorf("%s.%s: in crd.yaml, not in the Go type", path, name)
		}
	}
}

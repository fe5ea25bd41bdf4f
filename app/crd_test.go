package app

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	objvalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// loadCRD parses CRD() the way the API server would receive it, defaulted
// and converted to the internal version its validation works on.
func loadCRD(t *testing.T) (*apiextensionsv1.CustomResourceDefinition, *apiextensions.CustomResourceDefinition) {
	t.Helper()
	return parseCRD(t, CRD())
}

// parseCRD parses one CRD manifest as loadCRD does.
func parseCRD(t *testing.T, manifest []byte) (*apiextensionsv1.CustomResourceDefinition, *apiextensions.CustomResourceDefinition) {
	t.Helper()
	var v1 apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(manifest, &v1); err != nil {
		t.Fatalf("crd.yaml: %v", err)
	}
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(&v1)
	var internal apiextensions.CustomResourceDefinition
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&v1, &internal, nil); err != nil {
		t.Fatalf("crd.yaml: convert: %v", err)
	}
	return &v1, &internal
}

func TestCRDPassesAPIServerValidation(t *testing.T) {
	_, internal := loadCRD(t)
	for _, err := range crdvalidation.ValidateCustomResourceDefinition(context.Background(), internal) {
		t.Errorf("crd.yaml: %v", err)
	}
}

// TestProjectCRD checks the Project CRD as the Application's is checked:
// accepted by the API server's validation, named after the Go constants,
// and with a schema that matches the Go types field for field.
func TestProjectCRD(t *testing.T) {
	crd, internal := parseCRD(t, ProjectCRD())
	for _, err := range crdvalidation.ValidateCustomResourceDefinition(context.Background(), internal) {
		t.Errorf("project-crd.yaml: %v", err)
	}
	if crd.Name != ProjectResource+"."+Group || crd.Spec.Group != Group || crd.Spec.Names.Kind != ProjectKind ||
		crd.Spec.Names.ListKind != ProjectListKind || crd.Spec.Names.Plural != ProjectResource || crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
		t.Errorf("project-crd.yaml: names %+v scope %s do not match the Go constants", crd.Spec.Names, crd.Spec.Scope)
	}
	if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != Version {
		t.Fatalf("project-crd.yaml: want the one version %s", Version)
	}
	matchSchema(t, "Project", reflect.TypeFor[Project](), crd.Spec.Versions[0].Schema.OpenAPIV3Schema)
}

func TestCRDNames(t *testing.T) {
	crd, _ := loadCRD(t)
	if crd.Name != ApplicationResource+"."+Group || crd.Spec.Group != Group ||
		crd.Spec.Names.Kind != ApplicationKind || crd.Spec.Names.ListKind != ApplicationListKind ||
		crd.Spec.Names.Plural != ApplicationResource || crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
		t.Errorf("crd.yaml: names %+v scope %s do not match the Go constants", crd.Spec.Names, crd.Spec.Scope)
	}
	if len(crd.Spec.Versions) != 1 {
		t.Fatalf("crd.yaml: want one version, got %d", len(crd.Spec.Versions))
	}
	v := crd.Spec.Versions[0]
	if v.Name != Version || !v.Served || !v.Storage {
		t.Errorf("crd.yaml: version %s served=%v storage=%v", v.Name, v.Served, v.Storage)
	}
	if v.Subresources == nil || v.Subresources.Status == nil {
		t.Error("crd.yaml: no status subresource")
	}
	var cols []string
	for _, c := range v.AdditionalPrinterColumns {
		cols = append(cols, c.Name+"="+c.JSONPath)
	}
	want := []string{"Sync=.status.sync.status", "Health=.status.health.status", "Revision=.status.sync.revision", "Age=.metadata.creationTimestamp"}
	if !slices.Equal(cols, want) {
		t.Errorf("crd.yaml: printer columns %v, want %v", cols, want)
	}
}

// TestCRDMatchesGoTypes walks the Go types and the schema together: every
// json field must have a property of the matching type and every property a
// field, so the two cannot drift apart.
func TestCRDMatchesGoTypes(t *testing.T) {
	crd, _ := loadCRD(t)
	s := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	matchSchema(t, "Application", reflect.TypeFor[Application](), s)
}

func matchSchema(t *testing.T, path string, typ reflect.Type, s *apiextensionsv1.JSONSchemaProps) {
	t.Helper()
	if s.XPreserveUnknownFields != nil || s.XEmbeddedResource || s.XIntOrString {
		t.Errorf("%s: schema uses an x-kubernetes escape hatch", path)
	}
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	timeType, objectMetaType := reflect.TypeFor[metav1.Time](), reflect.TypeFor[metav1.ObjectMeta]()
	want := ""
	switch {
	case typ == timeType:
		want = "string"
		if s.Format != "date-time" {
			t.Errorf("%s: a time wants format date-time, schema has %q", path, s.Format)
		}
	case typ == objectMetaType:
		want = "object"
	default:
		switch typ.Kind() {
		case reflect.String:
			want = "string"
		case reflect.Bool:
			want = "boolean"
		case reflect.Int, reflect.Int32, reflect.Int64:
			want = "integer"
		case reflect.Struct, reflect.Map:
			want = "object"
		case reflect.Slice:
			want = "array"
		default:
			t.Fatalf("%s: Go kind %s has no schema rule in this test", path, typ.Kind())
		}
	}
	if s.Type != want {
		t.Errorf("%s: schema type %q, Go type %s wants %q", path, s.Type, typ, want)
		return
	}
	switch {
	case typ == timeType || typ == objectMetaType:
	case typ.Kind() == reflect.Slice:
		if s.Items == nil || s.Items.Schema == nil {
			t.Errorf("%s: array without items schema", path)
			return
		}
		matchSchema(t, path+"[]", typ.Elem(), s.Items.Schema)
	case typ.Kind() == reflect.Map:
		if s.AdditionalProperties == nil || s.AdditionalProperties.Schema == nil {
			t.Errorf("%s: map without additionalProperties schema", path)
			return
		}
		matchSchema(t, path+"{}", typ.Elem(), s.AdditionalProperties.Schema)
	case typ.Kind() == reflect.Struct:
		fields := jsonFields(typ)
		for name, f := range fields {
			p, ok := s.Properties[name]
			if !ok {
				t.Errorf("%s.%s: Go field %s has no schema property", path, name, f.Name)
				continue
			}
			matchSchema(t, path+"."+name, f.Type, &p)
		}
		for name := range s.Properties {
			if _, ok := fields[name]; !ok {
				t.Errorf("%s.%s: schema property has no Go field", path, name)
			}
		}
		for _, name := range s.Required {
			if f, ok := fields[name]; ok && strings.Contains(f.Tag.Get("json"), "omitempty") {
				t.Errorf("%s.%s: required in the schema but omitempty in Go", path, name)
			}
		}
	}
}

// jsonFields returns a struct's fields by json name, inlining embedded
// structs the way encoding/json does.
func jsonFields(typ reflect.Type) map[string]reflect.StructField {
	fields := map[string]reflect.StructField{}
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" && f.Anonymous {
			for n, ff := range jsonFields(f.Type) {
				fields[n] = ff
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f
	}
	return fields
}

// TestCRDEnumsMatchConstants checks that the enums in the schema list
// exactly the Go constants of their type.
func TestCRDEnumsMatchConstants(t *testing.T) {
	crd, _ := loadCRD(t)
	root := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	status := root.Properties["status"]
	opState := status.Properties["operationState"]
	change := opState.Properties["syncResult"].Properties["resources"].Items.Schema
	tests := []struct {
		name   string
		schema apiextensionsv1.JSONSchemaProps
		want   []string
	}{
		{"status.sync.status", status.Properties["sync"].Properties["status"],
			strs(Synced, OutOfSync, SyncUnknown)},
		{"status.health.status", status.Properties["health"].Properties["status"],
			strs(Healthy, Suspended, Progressing, Missing, Degraded, HealthUnknown)},
		{"status.operationState.phase", opState.Properties["phase"],
			strs(OperationRunning, OperationTerminating, OperationSucceeded, OperationFailed, OperationError)},
		{"syncResult.resources[].action", change.Properties["action"],
			strs(ActionCreated, ActionConfigured, ActionUnchanged, ActionDeleted, ActionPruned, ActionSkipped, ActionFailed)},
		{"syncResult.resources[].syncPhase", change.Properties["syncPhase"],
			strs(SyncPhasePreSync, SyncPhaseSync, SyncPhasePostSync, SyncPhaseSyncFail)},
		{"status.sourceType", status.Properties["sourceType"],
			strs(SourceDirectory, SourceKustomize, SourceHelm)},
	}
	for _, tt := range tests {
		var got []string
		for _, e := range tt.schema.Enum {
			var s string
			if err := yaml.Unmarshal(e.Raw, &s); err != nil {
				t.Fatalf("%s: enum value %s: %v", tt.name, e.Raw, err)
			}
			got = append(got, s)
		}
		slices.Sort(got)
		slices.Sort(tt.want)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: enum %q, Go constants %q", tt.name, got, tt.want)
		}
	}
}

func strs[T ~string](vs ...T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// TestCRDValidatesApplications runs testdata/application-*.yaml through the
// API server's own pruning, OpenAPI and CEL validation.
func TestCRDValidatesApplications(t *testing.T) {
	_, internal := loadCRD(t)
	// With a single version the internal form holds the schema at the top.
	schema := internal.Spec.Validation.OpenAPIV3Schema
	structural, err := structuralschema.NewStructural(schema)
	if err != nil {
		t.Fatalf("crd.yaml: not structural: %v", err)
	}
	validator, _, err := objvalidation.NewSchemaValidator(schema)
	if err != nil {
		t.Fatalf("crd.yaml: %v", err)
	}
	celValidator := cel.NewValidator(structural, true, celconfig.PerCallLimit)

	tests := []struct {
		file string
		want []string // substrings of the errors; none means valid
	}{
		{"application-valid.yaml", nil},
		{"application-minimal.yaml", nil},
		{"application-resume.yaml", nil},
		{"application-missing-repourl.yaml", []string{"spec.source.repoURL: Required value"}},
		{"application-misspelled-repourl.yaml", []string{"unknown field spec.source.repoUrl", "spec.source.repoURL: Required value"}},
		{"application-missing-destination.yaml", []string{"spec.destination: Required value"}},
		{"application-two-source-types.yaml", []string{"spec: Invalid value", "set at most one of source.helm, source.kustomize and source.directory"}},
		{"application-sources.yaml", nil},
		{"application-source-and-sources.yaml", []string{"set one of source and sources"}},
		{"application-no-source.yaml", []string{"set one of source and sources"}},
		{"application-other-server.yaml", nil},
		{"application-server-and-name.yaml", []string{"set destination.server or destination.name, not both"}},
		{"application-negative-history-limit.yaml", []string{"spec.revisionHistoryLimit: Invalid value: -1", "greater than or equal to 0"}},
		{"application-bad-retry.yaml", []string{"spec.syncPolicy.retry.limit: Invalid value: -2", "spec.syncPolicy.retry.backoff.duration: Invalid value"}},
		{"application-bad-sync-option.yaml", []string{"spec.syncPolicy.syncOptions[0]: Invalid value"}},
		{"application-string-prune.yaml", []string{"spec.syncPolicy.automated.prune: Invalid value", "must be of type boolean"}},
		{"application-two-operations.yaml", []string{"set exactly one of sync, rollback and resume"}},
		{"application-empty-operation.yaml", []string{"set exactly one of sync, rollback and resume"}},
		{"application-bad-health-status.yaml", []string{"status.health.status: Unsupported value: \"Fine\""}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			obj := readYAML(t, tt.file)
			var msgs []string
			unknown := pruning.PruneWithOptions(obj, structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
			for _, p := range unknown {
				msgs = append(msgs, "unknown field "+p)
			}
			errs := objvalidation.ValidateCustomResource(nil, obj, validator)
			celErrs, _ := celValidator.Validate(context.Background(), nil, structural, obj, nil, celconfig.RuntimeCELCostBudget)
			for _, e := range append(errs, celErrs...) {
				msgs = append(msgs, e.Error())
			}
			all := strings.Join(msgs, "\n")
			if len(tt.want) == 0 && len(msgs) > 0 {
				t.Fatalf("%s: want valid, got:\n%s", tt.file, all)
			}
			if len(tt.want) > 0 && len(msgs) == 0 {
				t.Fatalf("%s: want errors %q, got none", tt.file, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("%s: want an error containing %q, got:\n%s", tt.file, w, all)
				}
			}
		})
	}
}

func readYAML(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(b, &obj); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return obj
}

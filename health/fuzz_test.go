package health

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/app"
)

// fuzzKind is an apiVersion and kind to give fuzzed content.
type fuzzKind struct{ apiVersion, kind string }

// fuzzKinds returns the kinds Check has a rule of its own for, with an
// apiVersion each, and last one custom kind for the generic conventions.
func fuzzKinds() []fuzzKind {
	return []fuzzKind{
		{"apps/v1", "Deployment"}, {"extensions/v1beta1", "Deployment"},
		{"apps/v1", "ReplicaSet"}, {"apps/v1", "StatefulSet"}, {"apps/v1", "DaemonSet"},
		{"v1", "Pod"}, {"batch/v1", "Job"}, {"batch/v1", "CronJob"}, {"v1", "Service"},
		{"networking.k8s.io/v1", "Ingress"}, {"v1", "PersistentVolumeClaim"},
		{"autoscaling/v2", "HorizontalPodAutoscaler"}, {"autoscaling/v1", "HorizontalPodAutoscaler"},
		{"policy/v1", "PodDisruptionBudget"}, {"apiregistration.k8s.io/v1", "APIService"},
		{"apiextensions.k8s.io/v1", "CustomResourceDefinition"}, {"v1", "Namespace"},
		{app.SchemeGroupVersion().String(), app.ApplicationKind},
		{"example.com/v1", "Widget"},
	}
}

// TestFuzzKindsHaveRules keeps fuzzKinds honest: each of them but the
// custom one has a rule of its own.
func TestFuzzKindsHaveRules(t *testing.T) {
	generic := reflect.ValueOf(compositeOrGeneric).Pointer()
	kinds := fuzzKinds()
	for _, k := range kinds[:len(kinds)-1] {
		gk := schema.FromAPIVersionAndKind(k.apiVersion, k.kind).GroupKind()
		if reflect.ValueOf(ruleFor(gk)).Pointer() == generic {
			t.Errorf("%s has no rule of its own", gk)
		}
	}
	last := kinds[len(kinds)-1]
	if reflect.ValueOf(ruleFor(schema.FromAPIVersionAndKind(last.apiVersion, last.kind).GroupKind())).Pointer() != generic {
		t.Errorf("%s/%s has a rule; want a kind for the generic conventions", last.apiVersion, last.kind)
	}
}

// FuzzCheck runs Check on arbitrary content given each kind it knows: it
// never panics, leaves the object alone, answers the same twice, and every
// status it gives is one an Application can show (never Missing, which
// only the absence of an object means). An object whose numbers are all
// small integers gets the same health whether they were decoded as int64
// (client-go) or float64 (encoding/json, YAML libraries); when it is
// Unknown, the message may differ in the type it names.
func FuzzCheck(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed objects: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		j, err := yaml.YAMLToJSON(b)
		if err != nil {
			f.Fatalf("%s: %v", file, err)
		}
		f.Add(j, uint8(0))
	}
	kinds := fuzzKinds()
	known := []app.HealthStatus{app.Healthy, app.Suspended, app.Progressing, app.Degraded, app.HealthUnknown}
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		var m map[string]any
		if err := utiljson.Unmarshal(data, &m); err != nil || m == nil {
			return
		}
		// 0 keeps the object's own kind; others pick one Check knows.
		if kind > 0 {
			k := kinds[int(kind-1)%len(kinds)]
			m["apiVersion"], m["kind"] = k.apiVersion, k.kind
		}
		obj := &unstructured.Unstructured{Object: m}
		before := obj.DeepCopy()
		got, ok := Check(obj)
		if !reflect.DeepEqual(obj.Object, before.Object) {
			t.Fatal("Check changed the object")
		}
		if again, ok2 := Check(obj); again != got || ok2 != ok {
			t.Fatalf("Check gave %+v %v, then %+v %v", got, ok, again, ok2)
		}
		if !ok {
			if got != (app.HealthState{}) {
				t.Errorf("no health, but a state %+v", got)
			}
			return
		}
		if !slices.Contains(known, got.Status) {
			t.Fatalf("Check = %+v: status not one of %v", got, known)
		}
		if agg := Aggregate(Result{Health: got}); !slices.Contains(known, agg.Status) {
			t.Fatalf("Aggregate = %+v", agg)
		}

		if !smallIntegers(m) {
			return
		}
		var floats map[string]any
		if err := json.Unmarshal(data, &floats); err != nil {
			t.Fatal(err)
		}
		if kind > 0 {
			floats["apiVersion"], floats["kind"] = m["apiVersion"], m["kind"]
		}
		fgot, fok := Check(&unstructured.Unstructured{Object: floats})
		// An unreadable object's message names the type it found.
		if fok != ok || fgot.Status != got.Status || (got.Status != app.HealthUnknown && fgot.Message != got.Message) {
			t.Fatalf("with float64 numbers %+v %v, with int64 %+v %v", fgot, fok, got, ok)
		}
	})
}

// smallIntegers reports whether every number in v is an integer that a
// float64 holds exactly.
func smallIntegers(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		for _, e := range t {
			if !smallIntegers(e) {
				return false
			}
		}
	case []any:
		for _, e := range t {
			if !smallIntegers(e) {
				return false
			}
		}
	case int64:
		return t > -1<<53 && t < 1<<53
	case float64:
		return false
	}
	return true
}

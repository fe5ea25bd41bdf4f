package app

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/randfill"
)

// TestDeepCopy fills Applications with random values, copies them, and
// checks that the copy is equal and shares no memory with the original, so
// mutating a copy (as informer users do) never changes the cache.
func TestDeepCopy(t *testing.T) {
	f := randfill.New().NilChance(0).NumElements(1, 3).Funcs(
		func(tm *metav1.Time, c randfill.Continue) { *tm = metav1.Unix(c.Int63n(1<<32), 0) },
	)
	for i := range 20 {
		var a Application
		f.Fill(&a.Spec)
		f.Fill(&a.Status)
		f.Fill(&a.Operation)
		a.Labels = map[string]string{"team": "web"}
		c := a.DeepCopy()
		if !reflect.DeepEqual(&a, c) {
			t.Fatalf("fill %d: DeepCopy differs from the original", i)
		}
		noSharedMemory(t, "Application", reflect.ValueOf(&a).Elem(), reflect.ValueOf(c).Elem())
	}

	// The copy made from a real manifest can be changed without touching
	// the original.
	orig, err := FromUnstructured(&unstructured.Unstructured{Object: readYAML(t, "application-valid.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	c := orig.DeepCopyObject().(*Application)
	c.Spec.Source.Helm.Parameters[0].Value = "changed"
	c.Spec.SyncPolicy.Automated.Prune = false
	c.Status.History[0].Source.Directory.Include = "changed"
	c.Status.Resources[0].Health.Status = Degraded
	c.Operation.Sync.Resources[0].Name = "changed"
	if orig.Spec.Source.Helm.Parameters[0].Value != "1.2" || !orig.Spec.SyncPolicy.Automated.Prune ||
		orig.Status.History[0].Source.Directory.Include != "*.yaml" || orig.Status.Resources[0].Health.Status != Progressing ||
		orig.Operation.Sync.Resources[0].Name != "guestbook" {
		t.Error("changing the copy changed the original")
	}

	l := &ApplicationList{Items: []Application{*orig}}
	lc := l.DeepCopyObject().(*ApplicationList)
	noSharedMemory(t, "ApplicationList", reflect.ValueOf(l).Elem(), reflect.ValueOf(lc).Elem())
}

// noSharedMemory fails when a and b, equal values, share a pointer, slice
// backing array or map.
func noSharedMemory(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || a.Type().Elem().Size() == 0 { // zero-size values share one address
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: copy shares the pointer", path)
			return
		}
		noSharedMemory(t, path, a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() == 0 {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: copy shares the slice", path)
			return
		}
		for i := range a.Len() {
			noSharedMemory(t, path+"[]", a.Index(i), b.Index(i))
		}
	case reflect.Map:
		if a.Len() == 0 {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: copy shares the map", path)
			return
		}
		for _, k := range a.MapKeys() {
			noSharedMemory(t, path+"{}", a.MapIndex(k), b.MapIndex(k))
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				noSharedMemory(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
			}
		}
	}
}

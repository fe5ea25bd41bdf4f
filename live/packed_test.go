package live

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

const packedDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  uid: d-1
  resourceVersion: "42"
  generation: 3
  labels: {gyre.dev/app: shop}
  annotations:
    gyre.dev/tracking-id: team/shop:apps/Deployment:prod/web
    note: big
  ownerReferences:
  - {apiVersion: v1, kind: ConfigMap, name: owner, uid: o-1}
  managedFields:
  - {manager: gyre, operation: Apply, apiVersion: apps/v1, fieldsType: FieldsV1, fieldsV1: {"f:spec": {"f:replicas": {}}}}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - {name: web, image: nginx, ports: [{containerPort: 80}]}
status:
  observedGeneration: 3
  availableReplicas: 2
`

// TestPack keeps a managed object packed: reading it back gives the object
// as the watch delivered it (integers as int64, managedFields and all), a
// fresh copy each time; the metadata the store, indexes and handlers read
// is at hand without decoding; packing twice changes nothing.
func TestPack(t *testing.T) {
	// Decoded as the watch decodes: integers as int64.
	js, err := yaml.YAMLToJSON([]byte(packedDeployment))
	if err != nil {
		t.Fatal(err)
	}
	in := &unstructured.Unstructured{}
	if err := utiljson.Unmarshal(js, &in.Object); err != nil {
		t.Fatal(err)
	}
	want := in.DeepCopy()
	out, err := pack(in)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := out.(*packed)
	if !ok {
		t.Fatalf("pack returned %T", out)
	}
	if again, _ := pack(p); again != any(p) {
		t.Errorf("packing a packed object returned %T %p, want it unchanged", again, again)
	}

	got, ok := unpack(p)
	if !ok {
		t.Fatal("unpack failed")
	}
	if !reflect.DeepEqual(got.Object, want.Object) {
		t.Errorf("unpacked object differs:\n got %v\nwant %v", got.Object, want.Object)
	}
	if r, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas"); r != 2 {
		t.Errorf("spec.replicas = %d, want int64 2", r)
	}
	unstructured.SetNestedField(got.Object, int64(9), "spec", "replicas")
	if again, _ := unpack(p); !reflect.DeepEqual(again.Object, want.Object) {
		t.Error("changing an unpacked copy changed the cache's object")
	}

	m, ok := objectMeta(p)
	if !ok || m.GetName() != "web" || m.GetNamespace() != "prod" || m.GetUID() != "d-1" || m.GetResourceVersion() != "42" ||
		m.GetGeneration() != 3 || len(m.GetOwnerReferences()) != 1 {
		t.Errorf("packed metadata %+v", m)
	}
	if ann := m.GetAnnotations(); len(ann) != 1 || ann[app.TrackingAnnotation] == "" {
		t.Errorf("packed annotations %v, want only the tracking annotation", ann)
	}
	if ids, _ := indexByApp(p); !reflect.DeepEqual(ids, []string{"team/shop"}) {
		t.Errorf("indexByApp = %v, want [team/shop]", ids)
	}
	if ids, _ := indexByOwner(p); !reflect.DeepEqual(ids, []string{"o-1"}) {
		t.Errorf("indexByOwner = %v, want [o-1]", ids)
	}
	if apps := appendManagedApp(nil, p); !reflect.DeepEqual(apps, []types.NamespacedName{{Namespace: "team", Name: "shop"}}) {
		t.Errorf("appendManagedApp = %v", apps)
	}

	// A copy of the object under another name keeps the tracking id of
	// the original: it belongs to no Application.
	in.SetName("copy")
	copied, _ := pack(in)
	if ids, _ := indexByApp(copied); ids != nil {
		t.Errorf("a copy with the original's tracking id is indexed under %v", ids)
	}
	if _, ok := unpack(&metav1.PartialObjectMetadata{}); ok {
		t.Error("unpack accepted an object that is not packed")
	}
}

// TestPackDeflates keeps an object's JSON deflated, a tenth of its size for
// one that repeats itself, and reads it back whole; what deflate cannot
// make smaller is kept as it is.
func TestPackDeflates(t *testing.T) {
	big := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "big", "namespace": "prod"}, "data": map[string]any{}}}
	for i := range 100 {
		big.Object["data"].(map[string]any)[fmt.Sprintf("key-%03d", i)] = "the same value, again and again"
	}
	js, err := json.Marshal(big.Object)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pack(big.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	p := out.(*packed)
	if !p.deflated || len(p.raw)*10 > len(js) {
		t.Errorf("deflated %v, %d bytes kept for %d of JSON; want deflated to a tenth or less", p.deflated, len(p.raw), len(js))
	}
	for range 2 { // the pooled inflater is used again
		if got, ok := unpack(p); !ok || !reflect.DeepEqual(got.Object, big.Object) {
			t.Errorf("unpacked %v", got)
		}
	}

	noise := make([]byte, 4096)
	rand.NewChaCha8([32]byte{1}).Read(noise)
	if d := deflate(noise); d != nil {
		t.Errorf("deflate made %d bytes of %d random ones; want nil, to keep them as they are", len(d), len(noise))
	}
	plain := &packed{raw: []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n"}}`)}
	if got, ok := unpack(plain); !ok || got.GetName() != "n" {
		t.Errorf("an object kept as it is unpacked as %v", got)
	}
}

// TestPackDescendant: the descendant watches keep objects packed too, with
// what their indexes and the tree read, and stripped as stripDescendant
// strips them.
func TestPackDescendant(t *testing.T) {
	slice := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
		"metadata": map[string]any{
			"name": "web-x1", "namespace": "prod", "uid": "s-1", "creationTimestamp": "2026-01-02T03:04:05Z",
			"labels":        map[string]any{serviceNameLabel: "web"},
			"managedFields": []any{map[string]any{"manager": "endpointslice-controller"}},
		},
		"endpoints": []any{map[string]any{"targetRef": map[string]any{"kind": "Pod", "name": "web-1", "namespace": "prod"}}},
	}}
	out, err := packDescendant(nil)(slice)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := out.(*packed)
	if !ok {
		t.Fatalf("packDescendant returned %T, want *packed", out)
	}
	if ids, _ := indexByService(p); !reflect.DeepEqual(ids, []string{"prod/web"}) {
		t.Errorf("indexByService = %v, want [prod/web]", ids)
	}
	if m, _ := objectMeta(p); m.GetCreationTimestamp().UTC().Format(time.RFC3339) != "2026-01-02T03:04:05Z" {
		t.Errorf("creation timestamp %v", m.GetCreationTimestamp())
	}
	whole, ok := wholeObject(p)
	if !ok || len(sliceField(whole.Object, "endpoints")) != 1 {
		t.Fatalf("the tree reads %v, %v; want the slice with its endpoint", whole, ok)
	}
	if whole.GetManagedFields() != nil {
		t.Error("managedFields kept")
	}
}

package render

import (
	"errors"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestFreezeThaw keeps a result as the Cache does and reads it back: the
// objects and their origins as they were (integers stay int64, as a
// render's decoding gives them), a copy of the caller's own on each thaw,
// and a render error passed on.
func TestFreezeThaw(t *testing.T) {
	obj := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "labels": map[string]any{"tier": "front"}},
		"spec":     map[string]any{"replicas": int64(3), "paused": false, "ratio": 0.5, "args": []any{"a", "b"}},
	}
	res := &Result{Type: Helm, Objects: []Object{{Obj: &unstructured.Unstructured{Object: obj}, Origin: Origin{File: "web/templates/deploy.yaml", Line: 7}}}}
	f, err := freeze(res, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.thaw()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, res) {
		t.Fatalf("thawed %+v, want %+v", got, res)
	}
	got.Objects[0].Obj.SetName("changed")
	if again, _ := f.thaw(); again.Objects[0].Obj.GetName() != "web" {
		t.Error("changing a thawed result changed the frozen one")
	}
	boom := errors.New("boom")
	if f, err := freeze(nil, boom); f != nil || err != boom {
		t.Errorf("freeze of a failed render = %v, %v; want its error", f, err)
	}
}

package intern

import (
	"encoding/json"
	"reflect"
	"testing"
	"unsafe"
)

const doc = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","managedFields":[{"manager":"gyre","fieldsV1":{"f:spec":{"f:replicas":{}}}}]},"spec":{"replicas":0,"template":{"spec":{"containers":[{"name":"web","image":"registry.example.com/web:1.0.0"}]}}}}`

func decode(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// data is where the bytes of s are.
func data(s string) *byte { return unsafe.StringData(s) }

// TestObjectSharesKeysAndValues decodes the same object twice and checks
// that after Object both copies use the same bytes for their keys and
// short values, and that nothing else changed.
func TestObjectSharesKeysAndValues(t *testing.T) {
	a, b := decode(t), decode(t)
	keyOf := func(m map[string]any, want string) string {
		for k := range m {
			if k == want {
				return k
			}
		}
		t.Fatalf("no key %q", want)
		return ""
	}
	if data(keyOf(a, "metadata")) == data(keyOf(b, "metadata")) {
		t.Fatal("two decodings share a key before Object: the test shows nothing")
	}
	Object(a)
	Object(b)
	if !reflect.DeepEqual(a, decode(t)) {
		t.Fatalf("Object changed the value:\n%v", a)
	}
	if data(keyOf(a, "metadata")) != data(keyOf(b, "metadata")) {
		t.Error("the key metadata is not shared")
	}
	fa := a["metadata"].(map[string]any)["managedFields"].([]any)[0].(map[string]any)["fieldsV1"].(map[string]any)
	fb := b["metadata"].(map[string]any)["managedFields"].([]any)[0].(map[string]any)["fieldsV1"].(map[string]any)
	if data(keyOf(fa, "f:spec")) != data(keyOf(fb, "f:spec")) {
		t.Error("a key inside a list (managedFields) is not shared")
	}
	if data(a["kind"].(string)) != data(b["kind"].(string)) {
		t.Error("the value Deployment is not shared")
	}
}

// TestObjectLeavesLongValues keeps values longer than maxValue as they are.
func TestObjectLeavesLongValues(t *testing.T) {
	long := string(make([]byte, maxValue+1))
	m := map[string]any{"k": long}
	Object(m)
	if data(m["k"].(string)) != data(long) {
		t.Error("a long value was copied")
	}
}

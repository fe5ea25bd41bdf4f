package diff

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func TestDecodeFieldsErrors(t *testing.T) {
	tests := []struct {
		name   string
		fields string
	}{
		{"no prefix", `{"spec": {}}`},
		{"unknown prefix", `{"x:spec": {}}`},
		{"bad key", `{"k:{name": {}}`},
		{"key not an object", `{"k:[1]": {}}`},
		{"bad index", `{"i:-1": {}}`},
		{"not an object", `{"f:spec": 1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if err := yaml.Unmarshal([]byte(tt.fields), &m); err != nil {
				t.Fatal(err)
			}
			if _, err := decodeFields(m); err == nil {
				t.Error("decodeFields accepted malformed fieldsV1")
			}
		})
	}
}

func TestRemoveOwned(t *testing.T) {
	const fields = `
f:metadata:
  f:annotations:
    .: {}
    f:revision: {}
f:spec:
  f:replicas: {}
  f:ports:
    k:{"port":53,"protocol":"UDP"}:
      f:name: {}
    k:{"port":80,"protocol":"TCP"}:
      .: {}
      f:port: {}
  f:args:
    v:"--verbose": {}
    i:0: {}
`
	const obj = `
metadata:
  annotations: {revision: "3", gyre.dev/tracking-id: x}
spec:
  replicas: 7
  ports:
  - {port: 80, name: http}
  - {port: 53, protocol: UDP, name: dns}
  args: ["--first", "--verbose", "--last"]
`
	const want = `
metadata:
  annotations: {gyre.dev/tracking-id: x}
spec:
  ports:
  - {port: 53, protocol: UDP}
  args: ["--last"]
`
	var fm map[string]any
	if err := yaml.Unmarshal([]byte(fields), &fm); err != nil {
		t.Fatal(err)
	}
	n, err := decodeFields(fm)
	if err != nil {
		t.Fatal(err)
	}
	var got, w unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(obj), &got.Object); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(want), &w.Object); err != nil {
		t.Fatal(err)
	}
	removeOwned(got.Object, n)
	if !equal(got.Object, w.Object) {
		t.Errorf("removeOwned:\ngot  %v\nwant %v", got.Object, w.Object)
	}
}

package diff

import (
	"encoding/base64"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gyre-cd/gyre/app"
)

// maskLength is the length of the first mask; each further distinct value
// of the same key gets a mask one character longer.
const maskLength = 8

// maskSecret replaces, in place, every value of data and stringData in the
// given copies of a core Secret with a run of "+". Per key, equal values get
// the same mask and different values different ones, so a reader still sees
// which keys changed, and nothing about the values. A stringData value is
// compared in its base64 form, as it ends up in data. objs should be given
// as live, predicted, desired (nil ones are skipped) so live gets the
// shortest masks. Comparison happens before masking; this is for output only.
func maskSecret(key app.ResourceKey, objs ...*unstructured.Unstructured) {
	if key.Group != "" || key.Kind != "Secret" {
		return
	}
	seen := map[string][]any{} // per key: distinct values, in order of first sight
	maskFor := func(k string, v any) string {
		vals := seen[k]
		for i, s := range vals {
			if equal(s, v) {
				return strings.Repeat("+", maskLength+i)
			}
		}
		seen[k] = append(vals, v)
		return strings.Repeat("+", maskLength+len(vals))
	}
	for _, obj := range objs {
		if obj == nil {
			continue
		}
		for _, field := range []string{"data", "stringData"} {
			m, ok := obj.Object[field].(map[string]any)
			if !ok {
				if _, present := obj.Object[field]; present {
					obj.Object[field] = strings.Repeat("+", maskLength)
				}
				continue
			}
			for k, v := range m {
				if s, ok := v.(string); ok && field == "stringData" {
					v = base64.StdEncoding.EncodeToString([]byte(s))
				}
				m[k] = maskFor(k, v)
			}
		}
	}
}

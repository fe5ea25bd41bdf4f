package cel_test

import (
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/health/cel"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FuzzLoad feeds hostile healthCheckExprs documents to the loader and
// checks what compiles against an object of the kind they name: nothing
// panics, and every answer is a known status.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("- apiVersion: example.com/v1\n  kind: Widget\n  current: status.phase == 'Running'\n  failed: status.phase == 'Failed'\n"))
	f.Add([]byte("- apiVersion: example.com/v1\n  kind: Widget\n  inProgress: self.status.conditions.exists(c, c.type == 'Ready' && c.status == 'False')\n"))
	f.Add([]byte("- kind: Widget\n  current: status.phase ==\n"))
	f.Add([]byte("- apiVersion: example.com/v1\n  kind: Widget\n  current: '[1,2,3].map(x, [1,2,3].map(y, x*y)).size() > 0'\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("{}"))
	known := map[app.HealthStatus]bool{app.Healthy: true, app.Progressing: true, app.Degraded: true, app.Suspended: true, app.Missing: true, app.HealthUnknown: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := cel.DefaultOptions()
		opts.Timeout = 50 * time.Millisecond
		set, _ := cel.Load("gyre-cm", data, opts)
		if set == nil {
			return
		}
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "example.com/v1", "kind": "Widget",
			"metadata": map[string]any{"name": "w", "generation": int64(2)},
			"status":   map[string]any{"observedGeneration": int64(2), "phase": "Running", "conditions": []any{map[string]any{"type": "Ready", "status": "True"}}},
		}}
		if st, ok := set.Check(obj); ok && !known[st.Status] {
			t.Fatalf("status %q is not a health status", st.Status)
		}
	})
}

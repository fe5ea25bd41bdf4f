package lua_test

import (
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/health/lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FuzzConfigMapChecks feeds hostile ConfigMap entries (keys, nested YAML,
// scripts) to the loader and runs what loads against an object of the
// kind they name: nothing panics, and every answer is a known status.
func FuzzConfigMapChecks(f *testing.F) {
	f.Add("resource.customizations.health.example.com_Widget", `hs = {status = "Degraded", message = obj.metadata.name} return hs`)
	f.Add("resource.customizations", "example.com/Widget:\n  health.lua: |\n    return {status = \"Healthy\"}\n")
	f.Add("resource.customizations", "\"*.com/*\":\n  health.lua: \"while true do end\"\n")
	f.Add("resource.customizations.health.Widget", `return {status = string.rep("x", 10)}`)
	f.Add("resource.customizations.health.a_b_c", `error("x")`)
	f.Add("resource.customizations", "[: bad yaml")
	known := map[app.HealthStatus]bool{app.Healthy: true, app.Progressing: true, app.Degraded: true, app.Suspended: true, app.Missing: true, app.HealthUnknown: true}
	f.Fuzz(func(t *testing.T, key, value string) {
		entries, _ := lua.FromConfigMap("gyre-cm", map[string]string{key: value})
		opts := lua.DefaultOptions()
		opts.Timeout = 50 * time.Millisecond
		set := lua.NewSet(opts, entries)
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "example.com/v1", "kind": "Widget",
			"metadata": map[string]any{"name": "w"},
			"status":   map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}},
		}}
		if st, ok := set.Check(obj); ok && !known[st.Status] {
			t.Fatalf("status %q is not a health status", st.Status)
		}
	})
}

package sync

import (
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/health"
	"github.com/gyre-cd/gyre/health/lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// healthChecker is the shared Reconciler's health checker: tests set custom
// checks on it, each scoped to its own namespace (see inNamespace).
var healthChecker = &health.Checker{}

// inNamespace is a health.Custom answering for the objects of one namespace
// only, so that a test's custom checks do not reach the objects of the
// other tests that share the loop.
type inNamespace struct {
	ns     string
	custom health.Custom
}

func (c inNamespace) Check(obj *unstructured.Unstructured) (app.HealthState, bool) {
	if obj.GetNamespace() != c.ns {
		return app.HealthState{}, false
	}
	return c.custom.Check(obj)
}

// luaChecks loads Lua health checks from ConfigMap data in Argo CD's keys.
func luaChecks(t *testing.T, data map[string]string) *lua.Set {
	t.Helper()
	entries, errs := lua.FromConfigMap("gyre-cm", data)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return lua.NewSet(lua.Options{}, entries)
}

// TestLuaHealthCheckDecidesHealth: a Lua check for a kind decides the
// health of its objects in the Application's status and in the resource
// tree, and a replaced set of checks takes effect without a restart.
func TestLuaHealthCheckDecidesHealth(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	t.Cleanup(func() { healthChecker.SetCustom(nil) })
	healthChecker.SetCustom(inNamespace{ns: ns, custom: luaChecks(t, map[string]string{
		"resource.customizations.health.ConfigMap": `
			if obj.data ~= nil and obj.data.broken == "yes" then
				return {status = "Degraded", message = "data.broken is " .. obj.data.broken}
			end
			return {status = "Healthy", message = "not broken"}`,
	})})

	r := newRepo(t)
	sha := r.commit(map[string]*string{"app/config.yaml": s("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  broken: \"yes\"\n")})
	key := newApp(t, ns, "lua", r, "app", nil)
	a := waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Status == app.Synced && a.Status.Sync.Revision == sha && a.Status.Health.Status == app.Degraded &&
			strings.Contains(a.Status.Health.Message, "data.broken is yes"), "not Synced and Degraded by the Lua check"
	})
	var node *app.TreeNode
	for _, n := range reconciler.Tree(a) {
		if n.Key.Kind == "ConfigMap" && n.Key.Name == "settings" {
			node = &n
		}
	}
	if node == nil || node.Health == nil || *node.Health != (app.HealthState{Status: app.Degraded, Message: "data.broken is yes"}) {
		t.Fatalf("tree node of the ConfigMap = %+v, want the Lua check's Degraded", node)
	}

	healthChecker.SetCustom(inNamespace{ns: ns, custom: luaChecks(t, map[string]string{
		"resource.customizations.health.ConfigMap": `return {status = "Healthy", message = "replaced check"}`,
	})})
	reconciler.RefreshAll() // as the agent does when the checks change
	waitApp(t, key, 30*time.Second, func(a *app.Application) (bool, string) {
		return a.Status.Health.Status == app.Healthy, "not Healthy after the checks were replaced"
	})
}

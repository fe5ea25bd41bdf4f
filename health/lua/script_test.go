package lua

import (
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// widget is a custom resource with a status, as the API server returns it
// (integers as int64).
func widget() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1",
		"kind":       "Widget",
		"metadata":   map[string]any{"name": "w", "generation": int64(3)},
		"spec":       map[string]any{"replicas": int64(2), "paused": false},
		"status": map[string]any{
			"observedGeneration": int64(3),
			"ratio":              0.5,
			"conditions": []any{
				map[string]any{"type": "Synced", "status": "True"},
				map[string]any{"type": "Ready", "status": "False", "message": "no capacity"},
			},
			"gaps": []any{"a", nil, "c"},
		},
	}}
}

func check(t *testing.T, src string, opts Options) app.HealthState {
	t.Helper()
	sc, err := Compile("test.lua", src)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return sc.Check(widget(), opts)
}

func TestScriptStatuses(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      app.HealthState
	}{
		{"table literal", `return {status = "Healthy", message = "fine"}`, app.HealthState{Status: app.Healthy, Message: "fine"}},
		{"argo hs global", "hs = {}\nhs.status = \"Suspended\"\nhs.message = \"paused\"\nreturn hs", app.HealthState{Status: app.Suspended, Message: "paused"}},
		{"no message", `return {status = "Progressing"}`, app.HealthState{Status: app.Progressing}},
		{"missing", `return {status = "Missing", message = "gone"}`, app.HealthState{Status: app.Missing, Message: "gone"}},
		{"unknown", `return {status = "Unknown", message = "?"}`, app.HealthState{Status: app.HealthUnknown, Message: "?"}},
		{"reads conditions as a 1-based array", `
			for i, c in ipairs(obj.status.conditions) do
				if c.type == "Ready" and c.status == "False" then
					return {status = "Degraded", message = i .. ": " .. c.message}
				end
			end
			return {status = "Healthy"}`, app.HealthState{Status: app.Degraded, Message: "2: no capacity"}},
		{"numbers and bools", `
			if obj.metadata.generation == obj.status.observedGeneration and obj.spec.replicas + obj.status.ratio == 2.5 and obj.spec.paused == false then
				return {status = "Healthy", message = "gen " .. obj.metadata.generation}
			end
			return {status = "Degraded"}`, app.HealthState{Status: app.Healthy, Message: "gen 3"}},
		{"a null keeps its place in a list", `return {status = "Healthy", message = obj.status.gaps[3] .. tostring(obj.status.gaps[2])}`, app.HealthState{Status: app.Healthy, Message: "cnil"}},
		{"absent fields are nil", `if obj.status.nothing == nil then return {status = "Healthy"} end`, app.HealthState{Status: app.Healthy}},
		{"string and table and math libraries", `
			local parts = {}
			for w in string.gmatch("a,b", "[^,]+") do table.insert(parts, w:upper()) end
			return {status = "Healthy", message = table.concat(parts, "+") .. string.format(" %d", math.max(1, 7))}`, app.HealthState{Status: app.Healthy, Message: "A+B 7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := check(t, tc.src, Options{}); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestScriptFailuresAreUnknown: whatever goes wrong in a script, the object
// is Unknown and the message says why; nothing panics.
func TestScriptFailuresAreUnknown(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		opts      Options
		message   string // a part of the message
	}{
		{"error", `error("boom")`, Options{}, "test.lua:1: boom"},
		{"runtime error", `return {status = obj.status.nothing.deeper}`, Options{}, "attempt to index"},
		{"no table", `return "Healthy"`, Options{}, "returned string, not a table"},
		{"returns nothing", `hs = {status = "Healthy"}`, Options{}, "returned nil, not a table"},
		{"unknown status", `return {status = "Fine"}`, Options{}, `the status "Fine", not one of Healthy`},
		{"no status", `return {}`, Options{}, "the status nil"},
		{"message not a string", `return {status = "Healthy", message = {}}`, Options{}, "message of type table"},
		{"deadline", `while true do end`, Options{Timeout: 50 * time.Millisecond}, "ran longer than 50ms"},
		{"deep recursion", `local function f(n) return f(n + 1) + 1 end return f(1)`, Options{}, "test.lua: lua callstack overflow"},
		{"os", `os.execute("touch /tmp/gyre-lua-escaped")`, Options{}, "attempt to index a non-table object(nil) with key 'execute'"},
		{"io", `io.open("/etc/passwd")`, Options{}, "attempt to index a non-table object(nil) with key 'open'"},
		{"require", `local os = require("os")`, Options{}, "attempt to call a non-function object"},
		{"load", `load("return 1")()`, Options{}, "attempt to call a non-function object"},
		{"loadstring", `loadstring("return 1")()`, Options{}, "attempt to call a non-function object"},
		{"dofile", `dofile("/etc/passwd")`, Options{}, "attempt to call a non-function object"},
		{"package", `package.loaded.os.exit(1)`, Options{}, "attempt to index a non-table object(nil) with key 'loaded'"},
		{"debug", `debug.getregistry()`, Options{}, "attempt to index a non-table object(nil) with key 'getregistry'"},
		{"coroutine", `coroutine.create(function() end)`, Options{}, "attempt to index a non-table object(nil) with key 'create'"},
		{"string.dump", `string.dump(function() end)`, Options{}, "attempt to call a non-function object"},
		{"string.rep bomb", `local s = string.rep("x", 1e9) return {status = "Healthy"}`, Options{}, "string.rep: the result would be longer than 1048576 bytes"},
		{"string.rep bomb as a method", `local s = ("xy"):rep(1e9) return {status = "Healthy"}`, Options{}, "string.rep: the result would be longer"},
		{"string.format width bomb", `local s = string.format("%999999999d", 1) return {status = "Healthy"}`, Options{}, "string.format: invalid format (width too long)"},
		{"string.format * width", `local s = string.format("%*d", 1e9, 1) return {status = "Healthy"}`, Options{}, "string.format: invalid format (* width)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := check(t, tc.src, tc.opts)
			if got.Status != app.HealthUnknown || !strings.Contains(got.Message, tc.message) {
				t.Fatalf("got %+v, want Unknown with a message containing %q", got, tc.message)
			}
		})
	}
}

func TestStringLibraryWithinBounds(t *testing.T) {
	got := check(t, `return {status = "Healthy", message = string.rep("ab", 3) .. string.format("|%5.2f|%-3s|%%", 1.5, "x")}`, Options{})
	if want := (app.HealthState{Status: app.Healthy, Message: "ababab| 1.50|x  |%"}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// TestChecksDoNotShareState: each check runs in a fresh state, so what one
// run leaves in globals or library tables is gone in the next.
func TestChecksDoNotShareState(t *testing.T) {
	sc, err := Compile("test.lua", `
		if seen then return {status = "Degraded", message = "saw the last run's global"} end
		if string.upper("a") ~= "A" then return {status = "Degraded", message = "saw the last run's string.upper"} end
		seen = true
		string.upper = function() return "x" end
		return {status = "Healthy"}`)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got := sc.Check(widget(), Options{}); got.Status != app.Healthy {
			t.Fatalf("got %+v", got)
		}
	}
}

func TestCompileError(t *testing.T) {
	for src, want := range map[string]string{
		"return {status = ":            "at the end: syntax error",
		"if x then\n  return 1 2\nend": `line 2 column 12 near "2": syntax error`,
	} {
		if _, err := Compile("test.lua", src); err == nil || err.Error() != want {
			t.Errorf("Compile(%q) = %v, want %q", src, err, want)
		}
	}
}

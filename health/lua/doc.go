// Package lua runs custom health checks written in Lua, in the format Argo
// CD uses, so that the checks people already have for their custom
// resources work in gyre unchanged.
//
// A script sees the live object as the global obj (a Lua table converted
// from the unstructured object: maps become tables, lists 1-based arrays)
// and returns a table {status = "Healthy", message = "…"}, status being one
// of Healthy, Progressing, Degraded, Suspended, Missing or Unknown. A
// script that fails in any way (a Lua error, no table, an unknown status,
// running past its deadline) makes the object Unknown with the reason as
// its message; it never stops the caller.
//
// Scripts run in a sandbox: only the base, string, table and math
// libraries, without the functions that reach files or load code (dofile,
// loadfile, load, loadstring, require, module, print, collectgarbage,
// getfenv, setfenv, newproxy, string.dump); no os, io, package, debug,
// coroutine or channel library. Each check runs in a fresh Lua state with a
// deadline (Options.Timeout), a bounded call depth and data stack, a
// string.rep that refuses to build strings longer than
// Options.MaxStringBytes and a string.format that, like Lua's own, refuses
// widths and precisions above 99. What the sandbox does not bound is memory
// a script builds in other ways within its deadline (doubling a string with
// .. in a loop, say): scripts come from gyre's own ConfigMaps and the
// agent's disk, written by people who can already change gyre, so the
// sandbox guards against mistakes and against escaping to the host, not
// against an administrator set on exhausting the agent's memory. Scripts
// are compiled once, when loaded.
//
// Scripts come from Argo CD's two places: ConfigMap data (FromConfigMap),
// with keys resource.customizations.health.<group>_<kind> (<kind> alone
// for the core group) and the older resource.customizations key holding
// YAML of "<group>/<kind>: {health.lua: …}"; and a directory laid out like
// Argo CD's resource_customizations (FromDir):
// <group>/<kind>/health.lua, <kind>/health.lua for the core group. As in
// Argo CD, wildcards are written * in the resource.customizations YAML
// ("*.crossplane.io/*") and _ in directory names (_.crossplane.io/_); the
// resource.customizations.health.* keys cannot hold them, since a
// ConfigMap key may not contain *. NewSet layers the sources into one Set,
// a health.Custom: an exact group and kind always beats a wildcard, a later
// layer beats an earlier one for the same pattern, and among wildcards the
// later layer's, then the first in its source's order, wins.
//
// RunTests runs the tests Argo CD keeps next to its scripts
// (<group>/<kind>/health_test.yaml naming input objects and the health
// each must get), for `gyre health test`.
package lua

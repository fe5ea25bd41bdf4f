// Package cel runs custom health checks written as CEL expressions in the
// shape of Flux's healthCheckExprs, so that the expressions people keep
// for Flux's kustomize-controller (and its community cheat sheet) work in
// gyre unchanged.
//
// An entry names a kind by apiVersion and kind and gives up to three
// boolean expressions: current (required), inProgress and failed. Only the
// group of apiVersion counts, as in Flux: an entry for
// example.com/v1 Widget judges Widgets of every version. An expression
// sees the object as Flux shows it, each top-level field a variable
// (status.conditions, metadata.generation, spec.replicas), and, as in
// Kubernetes' own CEL rules, the whole object as self
// (self.status.conditions). Expressions are parsed, not type-checked, as
// in Flux: a field the object lacks is an error when the expression runs
// (use has(status.x) or status.?x.orValue(…)), and a top-level field the
// object lacks is an error even inside has() or ?, so test
// has(self.status) for that. The environment is Flux's: CEL's standard
// library, optional types, and cel-go's strings, sets and encoders
// extensions.
//
// Check follows Flux's order. An object whose status.observedGeneration
// differs from its metadata.generation is Progressing; else inProgress,
// failed and current are tried in that order, and the first that is true
// decides: Progressing, Degraded, Healthy. When none is true the object is
// Progressing, as Flux keeps waiting on it (it does not fall back to the
// built-in rules: the kind's entry is the whole truth about it). An
// expression that fails as it runs, or returns something other than a
// bool, makes the object Unknown with the error, the field and the
// expression as the message. The message of a decided object is its Ready
// condition's message (or reason) when it has one, else the field and the
// expression that decided.
//
// Each evaluation is bounded: cel-go tracks its cost and stops it past
// Options.CostLimit, and a comprehension looks at a deadline
// (Options.Timeout) every hundred iterations; either makes the object
// Unknown. Expressions are compiled once, when loaded (Load, Compile); an
// entry that does not parse or compile is reported with its index, kind
// and field, and the others still apply.
//
// gyre reads the list from the key healthCheckExprs of the ConfigMap
// gyre-cm, next to the Lua checks, and `gyre health check` from a file
// (--health-exprs). A kind with an entry here is judged by it whatever Lua
// script also names that kind: the wiring in cmd/gyre tries this Set
// before the Lua one.
package cel

// Command gyre is the one gyre binary: `gyre up` runs an embedded Kubernetes
// control plane with gyre on it, `gyre version` prints what it was built
// from. Each command builds its own clients and hands them to the packages
// that do the work; nothing else in gyre wires things together.
package main

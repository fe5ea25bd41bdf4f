// Package render turns what a git commit declares into Kubernetes objects:
// a file tree (an fs.FS rooted at the repository root, as the source package
// hands it over), a path inside it and Options go in; objects come out, each
// with the Origin that declared it. Render is pure. It reads the fs.FS and
// nothing else: no disk, no network, no cluster, no helm or kustomize binary.
// The same input always gives the same objects in the same order, which is
// what lets Cache key results by (commit SHA, path, options hash) and lets
// an unchanged application cost no render at all.
//
// Three source types are understood, detected from the files at the path
// unless Options.Type says otherwise: a Helm chart (Chart.yaml), a
// kustomization (kustomization.yaml, kustomization.yml or Kustomization),
// or a Directory of plain YAML and JSON manifests. Directory reads .yaml,
// .yml and .json files (optionally recursing, filtered by include and
// exclude globs), splits multi-document files, skips empty documents and
// expands List kinds; a file that does not hold Kubernetes objects is an
// error naming the file and line, never a silent skip. Kustomize runs the
// kustomize library in-process on an in-memory copy of the kustomizations'
// directories, with plugins off and remote bases refused before the build
// starts; the Application's overrides (images, namePrefix, nameSuffix,
// namespace, commonLabels) are written into that copy of the target
// kustomization, as `kustomize edit` would. Helm renders a chart with the
// Helm library as `helm template` would: vendored (charts/) and local
// (file://) dependencies, values in Helm's precedence, .Capabilities from
// Options, CRDs first, hooks kept with their annotations for the sync stage,
// test hooks dropped. Objects keep the namespace their source gives them,
// none if none: the sync stage places namespaced kinds in the destination.
//
// Objects carry nothing render added: kustomize's origin annotations, which
// render turns on to fill Origin, are removed again unless the kustomization
// asked for them itself. Origin lives beside the object, in Object.
//
// Every failure is an *Error naming the source path and, where one is at
// fault, the file (for Helm, the template name) and line; causes a caller may
// branch on (ErrNotFound, ErrUnknownType, ErrRemoteDisabled, ErrNotObject)
// are wrapped and found with errors.Is. Panics in a template engine or
// below are recovered into errors.
//
// Render runs template engines, and Go's text/template can be neither
// interrupted nor limited in memory: a chart that ranges over `until
// 2000000000` allocates until the kernel kills the process. So gyre renders
// through a Sandbox, which runs Render in child processes, render workers,
// that it can kill. A worker is the same program started again with
// GYRE_RENDER_WORKER in its environment; ServeIfWorker, which main calls
// first, makes it serve. It reads nothing from disk: its parent answers its
// open, stat, readdir and read calls from the fs.FS over a pipe (serving no
// more file content than the memory budget), so Render's code runs
// unchanged on a remote fs.FS; results come back serialised, and errors.Is
// still finds the sentinels in errors. A worker's walls: an empty
// environment (PATH too: no program can be found), a hard address-space
// limit and a watchdog on the Go runtime's memory, both sized to the
// budget; no core dumps or file writes; first pick of the OOM killer and a
// lower CPU priority; and where the system allows, a user and network
// namespace of its own (no network) and Landlock, which denies it all file
// access, TCP, abstract unix sockets and signals to other processes (in a
// program built without cgo, as gyre's image is). Walls it could not raise
// are logged once. A render that passes its deadline or memory budget, or
// whose worker crashes, fails with an *Error that says which; the worker is
// killed and the next render gets a fresh one. Renders of different
// applications run in parallel in a pool of workers. Workers exit when the
// Sandbox closes and when the parent dies (their pipe closes, and the
// kernel kills them). A Cache renders through a Sandbox when it has one;
// gyre always gives it one, pure tests render in-process.
//
// Two things about the libraries shape the code. The kustomize library keeps
// its OpenAPI schema process-wide, and a kustomization's openapi field
// replaces it for a build and leaves it behind: render serialises kustomize
// builds under one process-wide lock and resets the schema after a build
// that changed it, so that builds neither race nor depend on what was built
// before. And Helm's engine and chartutil packages import k8s.io/client-go
// (for the lookup function and CRD parsing), so it is in render's import
// graph; render never creates a client, lookup finds nothing, and a test
// fails if client-go is reached by any other way.
package render

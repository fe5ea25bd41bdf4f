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
// kustomize library in-process on an in-memory copy of exactly the files
// the kustomizations refer to, every reference checked before the build
// starts (see below); the Application's overrides (images, namePrefix,
// nameSuffix, namespace, commonLabels, commonAnnotations) are written into that copy of the
// target kustomization, as `kustomize edit` would. A kustomization's
// helmCharts are inflated by render, never by kustomize (which would run
// the helm program): each chart renders with the Helm rendering below, its
// values combined as kustomize combines them (valuesFile, valuesInline by
// valuesMerge, additionalValuesFiles), and its objects join the in-memory
// copy as a Component that the kustomization's copy lists first, so they
// come where kustomize --enable-helm puts them (after the resources and the
// other generators' objects) and its transformers apply to them alike; they
// are marked as kustomize marks inflated objects, so its namespace
// transformer leaves them in the namespace the chart gives them, and the
// release namespace is the entry's, else the kustomization's, else the
// nearest one's above it. CRDs are left out unless includeCRDs, hooks kept
// unless skipHooks, test hooks dropped; a field render cannot honour
// (nameTemplate, debug, devel, helmGlobals.configHome) is refused. A chart
// with no repo is <chartHome>/<name> (chartHome defaults to "charts" beside
// the kustomization, and stays in the repository). Render fetches no chart:
// one from a Helm repository or OCI registry is read where the caller
// mounted it (Mount under ChartsMount, at ChartMountPath; KustomizeHelmCharts
// lists what to fetch), else from kustomize's local copy under chartHome,
// and is otherwise an error wrapping ErrNotFound. An inflated chart is held
// to the Limits as a Helm source is. Helm renders a chart
// with the Helm library as `helm template` would: vendored (charts/) and
// local (file://) dependencies, values in Helm's precedence checked against
// the charts' values.schema.json, .Capabilities from Options, CRDs first,
// hooks kept with their annotations for the sync stage, test hooks dropped. Objects keep the namespace their source gives them,
// none if none: the sync stage places namespaced kinds in the destination.
//
// Objects carry nothing render added: kustomize's origin annotations, which
// render turns on to fill Origin, are removed again unless the kustomization
// asked for them itself. Origin lives beside the object, in Object.
//
// Every failure is an *Error naming the source path and, where one is at
// fault, the file (for Helm, the template name) and line; causes a caller may
// branch on (ErrNotFound, ErrUnknownType, ErrRemoteDisabled, ErrNotObject,
// ErrBudgetExceeded) are wrapped and found with errors.Is. Panics in a
// template engine or below are recovered into errors.
//
// A repository is hostile input, and render holds it to walls of its own.
// Every renderer reads through one wrapper of the fs.FS, which refuses a
// name whose symbolic links lead out of the tree (even where the fs.FS,
// like os.DirFS, would follow them) and counts what is read against
// Options.Limits: a file over MaxFileBytes is refused by its size before it
// is read, and one render may read MaxReadBytes in all (a chart's archived
// subcharts count decompressed) and make at most MaxObjects objects, of
// MaxOutputBytes in all. Breaking one is an *Error wrapping
// ErrBudgetExceeded that names the limit and the file. Limits are part of the options hash, so a
// result rendered under larger limits is never served to a render held to
// smaller ones. Walks do not follow links to directories (source.Snapshot,
// like os.DirFS, reports them as links), so a link back up the tree, or
// two, cost nothing; a link to a file is read as the file, in a manifest
// directory as in a chart. The YAML and JSON decoders refuse nesting
// deeper than 10,000 levels and documents whose aliases expand
// excessively, so no document can overflow the stack.
//
// A kustomization may refer only by plain relative paths to what is in the
// repository. URLs of any scheme, git addresses in every form kustomize
// knows (and some it does not), queries such as ?ref=, "//" subpaths,
// absolute paths and paths out of the repository are refused before the
// build, with ErrRemoteDisabled or a "leaves the repository" error naming
// the kustomization and the field, because kustomize would download them or
// run git with arguments taken from the repository; so are KRM functions,
// exec and Go plugins (the builtin helm chart inflator among them: it runs
// the helm program), and generator or transformer configs given as a
// directory. The builtin
// generators and transformers a kustomization configures are configured
// once during that scan, with a loader that only checks, so the files they
// load are checked like any reference; only checked files reach the build,
// and a reference back to a directory that refers to it is a cycle, through
// ".." or a link. The kustomize library offers no way to give a build a git
// cloner or an HTTP client of render's own, so the scan is the wall
// in-process; a worker without git on its PATH or a network is the second.
// Kustomize copies YAML aliases out without limit, so each file it will
// parse is measured first, and an alias bomb refused. Helm validates values
// schemas with the library Helm uses, but with a loader that loads nothing:
// a schema that refers to another document (http, https, file, or a
// relative $ref that Helm would read from the disk) is an error naming the
// schema and the reference; the standard drafts' meta-schemas are built in.
// Template functions that would reach out find nothing: lookup (no
// cluster), getHostByName (no DNS), .Files (the chart's own files only).
// What no wall in-process bounds is time, and what a template engine takes
// while it runs: memory, and stack (a template that calls tpl on itself, or
// includes itself through a thousand names, grows the stack until the Go
// runtime kills the process); kustomize's time grows with the square of the
// objects it builds.
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

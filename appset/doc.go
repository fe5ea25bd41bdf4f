// Package appset generates Applications from ApplicationSets
// (applicationsets.gyre.dev), in Argo CD's shape: generators yield
// parameter sets, and each set fills the template into one Application in
// the ApplicationSet's own namespace. It sits beside the reconcile loop:
// it reads ApplicationSets, clusters and repositories and writes
// Applications, and the loop does not know it exists.
//
// # One evaluation
//
// Controller.reconcile reads top to bottom, one file per step:
//
//	generate.go, git.go  Generate: the generators' parameter sets
//	template.go          Render: each set filled into the template
//	plan.go              Plan: desired vs live Applications → steps (pure)
//	apply.go             create/update by server-side apply, delete
//	status.go            conditions and the list of generated Applications
//
// Generators: list (elements, elementsYaml), clusters (a label selector
// over the cluster Secrets of package cluster; an empty selector picks
// every cluster, the in-cluster one included, a non-empty one only
// clusters that have a Secret, as in Argo CD), git directories and files
// (path globs, "**" crossing directories, exclude items; hidden entries
// such as .github are skipped), matrix (two generators; the second may use
// the first's parameters in its own fields) and merge (by mergeKeys,
// dotted paths allowed). Argo CD's other generators, post-selectors,
// templatePatch, strategy and ignoreApplicationDifferences are refused by
// name with an ErrorOccurred condition, never ignored.
//
// Templates are Go templates only (goTemplate: true), executed per string
// field of the template as Argo CD does, with a small deterministic set of
// functions (see Funcs) instead of Sprig. Bounds: 64 KiB per field, 512 KiB
// per Application, MaxApplications per set, no named templates (no
// recursion), no range inside a range and no range over a literal above
// 1000. text/template runs behind recover.
//
// # Ownership and policies
//
// Every generated Application has a controller owner reference to its set
// (blockOwnerDeletion), so deleting the set deletes them by garbage
// collection. A name that an Application the set does not own already has
// (made by hand, or by another set) is reported in ErrorOccurred and never
// written. Policies (syncPolicy.applicationsSync): sync (default: create,
// update, delete), create-only, create-update (never delete), create-delete
// (never update). Generated Applications carry app.ResourcesFinalizer, so
// deleting one deletes what it deployed, unless
// syncPolicy.preserveResourcesOnDeletion is true: then they do not carry it
// (it is removed before a delete), and what they deployed stays. While the
// generators or the template fail, nothing is deleted.
//
// Writes are server-side applies by the field manager "gyre-appset", so a
// label dropped from the template goes, and what others wrote stays;
// HashAnnotation records what was last written.
//
// # When a set is evaluated
//
// On any change of the set; when an Application it owns changes (after
// Options.AppEventDelay, so a burst of status writes is one evaluation) or
// is deleted (at once); when the cluster registry changes; every
// Options.Resync; and when a revision its git generators read moves. Git
// generators read through the reconcile loop's source.Cache, so ref
// listings and fetches are shared, and the revisions they read are
// resolved again every Options.RevisionCheck (see watch.go): a lookup in
// memory while the cache's listing lasts, a new listing once a webhook
// dropped it. A git generator does not check Projects' sourceRepos: the
// Applications it generates are checked when they sync.
//
// Only one replica writes: cmd/gyre runs Work under leader election.
package appset

// Package admit is the one place that decides whether an Application may
// write an object. It is pure: an Application, its Project's rules and, where
// ownership matters, the live object go in; a decision comes out. Apply,
// hooks, prune, CreateNamespace and the finalizer of the sync package all
// ask it before they write, and none decides on its own.
//
// Two kinds of rule are checked. A Project's rules (Argo CD's AppProject
// vocabulary) bound what its Applications may read and touch: sourceRepos,
// destinations (cluster and namespace, for the Application's own destination
// and for every namespaced object a render produces, wherever it says it
// goes), the cluster- and namespace-scoped kind white- and blacklists, and
// sourceNamespaces (from which namespaces Applications may use the
// Project). Patterns are globs where "*" matches any run of characters
// (slashes included) and "?" one; a pattern starting with "!" denies, and a
// deny wins. An empty cluster-resource whitelist allows no cluster-scoped
// kind; an empty namespace-resource whitelist allows every namespaced kind.
//
// Ownership rules hold whatever the Project says: gyre's own CRDs
// (applications.gyre.dev, projects.gyre.dev) are never written or deleted by
// an Application; in gyre's own namespace an Application may write only
// Applications and Projects; a live object labelled as part of gyre's
// installation (app.kubernetes.io/part-of=gyre) is left alone unless this
// Application already tracks it; and an object whose tracking id names
// another Application that exists is never written by this one.
//
// A Violation says which object broke which rule, in words a person can act
// on. The sync package refuses a whole sync when any object of it is refused,
// so nothing of a violating render is written.
package admit

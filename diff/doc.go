// Package diff answers "what would apply change": for each object an
// Application declares, or tracks and no longer declares, it says whether
// the cluster holds it as git says (InSync), would be changed by gyre's
// server-side apply (OutOfSync), lacks it (Missing) or holds it needlessly
// (Extraneous), with a readable unified diff of the YAML.
//
// # Server-side-apply semantics
//
// The exact answer to "what would apply change" is the API server's: a
// server-side dry-run apply of the desired object with field manager "gyre"
// and forced conflicts, compared with the live object. diff asks for it
// through DryRunner, a one-method interface it defines; sync supplies the
// implementation backed by the dynamic client, and tests supply files
// (testdata/<case>/desired.yaml, live.yaml, predicted.yaml). diff holds no
// client and must not import k8s.io/client-go (a test enforces it).
//
// Before comparing, both the predicted and the live object are normalised:
// metadata.managedFields, resourceVersion, generation, uid,
// creationTimestamp and selfLink, the
// kubectl.kubernetes.io/last-applied-configuration annotation (it may carry
// Secret data) and status are dropped, for every kind. deletionTimestamp and
// deletionGracePeriodSeconds stay, as information; they come out the same on
// both sides. Because the prediction comes from the same API server as the
// live object, server defaulting cancels out: a Service's clusterIP,
// clusterIPs, ipFamilies and internalTrafficPolicy, a Deployment's strategy
// and pod-spec defaults, a CRD's conversion strategy appear on both sides.
// Numbers compare by value whatever decoded them (int64 3 equals float64
// 3.0).
//
// # The fast path
//
// A dry run per object per reconcile is a lot of API traffic for objects
// that have not changed, so Compare first tries to prove an object in sync
// locally, and skips the dry run when it can. The proof reads gyre's own
// Apply entry in the live object's metadata.managedFields:
//
//  1. That entry must cover exactly the fields the desired object declares.
//     A field gyre owns but no longer declares would be removed by the
//     apply, a real change; a declared field gyre does not own yet has
//     list or map semantics diff cannot know without the schema.
//  2. The live object must hold every declared value. The entry says how
//     each declared list merges, so no schema is needed: an associative
//     list ("k:{"name":"app"}": containers, env, ports, volumes) is matched
//     item by item on its key fields, and must hold the declared items in
//     the declared relative order; a set list ("v:...") likewise by value;
//     anything the entry owns as a whole (a scalar, an atomic map such as a
//     label selector, an atomic list such as args or RBAC rules) must be
//     exactly equal. Fields and items the desired object does not mention
//     belong to the server's defaulting or to other managers, and are
//     allowed.
//
// Anything uncertain (no or several gyre Apply entries, an entry for another
// apiVersion, a null or a status in the desired object, positional lists,
// an item found twice) falls back to the dry run, which is always right; the
// fast path only saves time and the tests check that it agrees with the dry
// run on every case. A desired object that omits defaulted fields passes (it
// declares less than live holds). A quantity written differently from the
// server's canonical form ("0.5" against live "500m", "1Gi" against
// "1024Mi") fails the equality and goes to the dry run, where the server
// canonicalises it: a correct answer, just not a fast one. Setting
// Options.DisableFastPath turns the fast path off.
//
// # Ignoring differences
//
// An Application's ignoreDifferences rules (app.IgnoreDifference, used as
// they are: diff keeps no copy of the type) select objects by group and kind
// ("" is the core group, "*" any group or kind) and, when set, name and
// namespace, and name what to drop from
// the desired, predicted and live copies before comparing: RFC 6901 JSON
// pointers, jq path expressions (gojq: every path of path(expr) is deleted;
// an expression that does not apply to an object removes nothing) and
// managed-field managers (every field those managers own in the live
// object's managedFields, e.g. an HPA's spec.replicas owned by
// kube-controller-manager). The results carry the copies with the ignored
// fields removed, so the diff shown matches the status. KeepIgnored serves
// the RespectIgnoreDifferences sync option: it gives a desired object the
// live values of the fields the rules ignore, so that applying it leaves
// them as they are.
//
// # Extraneous objects
//
// An extraneous object makes its Application OutOfSync unless it carries the
// compare option IgnoreExtraneous (annotation gyre.dev/compare-options, or
// Argo CD's argocd.argoproj.io/compare-options); its result then says
// Ignored. Either way it stays Extraneous, for prune to decide.
//
// # Secrets
//
// Secret data never leaves the process. Comparison uses the real values;
// every Result then carries copies in which each value of a Secret's data
// and stringData is replaced by a run of "+": equal values of a key get
// equal masks and different values different masks ("++++++++" against
// "+++++++++"), so a diff shows which keys change and nothing about them.
// The last-applied-configuration annotation is dropped with the other
// server-owned fields.
//
// # Errors and concurrency
//
// Compare works on up to Options.Concurrency objects at once and returns
// results in the order of its pairs. A failing dry run (an invalid object,
// a kind the server does not know yet) is that object's Unknown result with
// a message; it does not fail the comparison. Compare itself fails only for
// invalid ignore rules, a pair with neither object, or a cancelled context.
package diff

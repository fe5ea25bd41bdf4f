package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gyre-cd/gyre/admit"
	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	"github.com/gyre-cd/gyre/health"
	"github.com/gyre-cd/gyre/render"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// comparison is what one look at an Application found.
type comparison struct {
	// revision is what the sources resolved to, joined (app.JoinRevisions).
	revision string
	// sources are what was compared, as Spec.SourceList gives them, and
	// revisions each one's revision (empty when resolving failed).
	sources   []app.Source
	revisions []string
	// desired is the rendered objects, placed in the destination namespace
	// and carrying the tracking annotation and label; hooks included.
	desired []*unstructured.Unstructured
	// inventory is the live objects this Application tracks (not hooks).
	inventory []*unstructured.Unstructured
	// live maps every desired or tracked key to its live object, if any.
	live    map[app.ResourceKey]*unstructured.Unstructured
	results []diff.Result
	// dst is the destination cluster; nil when it cannot be used (err).
	dst *target
	// policy is the admission policy of the Application.
	policy admit.Policy
	// violations are the desired objects the policy refuses (by key; the
	// zero key for the Application itself). A sync with any writes nothing.
	violations map[app.ResourceKey]*admit.Violation
	resources  []app.ResourceStatus
	sync       app.SyncStatus
	health     app.HealthState
	images     []string
	srcType    app.SourceType
	// err is why the comparison could not be made (the repository, the
	// revision or the render failed); the other fields are then empty.
	err error
}

// multiRevisions is each source's revision for an Application with several
// sources, nil for one with one (its revision says it all).
func (c *comparison) multiRevisions() []string {
	if len(c.sources) < 2 {
		return nil
	}
	return c.revisions
}

// compare resolves srcs (each at its targetRevision, unless pinned, as a
// rollback pins them; see resolveSources), renders them, pairs the result
// with the live objects, diffs and assesses health.
func (r *Reconciler) compare(ctx context.Context, a *app.Application, srcs []app.Source, pinned string) *comparison {
	cmp := r.newComparison(a, srcs)
	if cmp.err != nil {
		return cmp
	}
	rs, err := r.resolveSources(ctx, srcs, pinned)
	if err != nil {
		cmp.err = err
		return cmp
	}
	cmp.revision = revisionOf(rs)
	for _, s := range rs {
		cmp.revisions = append(cmp.revisions, s.revision)
	}
	res, err := r.renderSources(ctx, a, rs)
	if err != nil {
		cmp.err = err
		return cmp
	}
	cmp.srcType = app.SourceType(res.Type)
	r.compareObjects(ctx, a, cmp, res.Unstructured())
	return cmp
}

// newComparison starts the comparison of a with srcs: it checks a's spec
// and asks its policy about a and each source, setting err on a refusal.
func (r *Reconciler) newComparison(a *app.Application, srcs []app.Source) *comparison {
	cmp := &comparison{sources: srcs, live: map[app.ResourceKey]*unstructured.Unstructured{}}
	if err := a.Validate(); err != nil {
		cmp.policy = r.policy(a, nil)
		cmp.err = err // an *app.SpecError: InvalidSpecError, and no sync
		return cmp
	}
	var err error
	if cmp.dst, err = r.targetFor(a); err != nil {
		cmp.policy = r.policy(a, nil)
		cmp.err = err // a *ClusterError
		return cmp
	}
	cmp.policy = r.policy(a, cmp.dst)
	if v := cmp.policy.Application(); v != nil {
		cmp.err = v
		return cmp
	}
	for _, src := range srcs {
		if v := cmp.policy.Source(src.RepoURL); v != nil {
			cmp.err = v // a rollback's recorded source, say
			return cmp
		}
	}
	return cmp
}

// compareObjects is the half of compare after the render: it places and
// marks objs, pairs them with the live objects, asks the policy about each,
// diffs (dry runs only) and assesses health, recording any failure in
// cmp.err. compare feeds it git's render, DiffObjects a local one.
func (r *Reconciler) compareObjects(ctx context.Context, a *app.Application, cmp *comparison, objs []*unstructured.Unstructured) {
	var err error
	if cmp.desired, err = r.prepare(ctx, cmp.dst, a, objs); err != nil {
		cmp.err = err
		return
	}
	if err := r.pair(ctx, a, cmp); err != nil {
		cmp.err = err
		return
	}
	cmp.admitDesired(cmp.policy)
	if err := r.diffAndAssess(ctx, a, cmp); err != nil {
		cmp.err = err
	}
}

// RenderOptions maps an Application's source options onto render's, as the
// agent renders it; caps describes the cluster to Helm (nil: Helm's defaults).
func RenderOptions(a *app.Application, src app.Source, caps *render.Capabilities) render.Options {
	opts := render.Options{Type: render.Type(src.DeclaredType()), Capabilities: caps}
	if d := src.Directory; d != nil {
		opts.Directory = render.DirectoryOptions{Recurse: d.Recurse, Include: splitGlobs(d.Include), Exclude: splitGlobs(d.Exclude)}
	}
	if k := src.Kustomize; k != nil {
		opts.Kustomize = render.KustomizeOptions{Images: k.Images, NamePrefix: k.NamePrefix, NameSuffix: k.NameSuffix, Namespace: k.Namespace, CommonLabels: k.CommonLabels, CommonAnnotations: k.CommonAnnotations}
	}
	opts.Helm = render.HelmOptions{ReleaseName: a.Name, Namespace: a.Spec.Destination.Namespace}
	if h := src.Helm; h != nil {
		if h.ReleaseName != "" {
			opts.Helm.ReleaseName = h.ReleaseName
		}
		opts.Helm.ValueFiles = h.ValueFiles
		opts.Helm.IgnoreMissingValueFiles = h.IgnoreMissingValueFiles
		opts.Helm.Values = h.Values
		opts.Helm.SkipCRDs = h.SkipCrds
		for _, p := range h.Parameters {
			opts.Helm.Parameters = append(opts.Helm.Parameters, render.Parameter{Name: p.Name, Value: p.Value, ForceString: p.ForceString})
		}
	}
	return opts
}

// splitGlobs turns an Application's glob string ("*.yaml" or "{a.yaml,b/*}")
// into a list.
func splitGlobs(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		s = s[1 : len(s)-1]
	}
	var out []string
	for _, g := range strings.Split(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

// prepare places namespaced objects in the destination namespace and marks
// every object with the tracking annotation and label. A kind the cluster
// does not know (and that no CRD in the same render defines) is an error,
// unless the object or the Application sets SkipDryRunOnMissingResource.
func (r *Reconciler) prepare(ctx context.Context, dst *target, a *app.Application, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	crdScopes := map[schema.GroupKind]bool{} // kinds defined by CRDs in this render → namespaced?
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" && o.GroupVersionKind().Group == "apiextensions.k8s.io" {
			group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
			scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
			crdScopes[schema.GroupKind{Group: group, Kind: kind}] = scope != "Cluster"
		}
	}
	var gvks []schema.GroupVersionKind
	seen := map[schema.GroupVersionKind]bool{}
	var errs []string
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		namespaced, err := dst.namespaced(gvk)
		if err != nil {
			switch ns, ok := crdScopes[gvk.GroupKind()]; {
			case ok:
				namespaced = ns
			case a.SyncOptionTrue(app.OptionSkipDryRunOnMissingResource) || syncOptionsOf(o.GetAnnotations()).True(app.OptionSkipDryRunOnMissingResource):
				// Its CRD is to come from elsewhere before its wave is
				// applied; until then it is taken to be namespaced, as Argo
				// CD takes an unknown kind.
				namespaced = true
			default:
				errs = append(errs, fmt.Sprintf("%s: %v (if its CustomResourceDefinition is installed by something else during the sync, set SkipDryRunOnMissingResource=true)", app.KeyOf(o), err))
				continue
			}
		} else if !seen[gvk] {
			seen[gvk] = true
			gvks = append(gvks, gvk)
		}
		if namespaced && o.GetNamespace() == "" {
			o.SetNamespace(a.Spec.Destination.Namespace)
		}
		if !namespaced {
			o.SetNamespace("")
		}
		if namespaced && len(dst.namespaces) > 0 && !slices.Contains(dst.namespaces, o.GetNamespace()) {
			errs = append(errs, fmt.Sprintf("%s: namespace %q is not one gyre manages on cluster %s (%s)", app.KeyOf(o), o.GetNamespace(), dst.name, strings.Join(dst.namespaces, ", ")))
			continue
		}
		if !namespaced && !dst.clusterScoped {
			errs = append(errs, fmt.Sprintf("%s: cluster %s allows gyre only namespaced objects (its Secret lists namespaces and not clusterResources=true)", app.KeyOf(o), dst.name))
			continue
		}
		mark(a, o)
	}
	if len(errs) > 0 {
		return nil, errors.New(app.JoinMessages(errs, "; ", app.MaxMessageLength))
	}
	if err := r.watch(ctx, dst, a.Spec.Destination.Namespace, gvks...); err != nil {
		return nil, err
	}
	return objs, nil
}

// mark sets the tracking annotation and label that tie obj to a.
func mark(a *app.Application, obj *unstructured.Unstructured) {
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[app.TrackingAnnotation] = a.TrackingID(app.KeyOf(obj))
	obj.SetAnnotations(ann)
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[app.AppLabel] = a.AppLabelValue()
	obj.SetLabels(labels)
}

// pair finds the live object of every desired object and the Application's
// inventory. Objects not in the live cache (never applied by gyre, or made by
// hand) are read from the API server, unless their namespace does not
// exist: a new Application's objects cost one read of their namespace
// rather than one read each.
func (r *Reconciler) pair(ctx context.Context, a *app.Application, cmp *comparison) error {
	for _, o := range cmp.dst.live.Managed(a.Namespace, a.Name) {
		if isHook(o) {
			continue
		}
		cmp.inventory = append(cmp.inventory, o)
		cmp.live[app.KeyOf(o)] = o
	}
	var misses []*unstructured.Unstructured
	perNamespace := map[string]int{}
	for _, o := range cmp.desired {
		k := app.KeyOf(o)
		if _, ok := cmp.live[k]; ok || isHook(o) || o.GetName() == "" {
			continue
		}
		if liveObj, ok := cmp.dst.live.Get(k); ok {
			cmp.live[k] = liveObj
			continue
		}
		misses = append(misses, o)
		if o.GetNamespace() != "" {
			perNamespace[o.GetNamespace()]++
		}
	}
	absent := map[string]bool{}
	for ns, n := range perNamespace {
		if n < 2 {
			continue // reading the namespace would save nothing
		}
		_, err := cmp.dst.dyn.Resource(namespaces).Get(ctx, ns, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			absent[ns] = true
		case err != nil:
			return err
		}
	}
	for _, o := range misses {
		if absent[o.GetNamespace()] {
			continue
		}
		liveObj, err := cmp.dst.get(ctx, o)
		if err != nil {
			return err
		}
		if liveObj != nil {
			cmp.live[app.KeyOf(o)] = liveObj
		}
	}
	return nil
}

// exists reports whether the Application "namespace/name" is watched. An
// object whose tracking id names an Application that is gone (deleted
// without the finalizer) is free for another to adopt.
func (r *Reconciler) exists(app string) bool {
	ns, name, _ := strings.Cut(app, "/")
	_, ok := r.Application(types.NamespacedName{Namespace: ns, Name: name})
	return ok
}

// trackedBy returns "namespace/name" of the Application obj's tracking id
// names, or "" when it carries none.
func trackedBy(obj *unstructured.Unstructured) string {
	ns, name, _, ok := app.ParseTrackingID(obj.GetAnnotations()[app.TrackingAnnotation])
	if !ok {
		return ""
	}
	return ns + "/" + name
}

// get reads obj's live counterpart from t's API server; nil when it does
// not exist.
func (t *target) get(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ri, err := t.resourceFor(obj)
	if meta.IsNoMatchError(err) {
		return nil, nil // its CRD comes with this sync
	}
	if err != nil {
		return nil, err
	}
	live, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return live, err
}

func isHook(obj *unstructured.Unstructured) bool {
	p, err := PolicyOf(obj)
	return err == nil && (p.Hook || p.Skip)
}

// diffAndAssess compares desired with live and assesses health.
func (r *Reconciler) diffAndAssess(ctx context.Context, a *app.Application, cmp *comparison) error {
	var pairs []diff.Pair
	declared := map[app.ResourceKey]bool{}
	for _, o := range cmp.desired {
		k := app.KeyOf(o)
		if isHook(o) {
			continue
		}
		declared[k] = true
		if _, refused := cmp.violations[k]; refused {
			continue
		}
		pairs = append(pairs, diff.Pair{Desired: o, Live: cmp.live[k]})
	}
	for _, o := range cmp.inventory {
		if !declared[app.KeyOf(o)] {
			pairs = append(pairs, diff.Pair{Live: o})
		}
	}
	results, err := diff.Compare(ctx, r.dry.runner(r, cmp.dst), pairs, diff.Options{FieldManager: r.opts.FieldManager, Ignore: a.Spec.IgnoreDifferences})
	if err != nil {
		return err
	}
	cmp.results = results

	cmp.sync = app.Synced
	var healths []health.Result
	images := map[string]bool{}
	for i, res := range results {
		obj := pairs[i].Desired
		if obj == nil {
			obj = pairs[i].Live
		}
		rs := app.ResourceStatus{
			Group: res.Key.Group, Version: obj.GroupVersionKind().Version, Kind: res.Key.Kind,
			Namespace: res.Key.Namespace, Name: res.Key.Name, Status: res.SyncStatus(),
		}
		switch {
		case res.Status == diff.Extraneous:
			rs.RequiresPruning = true
			if !res.Ignored && !cmp.going(res.Key) {
				cmp.sync = app.OutOfSync
			}
		case res.Status == diff.Missing:
			cmp.sync = app.OutOfSync
			rs.Health = &app.HealthState{Status: app.Missing}
			healths = append(healths, health.Result{Key: res.Key, Health: *rs.Health})
		default:
			if rs.Status == app.OutOfSync {
				cmp.sync = app.OutOfSync
			} else if rs.Status == app.SyncUnknown && cmp.sync == app.Synced {
				cmp.sync = app.SyncUnknown
			}
			if live := cmp.live[res.Key]; live != nil {
				if h, ok := r.opts.Health.Check(live); ok {
					rs.Health = &h
					healths = append(healths, health.Result{Key: res.Key, Health: h})
				}
				for _, img := range imagesOf(live) {
					images[img] = true
				}
			}
		}
		cmp.resources = append(cmp.resources, rs)
	}
	for k, v := range cmp.violations {
		cmp.sync = app.OutOfSync // nothing of this render may be written
		if k == (app.ResourceKey{}) {
			continue
		}
		rs := app.ResourceStatus{Group: k.Group, Kind: k.Kind, Namespace: k.Namespace, Name: k.Name, Status: app.OutOfSync, Message: v.Error()}
		if o := cmp.desiredObject(k); o != nil {
			rs.Version = o.GroupVersionKind().Version
			rs.Hook = isHook(o)
		}
		cmp.resources = append(cmp.resources, rs)
	}
	sort.SliceStable(cmp.resources, func(i, j int) bool { return cmp.resources[i].Key().String() < cmp.resources[j].Key().String() })
	cmp.health = health.Aggregate(healths...)
	for img := range images {
		cmp.images = append(cmp.images, img)
	}
	sort.Strings(cmp.images)
	return nil
}

// imagesOf lists the container images of a workload or pod.
func imagesOf(obj *unstructured.Unstructured) []string {
	paths := [][]string{{"spec", "template", "spec"}, {"spec", "jobTemplate", "spec", "template", "spec"}, {"spec"}}
	for _, p := range paths {
		spec, ok, _ := unstructured.NestedMap(obj.Object, p...)
		if !ok {
			continue
		}
		var out []string
		for _, field := range []string{"initContainers", "containers"} {
			cs, _, _ := unstructured.NestedSlice(spec, field)
			for _, c := range cs {
				if m, ok := c.(map[string]any); ok {
					if img, ok := m["image"].(string); ok {
						out = append(out, img)
					}
				}
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// desiredObject returns the desired object with key k, or nil.
func (cmp *comparison) desiredObject(k app.ResourceKey) *unstructured.Unstructured {
	for _, o := range cmp.desired {
		if app.KeyOf(o) == k {
			return o
		}
	}
	return nil
}

// going reports whether the live object of k is being deleted: a prune
// already under way (a foreground deletion waits for its dependents), which
// neither makes the Application OutOfSync nor needs another sync.
func (cmp *comparison) going(k app.ResourceKey) bool {
	live := cmp.live[k]
	return live != nil && live.GetDeletionTimestamp() != nil
}

// syncable reports whether an automated sync would change anything: an
// object is missing or differs, or an extraneous one may be pruned.
func (cmp *comparison) syncable(prune bool) bool {
	for _, res := range cmp.results {
		switch res.Status {
		case diff.Missing, diff.OutOfSync:
			return true
		case diff.Extraneous:
			if prune && !cmp.going(res.Key) {
				return true
			}
		}
	}
	return false
}

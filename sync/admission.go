package sync

import (
	"context"
	"fmt"
	"sort"

	"github.com/gyre-cd/gyre/admit"
	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
)

// Project returns the Project named name from gyre's own namespace, and
// whether it exists. The value is decoded afresh and may be modified.
func (r *Reconciler) Project(name string) (*app.Project, bool) {
	if r.projects == nil {
		return nil, false
	}
	obj, ok, err := r.projects.GetStore().GetByKey(r.opts.SystemNamespace + "/" + name)
	if err != nil || !ok {
		return nil, false
	}
	p, err := app.ProjectFromUnstructured(obj.(*unstructured.Unstructured))
	if err != nil {
		r.log.Warn("unreadable project", "project", name, "err", err)
		return nil, false
	}
	return p, true
}

// Projects returns every Project in gyre's own namespace, by name.
func (r *Reconciler) Projects() []*app.Project {
	if r.projects == nil {
		return nil
	}
	var out []*app.Project
	for _, obj := range r.projects.GetStore().List() {
		if p, err := app.ProjectFromUnstructured(obj.(*unstructured.Unstructured)); err == nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// projectChanged queues every Application of a Project that was created,
// changed or deleted, so that its rules take effect without a restart.
func (r *Reconciler) projectChanged(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	for _, a := range r.Applications() {
		if a.ProjectName() == m.GetName() {
			r.queue.Add(a.Key())
		}
	}
}

// policy returns the admission policy of a: its Project's rules (the
// implicit default when it names "default" and none exists) and gyre's
// ownership rules.
func (r *Reconciler) policy(a *app.Application, dst *target) admit.Policy {
	proj, ok := r.Project(a.ProjectName())
	if !ok {
		proj = nil
	}
	p := admit.New(a, proj, r.opts.SystemNamespace, r.exists)
	if dst != nil {
		p.Server, p.ClusterName, p.Remote = dst.server, dst.name, !dst.home
	}
	return p
}

// admitDesired asks the policy about every object the render declares,
// hooks included, against its live counterpart where the comparison has
// one, and records each refusal in cmp.
func (cmp *comparison) admitDesired(pol admit.Policy) {
	for _, o := range cmp.desired {
		k := app.KeyOf(o)
		if v := pol.Object(k, o.GetNamespace() != "", cmp.live[k]); v != nil {
			cmp.refuse(v)
		}
	}
}

// refuse records a violation.
func (cmp *comparison) refuse(v *admit.Violation) {
	if cmp.violations == nil {
		cmp.violations = map[app.ResourceKey]*admit.Violation{}
	}
	if _, seen := cmp.violations[v.Key]; !seen {
		cmp.violations[v.Key] = v
	}
}

// violationMessages returns the messages of the violations that break rule
// (ownership) or, with others, of every other rule, sorted.
func (cmp *comparison) violationMessages(owned bool) []string {
	var msgs []string
	for _, v := range cmp.violations {
		if (v.Rule == admit.RuleOwnedByAnotherApp) == owned {
			msgs = append(msgs, v.Error())
		}
	}
	sort.Strings(msgs)
	return msgs
}

// admitHooks reads the live object of every named hook the plan would
// create and asks the policy about it: a hook must not replace an object
// this Application does not own. It returns the first refusal.
func (r *Reconciler) admitHooks(ctx context.Context, dst *target, pol admit.Policy, plan *Plan) error {
	var hooks []Task
	for _, w := range plan.Waves {
		for _, t := range w.Tasks {
			if t.Action == TaskRunHook {
				hooks = append(hooks, t)
			}
		}
	}
	hooks = append(hooks, plan.SyncFail...)
	for _, t := range hooks {
		var live *unstructured.Unstructured
		if t.Desired.GetName() != "" {
			var err error
			if live, err = dst.get(ctx, t.Desired); err != nil {
				return fmt.Errorf("%s: read before running the hook: %w", t.Key, err)
			}
		}
		if v := pol.Object(t.Key, t.Desired.GetNamespace() != "", live); v != nil {
			return v
		}
		if live != nil && live.GetAnnotations()[app.TrackingAnnotation] != t.Desired.GetAnnotations()[app.TrackingAnnotation] {
			return &admit.Violation{Key: t.Key, Rule: admit.RuleOwnedByAnotherApp,
				Message: "an object of this name exists and is not a previous run of this hook; a hook never replaces it"}
		}
	}
	return nil
}

package appset

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// HashAnnotation on a generated Application holds a hash of what the
// ApplicationSet last wrote, so that a changed template is written even
// where only a removed label or annotation tells the difference.
const HashAnnotation = "gyre.dev/appset-hash"

// argoResourcesFinalizer is Argo CD's name of app.ResourcesFinalizer, which
// templates written for Argo CD carry.
const argoResourcesFinalizer = "resources-finalizer.argocd.argoproj.io"

// Action is what the ApplicationSet does to one Application.
type Action string

// The actions of a Plan.
const (
	ActionCreate    Action = "create"
	ActionUpdate    Action = "update"
	ActionDelete    Action = "delete"
	ActionUnchanged Action = "unchanged"
	// ActionKeep is an Application the policy keeps although its
	// parameters are gone, or keeps unchanged although its template
	// changed.
	ActionKeep Action = "keep"
	// ActionConflict is a name the set generates that an Application it
	// does not own already has: reported, never written.
	ActionConflict Action = "conflict"
)

// Step is one Application and what to do to it.
type Step struct {
	Name   string
	Action Action
	// Desired is the generated Application (create, update, unchanged,
	// conflict, keep of a changed one); nil for a delete or keep of one
	// whose parameters are gone.
	Desired *app.Application
	// Live is the Application as it is; nil for a create.
	Live *app.Application
	// Message says why, for conflicts and keeps.
	Message string
}

// Plan decides, without a client, what set does with the Applications it
// generated (desired, in generation order) given the Applications live in
// its namespace. Names generated twice are reported in dups, and only the
// first is kept. Steps are sorted by name.
func Plan(set *ApplicationSet, desired, live []*app.Application) (steps []Step, dups []string) {
	policy := set.Spec.policy()
	byName := make(map[string]*app.Application, len(live))
	for _, a := range live {
		byName[a.Name] = a
	}
	seen := map[string]bool{}
	for _, d := range desired {
		if seen[d.Name] {
			if !slices.Contains(dups, d.Name) {
				dups = append(dups, d.Name)
			}
			continue
		}
		seen[d.Name] = true
		prepare(set, d)
		l := byName[d.Name]
		switch {
		case l == nil:
			steps = append(steps, Step{Name: d.Name, Action: ActionCreate, Desired: d})
		case !ownedBy(l, set):
			steps = append(steps, Step{Name: d.Name, Action: ActionConflict, Desired: d, Live: l, Message: conflictMessage(l)})
		case upToDate(d, l):
			steps = append(steps, Step{Name: d.Name, Action: ActionUnchanged, Desired: d, Live: l})
		case !policy.AllowsUpdate():
			steps = append(steps, Step{Name: d.Name, Action: ActionKeep, Desired: d, Live: l, Message: fmt.Sprintf("the template changed, but policy %s does not update", policy)})
		default:
			steps = append(steps, Step{Name: d.Name, Action: ActionUpdate, Desired: d, Live: l})
		}
	}
	for _, l := range live {
		if seen[l.Name] || !ownedBy(l, set) {
			continue
		}
		if l.DeletionTimestamp != nil {
			continue // going already
		}
		if policy.AllowsDelete() {
			steps = append(steps, Step{Name: l.Name, Action: ActionDelete, Live: l})
		} else {
			steps = append(steps, Step{Name: l.Name, Action: ActionKeep, Live: l, Message: fmt.Sprintf("no longer generated, kept by policy %s", policy)})
		}
	}
	slices.SortFunc(steps, func(a, b Step) int { return cmp.Compare(a.Name, b.Name) })
	slices.Sort(dups)
	return steps, dups
}

// prepare completes a generated Application: the owner reference, the
// finalizer the policy asks for, and HashAnnotation.
func prepare(set *ApplicationSet, d *app.Application) {
	yes := true
	d.OwnerReferences = []metav1.OwnerReference{{
		APIVersion:         app.SchemeGroupVersion().String(),
		Kind:               Kind,
		Name:               set.Name,
		UID:                set.UID,
		Controller:         &yes,
		BlockOwnerDeletion: &yes,
	}}
	if set.Spec.preserve() {
		d.Finalizers = slices.DeleteFunc(slices.Clone(d.Finalizers), isResourcesFinalizer)
	} else if !slices.ContainsFunc(d.Finalizers, isResourcesFinalizer) {
		d.Finalizers = append(d.Finalizers, app.ResourcesFinalizer)
	}
	if len(d.Finalizers) == 0 {
		d.Finalizers = nil
	}
	d.Annotations = maps.Clone(d.Annotations)
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	delete(d.Annotations, HashAnnotation)
	d.Annotations[HashAnnotation] = hashOf(d)
}

// isResourcesFinalizer reports gyre's and Argo CD's resources finalizer.
func isResourcesFinalizer(f string) bool {
	return f == app.ResourcesFinalizer || f == argoResourcesFinalizer
}

// hashOf hashes what the set writes of d.
func hashOf(d *app.Application) string {
	b, _ := json.Marshal(struct {
		Labels, Annotations map[string]string
		Finalizers          []string
		Spec                app.Spec
	}{d.Labels, d.Annotations, d.Finalizers, d.Spec})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// upToDate reports whether live already is what d says: same hash, same
// spec, and every label, annotation and finalizer of d.
func upToDate(d, live *app.Application) bool {
	if live.Annotations[HashAnnotation] != d.Annotations[HashAnnotation] || !hasAll(live.Labels, d.Labels) || !hasAll(live.Annotations, d.Annotations) {
		return false
	}
	for _, f := range d.Finalizers {
		if !slices.Contains(live.Finalizers, f) {
			return false
		}
	}
	a, _ := json.Marshal(d.Spec)
	b, _ := json.Marshal(live.Spec)
	return bytes.Equal(a, b)
}

func hasAll(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// controllerOf returns a's controlling ApplicationSet reference, if any.
func controllerOf(a *app.Application) *metav1.OwnerReference {
	ref := metav1.GetControllerOfNoCopy(a)
	if ref == nil || ref.Kind != Kind || ref.APIVersion != app.SchemeGroupVersion().String() {
		return nil
	}
	return ref
}

// ownedBy reports whether set controls a.
func ownedBy(a *app.Application, set *ApplicationSet) bool {
	ref := controllerOf(a)
	return ref != nil && ref.UID == set.UID
}

// OwnerOf returns the ApplicationSet that controls a, in a's namespace.
func OwnerOf(a *app.Application) (types.NamespacedName, bool) {
	ref := controllerOf(a)
	if ref == nil {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: a.Namespace, Name: ref.Name}, true
}

// conflictMessage says who has the name instead.
func conflictMessage(l *app.Application) string {
	if ref := metav1.GetControllerOfNoCopy(l); ref != nil {
		return fmt.Sprintf("Application %s/%s already exists and belongs to %s %s; not overwritten", l.Namespace, l.Name, ref.Kind, ref.Name)
	}
	return fmt.Sprintf("Application %s/%s already exists and was not generated by this ApplicationSet; not overwritten", l.Namespace, l.Name)
}

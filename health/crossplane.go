package health

import (
	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The reasons and annotation of crossplane-runtime's status contract that
// crossplaneHealth tells apart.
const (
	// crossplaneReconcilePaused is Synced's reason while reconciling is
	// paused.
	crossplaneReconcilePaused = "ReconcilePaused"
	// crossplaneUnavailable is Ready's reason when the external resource
	// exists but cannot be used (its other reasons, Creating and Deleting,
	// are on the way somewhere).
	crossplaneUnavailable = "Unavailable"
	// crossplanePausedAnnotation set to "true" stops Crossplane
	// reconciling the object.
	crossplanePausedAnnotation = "crossplane.io/paused"
)

// crossplaneHealth judges the objects of Crossplane's groups: its own
// (*.crossplane.io: packages, definitions, the community providers' managed
// resources) and Upbound's providers' (*.upbound.io). Composite resources
// and claims have the groups their platform team chose, which say nothing
// reliable; they follow the generic conventions (their Ready condition).
//
//   - the crossplane.io/paused annotation, or Synced with reason
//     ReconcilePaused: Suspended;
//   - a package (Provider, Configuration, Function): crossplanePackageHealth;
//   - a CompositeResourceDefinition: Established True is Healthy, else
//     Progressing;
//   - Synced False (the provider refused the change): Degraded, whatever
//     Ready says, since the resource no longer follows its spec;
//   - Ready True: Healthy; False with reason Unavailable: Degraded; False
//     while Creating or Deleting, Unknown, or not set yet: Progressing;
//   - neither condition (a Composition): the generic conventions.
func crossplaneHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	conds := conditions(obj)
	synced, ready := findCondition(conds, "Synced"), findCondition(conds, "Ready")
	if obj.GetAnnotations()[crossplanePausedAnnotation] == "true" || (synced != nil && synced.Reason == crossplaneReconcilePaused) {
		return suspended("reconciliation is paused"), true
	}
	switch {
	case obj.GroupVersionKind().Group == "pkg.crossplane.io":
		return crossplanePackageHealth(conds)
	case obj.GetKind() == "CompositeResourceDefinition":
		if c := findCondition(conds, "Established"); c != nil && c.Status == "True" {
			return healthy(c.Message), true
		}
		return progressing("waiting for the definition to be established"), true
	case synced == nil && ready == nil:
		return genericHealth(obj)
	case synced != nil && synced.Status == "False":
		return degraded(join("Synced is False", synced.text())), true
	case ready == nil:
		return progressing("waiting for the resource to become ready"), true
	case ready.ObservedGeneration != 0 && ready.ObservedGeneration < generation(obj):
		return notObserved(generation(obj), ready.ObservedGeneration), true
	case ready.Status == "True":
		return healthy(ready.Message), true
	case ready.Status == "False" && ready.Reason == crossplaneUnavailable:
		return degraded(join("Ready is False", ready.text())), true
	}
	return progressing(join("Ready is "+firstNonEmpty(ready.Status, "Unknown"), firstNonEmpty(joinReason(ready), ready.text()))), true
}

// crossplanePackageHealth judges a Crossplane package (Provider,
// Configuration, Function) by its Installed and Healthy conditions: both
// True is Healthy; Healthy False (the package's controller is failing) is
// Degraded; anything else is an installation still under way.
func crossplanePackageHealth(conds []condition) (app.HealthState, bool) {
	installed, packageHealthy := findCondition(conds, "Installed"), findCondition(conds, "Healthy")
	switch {
	case packageHealthy != nil && packageHealthy.Status == "False":
		return degraded(join("package is unhealthy", packageHealthy.text())), true
	case installed == nil || installed.Status != "True":
		msg := "waiting for the package to be installed"
		if installed != nil {
			msg = join(msg, installed.text())
		}
		return progressing(msg), true
	case packageHealthy == nil || packageHealthy.Status != "True":
		msg := "waiting for the package to become healthy"
		if packageHealthy != nil {
			msg = join(msg, packageHealthy.text())
		}
		return progressing(msg), true
	}
	return healthy(packageHealthy.Message), true
}

// compositeOrGeneric judges a kind no built-in rule names: a Crossplane
// composite resource or claim by crossplaneHealth, anything else by the
// generic conventions. Composites and claims belong to their authors'
// groups, so they are told by their spec instead (see isCrossplaneComposite).
func compositeOrGeneric(obj *unstructured.Unstructured) (app.HealthState, bool) {
	if isCrossplaneComposite(obj) {
		return crossplaneHealth(obj)
	}
	return genericHealth(obj)
}

// crossplaneCompositeFields are the spec fields Crossplane adds to every
// composite resource (v1: compositionRef, compositionSelector,
// compositionRevisionRef, resourceRefs; v2: all under spec.crossplane) and
// claim (resourceRef, the composite it binds).
var crossplaneCompositeFields = [][]string{
	{"spec", "compositionRef"}, {"spec", "compositionSelector"}, {"spec", "compositionRevisionRef"},
	{"spec", "resourceRefs"}, {"spec", "resourceRef"}, {"spec", "crossplane"},
}

// isCrossplaneComposite reports whether obj is a Crossplane composite
// resource or claim: one of crossplaneCompositeFields beside the Synced
// condition Crossplane sets on both. Another project's kind with such a
// field but no Synced condition keeps the generic conventions.
func isCrossplaneComposite(obj *unstructured.Unstructured) bool {
	if findCondition(conditions(obj), "Synced") == nil {
		return false
	}
	for _, path := range crossplaneCompositeFields {
		if _, found, _ := unstructured.NestedFieldNoCopy(obj.Object, path...); found {
			return true
		}
	}
	return false
}

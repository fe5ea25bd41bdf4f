package health

import (
	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// fluxHealth judges Flux's objects (Kustomization, HelmRelease and the
// sources: GitRepository, OCIRepository, HelmChart, Bucket) by the status
// contract all Flux controllers share, which is kstatus': spec.suspend set
// is Suspended; status.observedGeneration behind metadata.generation is
// Progressing; Stalled True (retries exhausted, an invalid spec) is
// Degraded; Reconciling True is Progressing; then the Ready condition
// decides, and an object the controller has not reconciled yet is
// Progressing.
func fluxHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	if suspend, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend"); suspend {
		return suspended("reconciliation is suspended"), true
	}
	return readyOrWaiting(obj, "waiting for the controller to reconcile")
}

// helmRepositoryHealth is fluxHealth for a HelmRepository, except that one
// of type oci is only a pointer to a registry that source-controller does
// not reconcile: without a Ready condition it is Healthy.
func helmRepositoryHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	repoType, _, _ := unstructured.NestedString(obj.Object, "spec", "type")
	if suspend, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend"); !suspend && repoType == "oci" && findCondition(conditions(obj), "Ready") == nil {
		return healthy("OCI Helm repositories are not reconciled"), true
	}
	return fluxHealth(obj)
}

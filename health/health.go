package health

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Check returns the health of one live object. ok is false when the kind has
// no notion of health (a ConfigMap, a Role, a custom resource without Ready
// or Available conditions); such objects are not counted in an
// Application's health.
func Check(obj *unstructured.Unstructured) (state app.HealthState, ok bool) {
	gk := obj.GroupVersionKind().GroupKind()
	if obj.GetDeletionTimestamp() != nil && gk != (schema.GroupKind{Kind: "Namespace"}) {
		return progressing("pending deletion"), true
	}
	return ruleFor(gk)(obj)
}

// rule computes the health of one kind of object.
type rule func(obj *unstructured.Unstructured) (app.HealthState, bool)

// ruleFor returns the rule for a group and kind, the generic conventions
// when the kind has no rule of its own.
func ruleFor(gk schema.GroupKind) rule {
	switch gk {
	case schema.GroupKind{Group: "apps", Kind: "Deployment"}, schema.GroupKind{Group: "extensions", Kind: "Deployment"}:
		return deploymentHealth
	case schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, schema.GroupKind{Group: "extensions", Kind: "ReplicaSet"}:
		return replicaSetHealth
	case schema.GroupKind{Group: "apps", Kind: "StatefulSet"}:
		return statefulSetHealth
	case schema.GroupKind{Group: "apps", Kind: "DaemonSet"}, schema.GroupKind{Group: "extensions", Kind: "DaemonSet"}:
		return daemonSetHealth
	case schema.GroupKind{Kind: "Pod"}:
		return podHealth
	case schema.GroupKind{Group: "batch", Kind: "Job"}:
		return jobHealth
	case schema.GroupKind{Group: "batch", Kind: "CronJob"}:
		return cronJobHealth
	case schema.GroupKind{Kind: "Service"}:
		return serviceHealth
	case schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}, schema.GroupKind{Group: "extensions", Kind: "Ingress"}:
		return ingressHealth
	case schema.GroupKind{Kind: "PersistentVolumeClaim"}:
		return pvcHealth
	case schema.GroupKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}:
		return hpaHealth
	case schema.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}:
		return pdbHealth
	case schema.GroupKind{Group: "apiregistration.k8s.io", Kind: "APIService"}:
		return apiServiceHealth
	case schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:
		return crdHealth
	case schema.GroupKind{Kind: "Namespace"}:
		return namespaceHealth
	case app.GroupVersionKind().GroupKind():
		return applicationHealth
	}
	if r := thirdPartyRule(gk); r != nil {
		return r
	}
	return compositeOrGeneric
}

// fromUnstructured converts obj into the typed API struct T, so rules can
// read the well-known kinds with the compiler's help.
func fromUnstructured[T any](obj *unstructured.Unstructured) (*T, error) {
	var out T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// unreadable is the health of an object whose fields do not have the types
// its kind requires.
func unreadable(err error) (app.HealthState, bool) {
	return app.HealthState{Status: app.HealthUnknown, Message: fmt.Sprintf("cannot read the object: %v", err)}, true
}

func healthy(msg string) app.HealthState {
	return app.HealthState{Status: app.Healthy, Message: msg}
}

func progressing(msg string) app.HealthState {
	return app.HealthState{Status: app.Progressing, Message: msg}
}

func degraded(msg string) app.HealthState {
	return app.HealthState{Status: app.Degraded, Message: msg}
}

func suspended(msg string) app.HealthState {
	return app.HealthState{Status: app.Suspended, Message: msg}
}

// notObserved is the Progressing state of an object whose controller has
// not yet seen its latest spec.
func notObserved(generation, observed int64) app.HealthState {
	return progressing(fmt.Sprintf("waiting for rollout to be observed: generation %d, observed %d", generation, observed))
}

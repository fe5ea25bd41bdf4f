package live

import (
	"encoding/json"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// packed is how the managed and descendant watches keep an object: as its
// JSON, with the metadata the store, the indexes and the event handlers
// read beside it.
// Decoded into nested maps, as the watch hands it over, an object takes
// five to ten times the size of its JSON; managed objects are kept whole
// (diff reads their managedFields), so they are most of what the cache
// holds. Reading one decodes it afresh (object), tens of microseconds for
// a Deployment.
type packed struct {
	meta metav1.PartialObjectMetadata
	raw  []byte
}

// GetObjectMeta makes a packed object something meta.Accessor, and so the
// informer's store, can key.
func (p *packed) GetObjectMeta() metav1.Object { return &p.meta }

// object decodes p. The result is the caller's to modify.
func (p *packed) object() (*unstructured.Unstructured, error) {
	var m map[string]any
	// utiljson decodes integers as int64, as the watch does.
	if err := utiljson.Unmarshal(p.raw, &m); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// pack is the transform of the managed watches, and the last step of the
// descendant watches': it keeps an unstructured object as a packed one.
// What the handlers, indexes and the tree read of the metadata is copied:
// apiVersion and kind, name, namespace, uid, resourceVersion, generation,
// labels, creation and deletion timestamps, owner references and the
// tracking annotation (trackedApp). Packing a packed object changes
// nothing.
func pack(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	p := &packed{raw: raw}
	p.meta.APIVersion, p.meta.Kind = u.GetAPIVersion(), u.GetKind()
	p.meta.Name, p.meta.Namespace = u.GetName(), u.GetNamespace()
	p.meta.UID = u.GetUID()
	p.meta.ResourceVersion = u.GetResourceVersion()
	p.meta.Generation = u.GetGeneration()
	p.meta.Labels = u.GetLabels()
	p.meta.CreationTimestamp = u.GetCreationTimestamp()
	p.meta.OwnerReferences = u.GetOwnerReferences()
	p.meta.DeletionTimestamp = u.GetDeletionTimestamp()
	if id, ok := u.GetAnnotations()[app.TrackingAnnotation]; ok {
		p.meta.Annotations = map[string]string{app.TrackingAnnotation: id}
	}
	return p, nil
}

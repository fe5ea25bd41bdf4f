package live

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"io"
	gosync "sync"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// packed is how the managed and descendant watches keep an object: as its
// JSON, deflated, with the metadata the store, the indexes and the event
// handlers read beside it.
// Decoded into nested maps, as the watch hands it over, an object takes
// five to ten times the size of its JSON; managed objects are kept whole
// (diff reads their managedFields), so they are most of what the cache
// holds. Deflating the JSON takes a further 2 to 3 times off a Deployment
// or a ReplicaSet (managedFields and default-filled pod templates repeat
// themselves). Reading one inflates and decodes it afresh (object), tens
// of microseconds for a Deployment, most of them in the decoding.
type packed struct {
	meta metav1.PartialObjectMetadata
	// raw is the object's JSON, deflated when that made it smaller.
	raw      []byte
	deflated bool
}

// GetObjectMeta makes a packed object something meta.Accessor, and so the
// informer's store, can key.
func (p *packed) GetObjectMeta() metav1.Object { return &p.meta }

// object decodes p. The result is the caller's to modify.
func (p *packed) object() (*unstructured.Unstructured, error) {
	raw := p.raw
	if p.deflated {
		buf := buffers.Get().(*bytes.Buffer)
		defer buffers.Put(buf)
		buf.Reset()
		r := inflaters.Get().(io.ReadCloser)
		defer inflaters.Put(r)
		if err := r.(flate.Resetter).Reset(bytes.NewReader(p.raw), nil); err != nil {
			return nil, err
		}
		if _, err := buf.ReadFrom(r); err != nil {
			return nil, err
		}
		raw = buf.Bytes()
	}
	var m map[string]any
	// utiljson decodes integers as int64, as the watch does.
	if err := utiljson.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// Deflating and inflating keep their state (a compressor's is hundreds of
// kilobytes) and scratch buffers between objects.
var (
	deflaters = gosync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.BestSpeed) // the level is valid
		return w
	}}
	inflaters = gosync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}
	buffers   = gosync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// deflate returns raw deflated, in a slice of its own length, or nil when
// that would not be smaller.
func deflate(raw []byte) []byte {
	buf := buffers.Get().(*bytes.Buffer)
	defer buffers.Put(buf)
	buf.Reset()
	w := deflaters.Get().(*flate.Writer)
	defer deflaters.Put(w)
	w.Reset(buf)
	if _, err := w.Write(raw); err != nil || w.Close() != nil || buf.Len() >= len(raw) {
		return nil
	}
	return bytes.Clone(buf.Bytes())
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
	if d := deflate(raw); d != nil {
		p.raw, p.deflated = d, true
	}
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

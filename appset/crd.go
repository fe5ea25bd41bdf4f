package appset

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

//go:embed crd.yaml
var crdYAML []byte

// CRD returns the CustomResourceDefinition manifest of the ApplicationSet
// kind (applicationsets.gyre.dev), as YAML. The Helm chart carries a copy
// (charts/gyre/crds/applicationsets.gyre.dev.yaml). Each call returns a
// fresh copy.
func CRD() []byte { return bytes.Clone(crdYAML) }

// InstallCRD applies the ApplicationSet CRD with server-side apply, as
// fieldManager, and waits until it is established. When gyre may not
// write CRDs but the CRD is there already (installed by the Helm chart),
// it returns nil.
func InstallCRD(ctx context.Context, dyn dynamic.Interface, fieldManager string) error {
	return installManifest(ctx, dyn, crdYAML, fieldManager)
}

// installManifest is InstallCRD of any CRD manifest.
func installManifest(ctx context.Context, dyn dynamic.Interface, manifest []byte, fieldManager string) error {
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(manifest, &obj.Object); err != nil {
		return fmt.Errorf("CRD manifest: %w", err)
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	_, err := crds.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
	if apierrors.IsForbidden(err) {
		if _, getErr := crds.Get(ctx, obj.GetName(), metav1.GetOptions{}); getErr == nil {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("install CRD %s: %w", obj.GetName(), err)
	}
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := crds.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s not established: %w", obj.GetName(), err)
	}
	return nil
}

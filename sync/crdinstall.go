package sync

import (
	"context"

	"k8s.io/client-go/dynamic"
)

// InstallCRD applies a CustomResourceDefinition manifest (YAML) with
// server-side apply, as the Reconciler installs gyre's own at Start, and
// waits until the API server reports it Established. Other parts of gyre
// with CRDs of their own (notify's Notifier) install them with it.
func InstallCRD(ctx context.Context, dyn dynamic.Interface, manifest []byte, fieldManager string) error {
	return installCRD(ctx, dyn, manifest, fieldManager)
}

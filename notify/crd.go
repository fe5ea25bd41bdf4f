package notify

import (
	"bytes"
	_ "embed"
)

//go:embed crd.yaml
var crdYAML []byte

// CRD returns the CustomResourceDefinition manifest of the Notifier kind
// (notifiers.gyre.dev), as YAML. gyre installs it at start; the Helm chart
// carries a copy. Each call returns a fresh copy.
func CRD() []byte {
	return bytes.Clone(crdYAML)
}

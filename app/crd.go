package app

import (
	"bytes"
	_ "embed"
)

//go:generate go run k8s.io/code-generator/cmd/deepcopy-gen@v0.37.2 --go-header-file /dev/null --output-file zz_generated.deepcopy.go .

//go:embed crd.yaml
var crdYAML []byte

//go:embed project-crd.yaml
var projectCRDYAML []byte

// ProjectCRD returns the CustomResourceDefinition manifest of the Project
// kind (projects.gyre.dev), as YAML. Each call returns a fresh copy.
func ProjectCRD() []byte {
	return bytes.Clone(projectCRDYAML)
}

// CRD returns the CustomResourceDefinition manifest of the Application kind
// (applications.gyre.dev), as YAML. `gyre up`, the Helm chart and tests
// install it. Each call returns a fresh copy.
func CRD() []byte {
	return bytes.Clone(crdYAML)
}

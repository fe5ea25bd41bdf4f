package render_test

import (
	"os/exec"
	"strings"
	"testing"
)

// clientGoVia lists the only packages render may reach k8s.io/client-go
// through. Helm's template engine imports client-go for its lookup function
// (render never gives it a client, so lookup finds nothing) and chartutil
// imports client-go's scheme to parse CRDs; every Helm rendering path goes
// through them. Nothing else, and render itself least of all, may import it.
var clientGoVia = map[string]bool{
	"helm.sh/helm/v3/pkg/engine":    true,
	"helm.sh/helm/v3/pkg/chartutil": true,
}

// TestNoClientGo guards render's purity: it fails if render, or any
// dependency other than the two Helm packages above, imports client-go.
func TestNoClientGo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := fields[0]
		if strings.HasPrefix(pkg, "k8s.io/client-go/") || clientGoVia[pkg] {
			continue
		}
		for _, imp := range fields[1:] {
			if imp == "k8s.io/client-go" || strings.HasPrefix(imp, "k8s.io/client-go/") {
				t.Errorf("%s imports %s: render must stay free of Kubernetes clients", pkg, imp)
			}
		}
	}
}

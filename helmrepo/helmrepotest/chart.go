package helmrepotest

import (
	"os"
	"path/filepath"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

// Chart packages a chart named name at version with Helm's own loader and
// packager (what `helm package` does) and returns the .tgz. files are
// chart-relative ("templates/cm.yaml", "values.yaml"); Chart.yaml is
// written from name and version (apiVersion v2) unless files holds one.
func Chart(t testing.TB, name, version string, files map[string]string) []byte {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	all := map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: " + name + "\nversion: " + version + "\ntype: application\n",
	}
	for p, content := range files {
		all[p] = content
	}
	for p, content := range all {
		dst := filepath.Join(src, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := loader.LoadDir(src)
	if err != nil {
		t.Fatalf("load chart %s %s: %v", name, version, err)
	}
	out, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatalf("package chart %s %s: %v", name, version, err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

package lua

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// says returns a script that reports Healthy with msg as its message.
func says(msg string) string { return `return {status = "Healthy", message = "` + msg + `"}` }

// object returns an object of the given apiVersion and kind.
func object(apiVersion, kind string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": "x"}}}
}

// answer is the message s's script for obj reports, "" if s has none.
func answer(t *testing.T, s *Set, obj *unstructured.Unstructured) string {
	t.Helper()
	st, ok := s.Check(obj)
	if !ok {
		return ""
	}
	if st.Status != app.Healthy {
		t.Fatalf("%s: %+v", obj.GetKind(), st)
	}
	return st.Message
}

func TestFromConfigMapKeyForms(t *testing.T) {
	entries, errs := FromConfigMap("gyre-cm", map[string]string{
		"resource.customizations.health.cert-manager.io_Certificate": says("split key"),
		"resource.customizations.health.ConfigMap":                   says("core kind"),
		"resource.customizations": `
cert-manager.io/Certificate:
  health.lua: |
    ` + says("nested, overridden by the split key") + `
cert-manager.io/Issuer:
  health.lua: |
    ` + says("nested") + `
"*.crossplane.io/*":
  health.lua: |
    ` + says("nested wildcard") + `
Secret:
  health.lua: |
    ` + says("nested core kind") + `
apps/Deployment:
  ignoreDifferences: |
    jsonPointers: [/spec/replicas]
`,
		"resource.customizations.ignoreDifferences.apps_Deployment": "jsonPointers: [/spec]",
		"url": "https://example.com",
	})
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	s := NewSet(Options{}, entries)
	for _, tc := range []struct {
		apiVersion, kind, want string
	}{
		{"cert-manager.io/v1", "Certificate", "split key"},
		{"cert-manager.io/v1", "Issuer", "nested"},
		{"v1", "ConfigMap", "core kind"},
		{"v1", "Secret", "nested core kind"},
		{"s3.aws.crossplane.io/v1beta1", "Bucket", "nested wildcard"},
		{"apps/v1", "Deployment", ""},
		{"example.com/v1", "ConfigMap", ""},
	} {
		if got := answer(t, s, object(tc.apiVersion, tc.kind)); got != tc.want {
			t.Errorf("%s %s: got %q, want %q", tc.apiVersion, tc.kind, got, tc.want)
		}
	}
	if s.Len() != 5 {
		t.Errorf("Len = %d, want 5 (4 exact, 1 wildcard)", s.Len())
	}
}

// TestLoadErrorsNameTheScript: a script that does not compile is reported
// with its key or path, and the others still load.
func TestLoadErrorsNameTheScript(t *testing.T) {
	entries, errs := FromConfigMap("argocd-cm", map[string]string{
		"resource.customizations.health.example.com_Widget": "return {status = ",
		"resource.customizations.health.example.com_Gadget": says("gadget"),
		"resource.customizations.health.a_b_c":              says("bad key"),
		"resource.customizations": `
example.com/Gizmo:
  health.lua: "if then"
"[/Broken":
  health.lua: "return {}"
`,
	})
	wantErrs := []string{
		"argocd-cm resource.customizations [/Broken: pattern \"[\": syntax error in pattern",
		"argocd-cm resource.customizations example.com/Gizmo:",
		"argocd-cm resource.customizations.health.a_b_c: the key is not",
		"argocd-cm resource.customizations.health.example.com_Widget:",
	}
	if len(errs) != len(wantErrs) {
		t.Fatalf("errors = %v, want %d", errs, len(wantErrs))
	}
	for i, err := range errs {
		var le *LoadError
		if !errors.As(err, &le) || !strings.HasPrefix(err.Error(), wantErrs[i]) {
			t.Errorf("error %d = %v, want a *LoadError starting %q", i, err, wantErrs[i])
		}
	}
	if got := answer(t, NewSet(Options{}, entries), object("example.com/v1", "Gadget")); got != "gadget" {
		t.Fatalf("the script that compiled did not load: %q", got)
	}
}

func TestFromDir(t *testing.T) {
	entries, errs := FromDir(filepath.Join("testdata", "scripts"))
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Group+"/"+e.Kind+" "+e.Script.Origin())
	}
	want := []string{
		"/ConfigMap " + filepath.Join("testdata", "scripts", "ConfigMap", "health.lua"),
		"*.crossplane.io/* " + filepath.Join("testdata", "scripts", "_.crossplane.io", "_", "health.lua"),
		"cert-manager.io/Certificate " + filepath.Join("testdata", "scripts", "cert-manager.io", "Certificate", "health.lua"),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s := NewSet(Options{}, entries)
	if sc := s.ScriptFor(schema.GroupKind{Group: "ec2.aws.crossplane.io", Kind: "Instance"}); sc == nil || !strings.Contains(sc.Origin(), "_.crossplane.io") {
		t.Fatalf("a crossplane kind is not checked by the _ directory's script: %v", sc)
	}
	if sc := s.ScriptFor(schema.GroupKind{Kind: "Secret"}); sc != nil {
		t.Fatalf("Secret has a script: %s", sc.Origin())
	}
}

func TestFromDirReportsMisplacedAndBrokenScripts(t *testing.T) {
	dir := t.TempDir()
	write := func(p, content string) {
		t.Helper()
		p = filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("health.lua", says("top"))
	write("a/b/c/health.lua", says("deep"))
	write("example.com/Widget/health.lua", "return {")
	write("example.com/Gadget/health.lua", says("gadget"))
	entries, errs := FromDir(dir)
	wantErrs := []string{
		filepath.Join(dir, "a", "b", "c", "health.lua") + ": a script must be in",
		filepath.Join(dir, "example.com", "Widget", "health.lua") + ": ",
		filepath.Join(dir, "health.lua") + ": a script must be in",
	}
	if len(errs) != len(wantErrs) {
		t.Fatalf("errors = %v, want %d", errs, len(wantErrs))
	}
	for i, err := range errs {
		if !strings.HasPrefix(err.Error(), wantErrs[i]) {
			t.Errorf("error %d = %v, want it to start %q", i, err, wantErrs[i])
		}
	}
	if len(entries) != 1 || entries[0].Kind != "Gadget" {
		t.Fatalf("entries = %+v, want Gadget's alone", entries)
	}
	if _, errs := FromDir(filepath.Join(dir, "absent")); len(errs) != 1 {
		t.Fatalf("a missing directory: errors %v, want one", errs)
	}
}

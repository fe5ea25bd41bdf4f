package lua

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
)

func TestRunTestsPasses(t *testing.T) {
	r, err := RunTests(filepath.Join("testdata", "scripts"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) > 0 || len(r.Failed()) > 0 {
		t.Fatalf("errors %v, failed %+v", r.Errors, r.Failed())
	}
	var got []string
	for _, c := range r.Cases {
		got = append(got, c.Check+" "+c.InputPath)
	}
	want := []string{
		"ConfigMap testdata/configmap-broken.yaml",
		"ConfigMap testdata/configmap-fine.yaml",
		"_.crossplane.io/_ testdata/bucket-new.yaml",
		"cert-manager.io/Certificate testdata/certificate-ready.yaml",
		"cert-manager.io/Certificate testdata/certificate-failed.yaml",
		"cert-manager.io/Certificate testdata/certificate-new.yaml",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("cases:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRunTestsComparesAsArgoCD: a case passes only when the status and the
// message are both what the test wants; a test without a message wants
// none.
func TestRunTestsComparesAsArgoCD(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"example.com/Widget/health.lua": `return {status = obj.status.want, message = obj.status.say}`,
		"example.com/Widget/health_test.yaml": `tests:
- {healthStatus: {status: Healthy, message: fine}, inputPath: testdata/same.yaml}
- {healthStatus: {status: Healthy, message: fine}, inputPath: testdata/other-message.yaml}
- {healthStatus: {status: Healthy}, inputPath: testdata/unwanted-message.yaml}
- {healthStatus: {status: Healthy, message: fine}, inputPath: testdata/other-status.yaml}
- {healthStatus: {status: Healthy}, inputPath: testdata/absent.yaml}
`,
		"example.com/Widget/testdata/same.yaml":             "kind: Widget\nstatus: {want: Healthy, say: fine}\n",
		"example.com/Widget/testdata/other-message.yaml":    "kind: Widget\nstatus: {want: Healthy, say: great}\n",
		"example.com/Widget/testdata/unwanted-message.yaml": "kind: Widget\nstatus: {want: Healthy, say: fine}\n",
		"example.com/Widget/testdata/other-status.yaml":     "kind: Widget\nstatus: {want: Degraded, say: fine}\n",
		"example.com/Gadget/health.lua":                     `return {status = "Healthy"}`,
		"example.com/Broken/health.lua":                     `return {`,
	}
	for p, content := range files {
		p = filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := RunTests(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var passed []string
	for _, c := range r.Cases {
		if c.Passed() {
			passed = append(passed, c.InputPath)
		}
	}
	if len(passed) != 1 || passed[0] != "testdata/same.yaml" {
		t.Fatalf("passed %v, want testdata/same.yaml alone", passed)
	}
	failed := r.Failed()
	if len(failed) != 3 {
		t.Fatalf("failed %+v, want 3", failed)
	}
	if c := failed[2]; c.Got != (app.HealthState{Status: app.Degraded, Message: "fine"}) || c.Want != (app.HealthState{Status: app.Healthy, Message: "fine"}) || c.Check != "example.com/Widget" {
		t.Fatalf("the other-status case = %+v", c)
	}
	wantErrs := []string{
		filepath.Join(dir, "example.com", "Broken", "health.lua") + ": ",
		filepath.Join(dir, "example.com", "Gadget", "health_test.yaml") + ": the script has no tests",
		filepath.Join(dir, "example.com", "Widget", "health_test.yaml") + " testdata/absent.yaml: ",
	}
	if len(r.Errors) != len(wantErrs) {
		t.Fatalf("errors %v, want %d", r.Errors, len(wantErrs))
	}
	for i, err := range r.Errors {
		if !strings.HasPrefix(err.Error(), wantErrs[i]) {
			t.Errorf("error %d = %v, want it to start %q", i, err, wantErrs[i])
		}
	}
}

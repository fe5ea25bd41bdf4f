package main

import (
	"net/http"
	"strings"
	"testing"
)

func TestAppDiffExitStatus(t *testing.T) {
	f := newFakeAPI(t)
	f.add(testApp("gyre", "same"))
	f.add(testApp("gyre", "drift"))
	f.add(testApp("gyre", "broken"))
	f.diffs["gyre/same"] = `{"items":[{"key":{"kind":"ConfigMap","namespace":"d","name":"same"},"status":"InSync"}],"outOfSync":0}`
	f.diffs["gyre/drift"] = `{"items":[
		{"key":{"kind":"ConfigMap","namespace":"d","name":"c"},"status":"InSync"},
		{"key":{"group":"apps","kind":"Deployment","namespace":"d","name":"web"},"status":"OutOfSync","diff":"--- live\n+++ desired\n@@ -1 +1 @@\n-  replicas: 5\n+  replicas: 2\n"}],"outOfSync":1}`
	f.diffs["gyre/broken"] = `{"items":[{"key":{"kind":"Widget","namespace":"d","name":"w"},"status":"Unknown","message":"Widget/d/w: no kind Widget"}],"outOfSync":0}`
	f.add(testApp("gyre", "extra"))
	f.diffs["gyre/extra"] = `{"items":[{"key":{"kind":"ConfigMap","namespace":"d","name":"old"},"status":"Extraneous","diff":"--- live\n+++ desired\n-data: {}\n"}],"outOfSync":0}`
	f.fail["GET /api/v1/applications/gyre/down/diff"] = fakeFailure{http.StatusInternalServerError, `{"error":"render helm chart: boom"}`}

	tests := []struct {
		name       string
		code       int
		stdout     []string
		stderr     string
		notContain string
	}{
		{name: "same", code: 0, notContain: "ConfigMap"},
		{name: "drift", code: 1, stdout: []string{"===== apps/Deployment/d/web (OutOfSync) =====", "-  replicas: 5", "+  replicas: 2"}, notContain: "ConfigMap"},
		{name: "extra", code: 0, stdout: []string{"ConfigMap/d/old (Extraneous)"}},
		{name: "broken", code: 2, stdout: []string{"Widget/d/w: no kind Widget"}, stderr: "1 object(s) could not be compared"},
		{name: "down", code: 2, stderr: "gyre: render helm chart: boom\n"},
		{name: "missing", code: 2, stderr: "gyre: application gyre/missing not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, f.against("app", "diff", tt.name)...)
			checkDiffRun(t, r, tt.code, tt.stdout, tt.notContain, tt.stderr)
		})
	}

	r := runCLI(t, nil, f.against("app", "diff", "drift", "-o", "json")...)
	if r.code != 1 || !strings.Contains(r.stdout, `"outOfSync": 1`) {
		t.Errorf("-o json: exit %d:\n%s", r.code, r.stdout)
	}
}

// checkDiffRun checks a `gyre app diff` run: its exit code, what stdout must
// and must not show, and stderr (which must contain stderr, and be empty
// when stderr is).
func checkDiffRun(t *testing.T, r cliRun, code int, stdout []string, notContain, stderr string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d; stderr %q", r.code, code, r.stderr)
	}
	for _, want := range stdout {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if notContain != "" && strings.Contains(r.stdout, notContain) {
		t.Errorf("stdout shows objects in sync:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, stderr) || (stderr == "" && r.stderr != "") {
		t.Errorf("stderr %q, want %q", r.stderr, stderr)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// healthObjects is a live Deployment mid-rollout, a Pod in a crash loop and
// a ConfigMap, as `kubectl get -o yaml` prints them, in one YAML stream.
const healthObjects = `# kubectl get deploy,pod,cm -n shop -o yaml, trimmed
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
  generation: 4
spec:
  replicas: 3
  selector:
    matchLabels: {app: api}
  strategy:
    type: RollingUpdate
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: ghcr.io/example/api:1.4.2
status:
  observedGeneration: 4
  replicas: 4
  updatedReplicas: 1
  readyReplicas: 3
  availableReplicas: 3
  conditions:
    - type: Available
      status: "True"
      reason: MinimumReplicasAvailable
      message: Deployment has minimum availability.
    - type: Progressing
      status: "True"
      reason: ReplicaSetUpdated
      message: ReplicaSet "api-6f7d9c8b5d" is progressing.
---
apiVersion: v1
kind: Pod
metadata:
  name: api-6f7d9c8b5d-x2k9p
  namespace: shop
spec:
  restartPolicy: Always
  containers:
    - name: api
      image: ghcr.io/example/api:1.4.2
status:
  phase: Running
  conditions:
    - type: Ready
      status: "False"
      reason: ContainersNotReady
      message: "containers with unready status: [api]"
  containerStatuses:
    - name: api
      image: ghcr.io/example/api:1.4.2
      ready: false
      started: false
      restartCount: 6
      lastState:
        terminated:
          exitCode: 1
          reason: Error
      state:
        waiting:
          reason: CrashLoopBackOff
          message: back-off 5m0s restarting failed container=api
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  LOG_LEVEL: info
`

// runHealth runs `gyre <args>` in-process through the root command, with
// stdin as its standard input.
func runHealth(t *testing.T, stdin string, args ...string) cliRun {
	t.Helper()
	root := newRootCommand()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := exitStatus(root.ExecuteContext(ctx), &stderr)
	return cliRun{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// writeFile writes content to name in a new temporary directory and
// returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHealthCheckTable(t *testing.T) {
	file := writeFile(t, "shop.yaml", healthObjects)
	r := runHealth(t, "", "health", "check", "-f", file)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want a header and 3 rows:\n%s", len(lines), r.stdout)
	}
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "KIND NAMESPACE NAME HEALTH MESSAGE" {
		t.Errorf("header %q", got)
	}
	for i, want := range []string{
		"apps/Deployment shop api Progressing waiting for rollout to finish",
		"Pod shop api-6f7d9c8b5d-x2k9p Degraded container api: CrashLoopBackOff",
		"ConfigMap shop settings - -",
	} {
		if got := strings.Join(strings.Fields(lines[i+1]), " "); !strings.HasPrefix(got, want) {
			t.Errorf("row %d = %q, want it to start %q", i+1, got, want)
		}
	}
}

func TestHealthCheckJSON(t *testing.T) {
	file := writeFile(t, "shop.yaml", healthObjects)
	r := runHealth(t, "", "health", "check", "-f", file, "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("-o json: %v:\n%s", err, r.stdout)
	}
	if len(got) != 3 {
		t.Fatalf("%d objects, want 3:\n%s", len(got), r.stdout)
	}
	want := []map[string]any{
		{"group": "apps", "kind": "Deployment", "namespace": "shop", "name": "api", "status": "Progressing", "hasHealth": true},
		{"group": "", "kind": "Pod", "namespace": "shop", "name": "api-6f7d9c8b5d-x2k9p", "status": "Degraded", "hasHealth": true},
		{"group": "", "kind": "ConfigMap", "namespace": "shop", "name": "settings", "status": "", "message": "", "hasHealth": false},
	}
	for i, w := range want {
		for k, v := range w {
			if got[i][k] != v {
				t.Errorf("object %d: %s = %#v, want %#v", i, k, got[i][k], v)
			}
		}
		if _, ok := got[i]["message"].(string); !ok {
			t.Errorf("object %d: no message string: %v", i, got[i])
		}
	}
	if msg, _ := got[1]["message"].(string); !strings.Contains(msg, "CrashLoopBackOff") {
		t.Errorf("Pod message %q does not name the crash loop", msg)
	}

	// No objects at all is an empty array, not null.
	r = runHealth(t, "", "health", "check", "-f", writeFile(t, "empty.yaml", "# nothing\n"), "-o", "json")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("empty file: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestHealthCheckStdin reads a JSON List, as `kubectl get -o json` prints
// it, from standard input together with a file.
func TestHealthCheckStdin(t *testing.T) {
	list := `{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "shop"},
   "status": {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}},
  {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"}}
]}`
	file := writeFile(t, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n")
	r := runHealth(t, list, "health", "check", "-f", "-", "-f", file, "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got []healthCheckResult
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	want := []healthCheckResult{
		{Group: "batch", Kind: "Job", Namespace: "shop", Name: "migrate", Status: "Healthy", HasHealth: true},
		{Kind: "Secret", Namespace: "shop", Name: "db"},
		{Kind: "ConfigMap", Name: "extra"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		got[i].Message = ""
		if got[i] != want[i] {
			t.Errorf("object %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestHealthCheckBadInput(t *testing.T) {
	badYAML := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [broken\n"
	notObject := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\n# a comment\nfoo: bar\n"
	badJSON := "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n}\n"
	tests := []struct {
		name, file, content, stdin string
		stderr                     []string
	}{
		{name: "yaml", file: "bad.yaml", content: badYAML, stderr: []string{"bad.yaml line 9: invalid YAML"}},
		{name: "not an object", file: "plain.yml", content: notObject, stderr: []string{"plain.yml line 6:", "no apiVersion or kind"}},
		{name: "json", file: "bad.json", content: badJSON, stderr: []string{"bad.json line 4: invalid JSON"}},
		{name: "stdin", file: "-", stdin: badYAML, stderr: []string{"standard input line 9: invalid YAML"}},
		{name: "missing file", file: "", stderr: []string{"reading ", "no-such.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.file
			switch {
			case tt.file == "":
				path = filepath.Join(t.TempDir(), "no-such.yaml")
			case tt.file != "-":
				path = writeFile(t, tt.file, tt.content)
			}
			// A good file first: nothing is printed when a later one fails.
			good := writeFile(t, "good.yaml", healthObjects)
			r := runHealth(t, tt.stdin, "health", "check", "-f", good, "-f", path)
			if r.code != 2 {
				t.Errorf("exit %d, want 2; stderr %q", r.code, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.HasPrefix(r.stderr, "gyre: ") {
				t.Errorf("stderr %q, want one line", r.stderr)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr %q lacks %q", r.stderr, want)
				}
			}
		})
	}

	r := runHealth(t, "", "health", "check")
	if r.code != 2 || !strings.Contains(r.stderr, "-f") {
		t.Errorf("no -f: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestHealthCheckCustomResource checks `check` uses the agent's rules for
// custom resources too, not only the built-in kinds.
func TestHealthCheckCustomResource(t *testing.T) {
	cert := `apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web-tls, namespace: shop, generation: 1}
spec: {secretName: web-tls, issuerRef: {name: letsencrypt, kind: ClusterIssuer}}
status:
  conditions:
    - {type: Ready, status: "True", reason: Ready, message: Certificate is up to date and has not expired}
`
	r := runHealth(t, cert, "health", "check", "-f", "-")
	if got := strings.Join(strings.Fields(r.stdout), " "); r.code != 0 || !strings.Contains(got, "cert-manager.io/Certificate shop web-tls Healthy Certificate is up to date") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestHealthCheckScripts checks --health-scripts: a Lua check for a kind
// wins over the built-in rule, a script that does not load is left out
// with a warning, and a directory that does not exist is bad input.
func TestHealthCheckScripts(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"apps/Deployment/health.lua": "hs = {}\nhs.status = \"Degraded\"\nhs.message = \"fewer replicas than the team's floor\"\nreturn hs\n",
		"ConfigMap/health.lua":       "hs = {\nreturn hs\n",
	})
	file := writeFile(t, "shop.yaml", healthObjects)
	r := runHealth(t, "", "health", "check", "-f", file, "--health-scripts", dir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("output:\n%s", r.stdout)
	}
	if got := strings.Join(strings.Fields(lines[1]), " "); got != "apps/Deployment shop api Degraded fewer replicas than the team's floor" {
		t.Errorf("Deployment row %q, want the Lua check's answer", got)
	}
	if got := strings.Join(strings.Fields(lines[2]), " "); !strings.HasPrefix(got, "Pod shop api-6f7d9c8b5d-x2k9p Degraded container api: CrashLoopBackOff") {
		t.Errorf("Pod row %q, want the built-in rule's answer", got)
	}
	if got := strings.Join(strings.Fields(lines[3]), " "); got != "ConfigMap shop settings - -" {
		t.Errorf("ConfigMap row %q: the broken script must be left out", got)
	}
	if !strings.Contains(r.stderr, "health script left out") || !strings.Contains(r.stderr, filepath.Join("ConfigMap", "health.lua")) {
		t.Errorf("stderr %q, want a warning naming the broken script", r.stderr)
	}

	r = runHealth(t, "", "health", "check", "-f", file, "--health-scripts", filepath.Join(dir, "no-such-dir"))
	if r.code != 2 || !strings.Contains(r.stderr, "--health-scripts") {
		t.Errorf("missing directory: exit %d, stderr %q", r.code, r.stderr)
	}
}

package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/admit"
	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
)

// TestPostDiff: POST .../diff hands the objects of a local render to the
// backend and answers as GET .../diff does, counting a refused object as
// out of sync; a body that is not a list of objects answers 400 before the
// backend is asked, and a caller who may not see the Application gets 404.
func TestPostDiff(t *testing.T) {
	a := testApp("gyre", "guestbook", "https://git.example.com/org/repo.git", "guestbook")
	hidden := testApp("gyre", "hidden", "https://git.example.com/org/repo.git", "hidden")
	hidden.Spec.Project = "team-b"
	b := newFakeBackend(a, hidden)
	refusal := &admit.Violation{Key: app.ResourceKey{Kind: "ConfigMap", Namespace: "kube-system", Name: "x"}, Rule: admit.RuleDestinations, Message: "not allowed"}
	b.diffs = []diff.Result{
		{Key: app.ResourceKey{Kind: "ConfigMap", Namespace: "guestbook", Name: "new"}, Status: diff.Missing, Diff: "--- live\n+++ desired\n+data: {}\n"},
		{Key: app.ResourceKey{Kind: "ConfigMap", Namespace: "guestbook", Name: "same"}, Status: diff.InSync},
		{Key: refusal.Key, Status: diff.Unknown, Message: refusal.Error(), Err: refusal},
	}
	ts := newTestServer(t, b, Options{})
	const path = "/api/v1/applications/gyre/guestbook/diff"
	body := `{"objects": [
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new"}, "data": {"replicas": 3}},
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "same"}}
	]}`

	code, got := ts.do(t, http.MethodPost, path, readonlyToken, body)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, got)
	}
	var d DiffResponse
	if err := json.Unmarshal([]byte(got), &d); err != nil {
		t.Fatal(err)
	}
	if d.OutOfSync != 2 || len(d.Items) != 3 || d.Items[0].Diff == "" || d.Items[1].Refused || !d.Items[2].Refused || !strings.Contains(d.Items[2].Message, "(destinations)") {
		t.Errorf("diff = %+v", d)
	}
	if len(b.diffed) != 1 || len(b.diffed[0]) != 2 {
		t.Fatalf("backend got %d calls: %v", len(b.diffed), b.diffed)
	}
	if o := b.diffed[0][0]; o.GetKind() != "ConfigMap" || o.GetName() != "new" || o.Object["data"].(map[string]any)["replicas"] != int64(3) {
		t.Errorf("first object = %v", o.Object)
	}

	for _, tc := range []struct {
		name, body, want string
		code             int
	}{
		{"invalid JSON", `{"objects": [`, "invalid JSON", http.StatusBadRequest},
		{"no objects field", `{}`, `"objects" is required`, http.StatusBadRequest},
		{"empty body", ``, `"objects" is required`, http.StatusBadRequest},
		{"unknown field", `{"objects": [], "prune": true}`, `unknown field "prune"`, http.StatusBadRequest},
		{"objects not a list", `{"objects": {"kind": "ConfigMap"}}`, `"objects" must be an array`, http.StatusBadRequest},
		{"a string entry", `{"objects": ["kind: ConfigMap"]}`, "objects[0]: not a JSON object", http.StatusBadRequest},
		{"a null entry", `{"objects": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}, null]}`, "objects[1]: not a JSON object", http.StatusBadRequest},
		{"no kind", `{"objects": [{"apiVersion": "v1", "metadata": {"name": "a"}}]}`, "objects[0]: ", http.StatusBadRequest},
		{"no apiVersion", `{"objects": [{"kind": "ConfigMap", "metadata": {"name": "a"}}]}`, "objects[0]: apiVersion is required", http.StatusBadRequest},
		{"no name", `{"objects": [{"apiVersion": "v1", "kind": "ConfigMap"}]}`, "objects[0]: ConfigMap: metadata.name is required", http.StatusBadRequest},
		{"too large", `{"objects": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "` + strings.Repeat("x", maxDiffBody) + `"}}]}`, "larger than", http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, got := ts.do(t, http.MethodPost, path, readonlyToken, tc.body)
			wantError(t, code, got, tc.code, tc.want)
		})
	}
	if len(b.diffed) != 1 {
		t.Errorf("the backend was asked %d more time(s) for bad bodies", len(b.diffed)-1)
	}

	// An Application the caller may not see does not exist for it.
	code, got = ts.do(t, http.MethodPost, "/api/v1/applications/gyre/hidden/diff", teamAReadonlyToken, body)
	wantError(t, code, got, http.StatusNotFound, "gyre/hidden")
	code, got = ts.do(t, http.MethodPost, path, "", body)
	if code != http.StatusUnauthorized {
		t.Errorf("without a token: %d %s", code, got)
	}
	code, got = ts.do(t, http.MethodPost, "/api/v1/applications/gyre/nope/diff", adminToken, body)
	wantError(t, code, got, http.StatusNotFound, "gyre/nope")
	if len(b.diffed) != 1 {
		t.Errorf("the backend was asked for Applications the caller may not see: %d calls", len(b.diffed))
	}
}

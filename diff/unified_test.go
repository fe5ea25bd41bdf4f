package diff

import (
	"math/rand/v2"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gyre-cd/gyre/app"
)

func TestUnifiedDiff(t *testing.T) {
	lines := func(n int) string {
		var sb strings.Builder
		for i := 1; i <= n; i++ {
			sb.WriteString("l")
			sb.WriteString(string(rune('a' + i - 1)))
			sb.WriteString("\n")
		}
		return sb.String()
	}
	tests := []struct {
		name, a, b, want string
	}{
		{"equal", "x\n", "x\n", ""},
		{"added to empty", "", "a\nb\n", "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"removed all", "a\n", "", "--- a\n+++ b\n@@ -1 +0,0 @@\n-a\n"},
		{
			"one change in the middle, 3 lines of context",
			lines(9),
			strings.Replace(lines(9), "le\n", "lE\n", 1),
			"--- a\n+++ b\n@@ -2,7 +2,7 @@\n lb\n lc\n ld\n-le\n+lE\n lf\n lg\n lh\n",
		},
		{
			"changes 6 lines apart share a hunk",
			lines(12),
			strings.Replace(strings.Replace(lines(12), "lb\n", "lB\n", 1), "li\n", "lI\n", 1),
			"--- a\n+++ b\n@@ -1,12 +1,12 @@\n la\n-lb\n+lB\n lc\n ld\n le\n lf\n lg\n lh\n-li\n+lI\n lj\n lk\n ll\n",
		},
		{
			"changes 7 lines apart make two hunks",
			lines(14),
			strings.Replace(strings.Replace(lines(14), "lb\n", "lB\n", 1), "lj\n", "lJ\n", 1),
			"--- a\n+++ b\n@@ -1,5 +1,5 @@\n la\n-lb\n+lB\n lc\n ld\n le\n@@ -7,7 +7,7 @@\n lg\n lh\n li\n-lj\n+lJ\n lk\n ll\n lm\n",
		},
		{"insertion", "a\nc\n", "a\nb\nc\n", "--- a\n+++ b\n@@ -1,2 +1,3 @@\n a\n+b\n c\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unifiedDiff("a", "b", tt.a, tt.b, 3); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestLineEditsMinimal checks on random inputs that the edit script turns a
// into b and is as short as the longest common subsequence allows.
func TestLineEditsMinimal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func() []string {
		out := make([]string, r.IntN(12))
		for i := range out {
			out[i] = string(rune('a' + r.IntN(4)))
		}
		return out
	}
	for range 2000 {
		a, b := gen(), gen()
		edits := lineEdits(a, b)
		var gotA, gotB []string
		changes := 0
		for _, e := range edits {
			if e.kind != opInsert {
				gotA = append(gotA, e.line)
			}
			if e.kind != opDelete {
				gotB = append(gotB, e.line)
			}
			if e.kind != opEqual {
				changes++
			}
		}
		if strings.Join(gotA, "") != strings.Join(a, "") || strings.Join(gotB, "") != strings.Join(b, "") {
			t.Fatalf("edits of %q -> %q do not reproduce the inputs", a, b)
		}
		if want := len(a) + len(b) - 2*lcs(a, b); changes != want {
			t.Fatalf("edits of %q -> %q: %d changes, want %d", a, b, changes, want)
		}
	}
}

func lcs(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

func TestMyersFallsBackBeyondLimit(t *testing.T) {
	a := make([]string, maxEditDistance)
	b := make([]string, maxEditDistance)
	for i := range a {
		a[i], b[i] = "a"+string(rune(i)), "b"+string(rune(i))
	}
	edits := myers(a, b)
	if len(edits) != 2*maxEditDistance || edits[0].kind != opDelete || edits[len(edits)-1].kind != opInsert {
		t.Errorf("got %d edits, want all deletions then all insertions", len(edits))
	}
}

// TestUnifiedControlCharacters: an object holding a character the YAML
// encoder refuses (DEL) still shows its difference, in JSON, rather than
// two identical error lines and no diff at all.
func TestUnifiedControlCharacters(t *testing.T) {
	live := &unstructured.Unstructured{Object: map[string]any{"kind": "ConfigMap", "data": map[string]any{"banner": "\x1b[1mhi\x7f"}}}
	predicted := live.DeepCopy()
	predicted.Object["data"].(map[string]any)["banner"] = "plain"
	got := unified(app.ResourceKey{Kind: "ConfigMap", Name: "c"}, live, predicted)
	for _, want := range []string{`-    "banner": "\u001b[1mhi` + "\x7f" + `"`, `+    "banner": "plain"`} {
		if !strings.Contains(got, want) {
			t.Errorf("diff lacks %q:\n%s", want, got)
		}
	}
}

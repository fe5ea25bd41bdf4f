package render_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/render"
)

var update = flag.Bool("update", false, "rewrite testdata/<case>/want.yaml from the current output")

// goldenCase is testdata/<case>/case.yaml: what to render from <case>/in.
type goldenCase struct {
	Path    string         `json:"path"`
	Options render.Options `json:"options"`
}

// TestGolden renders every testdata/<case>/in tree as its case.yaml says and
// compares the objects, with their origins, to want.yaml. Each case renders
// twice: the output must not change between runs.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*/case.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, file := range cases {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var c goldenCase
			if err := yaml.UnmarshalStrict(data, &c); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			fsys := os.DirFS(filepath.Join(dir, "in"))
			res, err := render.Render(fsys, c.Path, c.Options)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			got := formatResult(t, res)
			again, err := render.Render(fsys, c.Path, c.Options)
			if err != nil {
				t.Fatalf("second Render: %v", err)
			}
			if g2 := formatResult(t, again); !bytes.Equal(got, g2) {
				t.Fatalf("output differs between two renders of the same input:\n%s\n----\n%s", got, g2)
			}
			wantFile := filepath.Join(dir, "want.yaml")
			if *update {
				if err := os.WriteFile(wantFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run go test ./render -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (rerun with -update to accept):\n%s", wantFile, lineDiff(string(want), string(got)))
			}
		})
	}
}

// formatResult prints a result as a YAML stream, each object preceded by a
// comment with its origin.
func formatResult(t *testing.T, res *render.Result) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("# type: " + string(res.Type) + "\n")
	for _, o := range res.Objects {
		y, err := yaml.Marshal(o.Obj.Object)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n# origin: " + o.Origin.String() + "\n")
		b.Write(y)
	}
	return b.Bytes()
}

// lineDiff shows the lines that differ, with their line numbers.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl + "\n")
		}
	}
	return b.String()
}

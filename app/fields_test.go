package app_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/app"
)

// behaviourTests is testdata/behaviour-tests.yaml: for each field, sync
// option and hook, the tests that show it working.
type behaviourTests struct {
	Application map[string][]string `json:"application"`
	Project     map[string][]string `json:"project"`
	SyncOptions map[string][]string `json:"syncOptions"`
	Hooks       map[string][]string `json:"hooks"`
}

// TestEveryFieldHasABehaviourTest fails when a field of the Application or
// Project, a sync option or a hook phase has no test that shows it working,
// when testdata/behaviour-tests.yaml names something that no longer exists,
// or when a test it names does not exist. A field added to a CRD, or an
// option added to syncoptions.go, fails here until a test covers it.
func TestEveryFieldHasABehaviourTest(t *testing.T) {
	data, err := os.ReadFile("testdata/behaviour-tests.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var table behaviourTests
	if err := yaml.UnmarshalStrict(data, &table); err != nil {
		t.Fatalf("behaviour-tests.yaml: %v", err)
	}

	options, err := constValues(".", "SyncOptionName")
	if err != nil {
		t.Fatal(err)
	}
	phases, err := constValues(".", "SyncPhase")
	if err != nil {
		t.Fatal(err)
	}
	// Hook names that are not phases (PreDelete, Skip…) live as string
	// constants in sync; an entry for one of them is not stale.
	syncNames, err := constValues("../sync", "")
	if err != nil {
		t.Fatal(err)
	}
	sections := []struct {
		name     string
		entries  map[string][]string
		required []string // each needs an entry
		known    []string // an entry must name one of these
	}{
		{"application", table.Application, sharedSourceFields(schemaFields(t, app.CRD(), "spec", "operation")), nil},
		{"project", table.Project, schemaFields(t, app.ProjectCRD(), "spec"), nil},
		{"syncOptions", table.SyncOptions, options, nil},
		{"hooks", table.Hooks, phases, append(slices.Clone(phases), syncNames...)},
	}
	if len(sections[0].required) < 40 || len(options) < 8 || len(phases) < 4 {
		t.Fatalf("found %d Application fields, %d sync options, %d phases: is the walk broken?", len(sections[0].required), len(options), len(phases))
	}

	tests := testFuncs{}
	var untested []string
	for _, s := range sections {
		known := s.known
		if known == nil {
			known = s.required
		}
		for _, name := range s.required {
			if _, ok := s.entries[name]; !ok {
				t.Errorf("%s %s: no entry in testdata/behaviour-tests.yaml; name the tests that show it working", s.name, name)
			}
		}
		for _, name := range sortedKeys(s.entries) {
			if !slices.Contains(known, name) {
				t.Errorf("%s %s: in testdata/behaviour-tests.yaml but no longer in gyre; remove the entry", s.name, name)
				continue
			}
			if len(s.entries[name]) == 0 {
				untested = append(untested, s.name+" "+name)
			}
			for _, ref := range s.entries[name] {
				if err := tests.check(ref); err != nil {
					t.Errorf("%s %s: %v", s.name, name, err)
				}
			}
		}
	}
	if len(untested) > 0 {
		t.Errorf("%d entries have no behaviour test (see the comments in testdata/behaviour-tests.yaml):\n  %s", len(untested), strings.Join(untested, "\n  "))
	}
}

// sharedSourceFields drops the fields of spec.sources[] that spec.source
// has too: both are the one type Source, rendered by the same code, so the
// tests of spec.source's fields are theirs. spec.sources[] itself, and any
// field only it had, still need an entry.
func sharedSourceFields(fields []string) []string {
	return slices.DeleteFunc(fields, func(f string) bool {
		rest, ok := strings.CutPrefix(f, "spec.sources[].")
		return ok && slices.Contains(fields, "spec.source."+rest)
	})
}

// schemaFields lists the leaf field paths below the named top-level
// properties of a CRD's (first version's) schema: "spec.source.repoURL",
// arrays as "[]" ("spec.ignoreDifferences[].kind"). A map
// (additionalProperties) or an object without properties is a leaf.
func schemaFields(t *testing.T, manifest []byte, roots ...string) []string {
	t.Helper()
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(manifest, &crd); err != nil {
		t.Fatal(err)
	}
	schema := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	var out []string
	var walk func(p string, s apiextensionsv1.JSONSchemaProps)
	walk = func(p string, s apiextensionsv1.JSONSchemaProps) {
		switch {
		case s.Type == "array" && s.Items != nil && s.Items.Schema != nil:
			walk(p+"[]", *s.Items.Schema)
		case len(s.Properties) > 0:
			for _, name := range sortedKeys(s.Properties) {
				walk(p+"."+name, s.Properties[name])
			}
		default:
			out = append(out, p)
		}
	}
	for _, r := range roots {
		s, ok := schema.Properties[r]
		if !ok {
			t.Fatalf("schema has no %s", r)
		}
		walk(r, s)
	}
	return out
}

// constValues returns the values of the string constants declared in the
// non-test Go files of dir: those of the named type, or, with typ "", all
// string constants.
func constValues(dir, typ string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); typ != "" && (!ok || id.Name != typ) {
					continue
				}
				for _, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					if s, err := strconv.Unquote(lit.Value); err == nil {
						out = append(out, s)
					}
				}
			}
		}
	}
	return out, nil
}

// testFuncs caches, per package directory, the names of its top-level
// Test functions.
type testFuncs map[string]map[string]bool

// check reports whether ref ("sync.TestRollback", "cmd/gyre.TestAppSync",
// "render.TestGolden/helm-values") names a test function that exists.
func (tf testFuncs) check(ref string) error {
	i := strings.LastIndex(ref, ".Test")
	if i <= 0 {
		return fmt.Errorf("test %q: want dir.TestName", ref)
	}
	dir, name := ref[:i], ref[i+1:]
	name, _, _ = strings.Cut(name, "/")
	funcs, ok := tf[dir]
	if !ok {
		var err error
		if funcs, err = testFuncsIn(filepath.Join("..", filepath.FromSlash(dir))); err != nil {
			return fmt.Errorf("test %q: %w", ref, err)
		}
		tf[dir] = funcs
	}
	if !funcs[name] {
		return fmt.Errorf("test %q: no func %s(t *testing.T) in %s/*_test.go", ref, name, dir)
	}
	return nil
}

// testFuncsIn parses the _test.go files of dir and returns the names of
// their top-level functions that look like tests.
func testFuncsIn(dir string) (map[string]bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no _test.go files in %s", dir)
	}
	out := map[string]bool{}
	for _, f := range files {
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") && fn.Type.Params.NumFields() == 1 {
				out[fn.Name.Name] = true
			}
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

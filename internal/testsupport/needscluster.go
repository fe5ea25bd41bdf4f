package testsupport

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strings"
)

// NeedsCluster reports, from a TestMain after flag.Parse, whether this test
// process may run a test that uses the embedded cluster, so that the
// package's TestMain can skip starting it otherwise. The tests that use it
// are the Test functions (not TestMain) of the files matching patterns
// (globs in the package directory, "*_test.go" for all). It is false in a
// fuzz worker (started by `go test -fuzz`, which runs only its target) and
// when the -run pattern matches none of those tests (-run '^$' beside
// -fuzz or -bench-free runs of pure tests); true with a benchmark, without
// -run, and whenever it cannot tell.
func NeedsCluster(patterns ...string) bool {
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		return false
	}
	if b := flag.Lookup("test.bench"); b != nil && b.Value.String() != "" {
		return true // benchmarks run against the cluster
	}
	run := flag.Lookup("test.run")
	if run == nil || run.Value.String() == "" {
		return true
	}
	top, _, _ := strings.Cut(run.Value.String(), "/")
	re, err := regexp.Compile(top)
	if err != nil {
		return true // testing reports the bad pattern
	}
	var files []string
	for _, p := range patterns {
		matches, err := filepath.Glob(p)
		if err != nil {
			return true
		}
		files = append(files, matches...)
	}
	for _, file := range files {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
		if err != nil {
			return true
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") && fn.Name.Name != "TestMain" && re.MatchString(fn.Name.Name) {
				return true
			}
		}
	}
	return false
}

package appset

import (
	"context"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
)

// kube is the embedded control plane of the tests in controller_test.go
// and bench_test.go; each test runs its own Controller in its own
// namespace.
var kube *clustertest.Cluster

// clusterTestFiles hold the tests that need the cluster; the other tests
// of the package are pure.
var clusterTestFiles = []string{"controller_test.go"}

func TestMain(m *testing.M) {
	flag.Parse()
	if !needsCluster() {
		os.Exit(m.Run())
	}
	os.Exit(clustertest.Run(m, &kube, func(c *clustertest.Cluster) (func(), error) {
		ctx := context.Background()
		if err := installManifest(ctx, c.Dynamic, app.CRD(), "gyre-test"); err != nil {
			return nil, err
		}
		if err := InstallCRD(ctx, c.Dynamic, "gyre-test"); err != nil {
			return nil, err
		}
		return func() {}, nil
	}))
}

// needsCluster reports whether a test or benchmark that uses the cluster
// is selected: no -run pattern, a benchmark, or a pattern that matches a
// Test function of clusterTestFiles.
func needsCluster() bool {
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		return false
	}
	if b := flag.Lookup("test.bench"); b != nil && b.Value.String() != "" {
		return true
	}
	run := flag.Lookup("test.run")
	if run == nil || run.Value.String() == "" {
		return true
	}
	top, _, _ := strings.Cut(run.Value.String(), "/")
	re, err := regexp.Compile(top)
	if err != nil {
		return true
	}
	for _, file := range clusterTestFiles {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
		if err != nil {
			return true
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") && re.MatchString(fn.Name.Name) {
				return true
			}
		}
	}
	return false
}

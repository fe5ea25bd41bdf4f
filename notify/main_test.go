package notify

import (
	"context"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	gyresync "github.com/gyre-cd/gyre/sync"
)

// cluster is the embedded control plane the tests in *_cluster_test.go
// share, with the Application and Notifier CRDs installed. The other tests
// are pure and run without it.
var cluster *clustertest.Cluster

func TestMain(m *testing.M) {
	flag.Parse()
	if !needsCluster() {
		os.Exit(m.Run())
	}
	os.Exit(clustertest.Run(m, &cluster, func(c *clustertest.Cluster) (func(), error) {
		for _, crd := range [][]byte{app.CRD(), CRD()} {
			if err := gyresync.InstallCRD(context.Background(), c.Dynamic, crd, "gyre"); err != nil {
				return nil, err
			}
		}
		return func() {}, nil
	}))
}

// needsCluster reports whether a test of a *_cluster_test.go file will
// run: not in a fuzz worker, and not when -run matches none of them.
func needsCluster() bool {
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		return false
	}
	pattern := ""
	if f := flag.Lookup("test.run"); f != nil {
		pattern = f.Value.String()
	}
	top, _, _ := strings.Cut(pattern, "/")
	re, err := regexp.Compile(top)
	if err != nil {
		return true // testing reports the bad pattern
	}
	files, _ := filepath.Glob("*_cluster_test.go")
	for _, file := range files {
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

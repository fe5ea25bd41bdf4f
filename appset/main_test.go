package appset

import (
	"context"
	"flag"
	"os"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
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
	if !testsupport.NeedsCluster(clusterTestFiles...) {
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

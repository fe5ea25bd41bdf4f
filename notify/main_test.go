package notify

import (
	"context"
	"flag"
	"os"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	gyresync "github.com/gyre-cd/gyre/sync"
)

// cluster is the embedded control plane the tests in *_cluster_test.go
// share, with the Application and Notifier CRDs installed. The other tests
// are pure and run without it.
var cluster *clustertest.Cluster

func TestMain(m *testing.M) {
	flag.Parse()
	if !testsupport.NeedsCluster("*_cluster_test.go") {
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

// Package clustertest shares one embedded control plane between the tests of
// a package: TestMain starts it once, each test gets a fresh namespace.
//
//	var cluster *clustertest.Cluster
//
//	func TestMain(m *testing.M) { os.Exit(clustertest.Run(m, &cluster)) }
//
//	func TestSomething(t *testing.T) {
//		ns := cluster.Namespace(t)
//		...
//	}
//
// Only packages whose tests need an API server should use it: starting the
// cluster costs a few seconds and links the whole control plane into the
// test binary.
package clustertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/localcluster"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Cluster is the shared control plane with ready-made clients.
type Cluster struct {
	*localcluster.Cluster
	// Config is a cluster-admin client configuration.
	Config *rest.Config
	// Client and Dynamic are cluster-admin clients.
	Client  kubernetes.Interface
	Dynamic dynamic.Interface

	opts localcluster.Options
}

// Setup prepares what a package's tests share on top of the cluster (a
// running reconciler, say) and returns how to tear it down.
type Setup func(c *Cluster) (teardown func(), err error)

// Run starts a cluster in a temporary data dir, stores it in *dst, runs the
// setups, runs the tests, tears down, stops the cluster and returns the exit
// code for os.Exit.
func Run(m *testing.M, dst **Cluster, setups ...Setup) int {
	dir, err := os.MkdirTemp("", "gyre-test-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustertest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	c, err := Start(localcluster.Options{DataDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustertest: start embedded cluster:", err)
		return 1
	}
	*dst = c
	defer c.Stop()
	for _, setup := range setups {
		teardown, err := setup(c)
		if err != nil {
			fmt.Fprintln(os.Stderr, "clustertest: setup:", err)
			return 1
		}
		defer teardown()
	}
	return m.Run()
}

// Start starts an embedded cluster with opts and builds its clients.
func Start(opts localcluster.Options) (*Cluster, error) {
	lc, err := localcluster.Start(context.Background(), opts)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts}
	if err := c.attach(lc); err != nil {
		lc.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) attach(lc *localcluster.Cluster) error {
	c.Cluster = lc
	c.Config = lc.RESTConfig()
	var err error
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return err
	}
	c.Dynamic, err = dynamic.NewForConfig(c.Config)
	return err
}

// Restart stops the cluster and starts it again on the same data dir and
// address, as a user restarting `gyre up` would.
func (c *Cluster) Restart() error {
	u, err := url.Parse(c.URL())
	if err != nil {
		return err
	}
	c.Stop()
	opts := c.opts
	opts.APIAddress = u.Host
	lc, err := localcluster.Start(context.Background(), opts)
	if err != nil {
		return err
	}
	return c.attach(lc)
}

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a namespace for the calling test, named after it, waits
// until pods can be created in it (its default ServiceAccount exists) and
// deletes it when the test ends.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	base := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 40 {
		base = base[:40]
	}
	suffix := make([]byte, 3)
	rand.Read(suffix)
	name := strings.Trim(base, "-") + "-" + hex.EncodeToString(suffix)
	ctx := context.Background()
	_, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		c.Client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := c.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("namespace %s: default ServiceAccount: %v", name, err)
	}
	return name
}

// Eventually polls cond until it returns true or timeout passes, then
// fails the test with the last message cond gave. It is
// testsupport.Eventually, here for the tests that already hold a Cluster.
func Eventually(t testing.TB, timeout time.Duration, cond func() (done bool, msg string)) {
	t.Helper()
	testsupport.Eventually(t, timeout, cond)
}

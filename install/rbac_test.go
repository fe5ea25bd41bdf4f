package install

import (
	"fmt"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
)

// chartServiceAccount installs the chart's ServiceAccount and RBAC objects,
// rendered with values as release release in namespace ns, and returns a
// client configuration that authenticates as that ServiceAccount with a
// freshly minted token (TokenRequest), as gyre's pod would. Cluster-scoped
// objects are deleted when the test ends; pick a release name no other test
// uses.
func chartServiceAccount(t testing.TB, release, ns, values string) *rest.Config {
	t.Helper()
	c := renderRelease(t, release, ns, values)
	a := newApplier(t, cluster.Dynamic)
	saName := ""
	for _, obj := range c.objs {
		switch obj.GetKind() {
		case "ServiceAccount":
			saName = obj.GetName()
		case "ClusterRole", "ClusterRoleBinding":
			name, kind := obj.GetName(), obj.GetKind()
			t.Cleanup(func() {
				if kind == "ClusterRole" {
					cluster.Client.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})
				} else {
					cluster.Client.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
				}
			})
		case "Role", "RoleBinding":
		default:
			continue
		}
		if err := a.apply(obj, false); err != nil {
			t.Fatal(err)
		}
	}
	if saName == "" {
		t.Fatal("the chart rendered no ServiceAccount")
	}
	exp := int64(600)
	tr, err := cluster.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, saName, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for ServiceAccount %s/%s: %v", ns, saName, err)
	}
	cfg := rest.AnonymousClientConfig(cluster.Config) // same host and CA, no client certificate
	cfg.BearerToken = tr.Status.Token
	return cfg
}

// TestChartRBAC: the chart's ServiceAccount may do what gyre needs and, in
// namespace-limited mode, no more: create objects in the listed namespaces,
// not in others; read secrets and hold a Lease in its own namespace; read
// Applications everywhere.
func TestChartRBAC(t *testing.T) {
	for _, tc := range []struct {
		name        string
		clusterWide bool
	}{
		{"namespace-limited", false},
		{"cluster-wide", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			own, allowed, other := cluster.Namespace(t), cluster.Namespace(t), cluster.Namespace(t)
			values := ""
			if !tc.clusterWide {
				values = fmt.Sprintf("rbac: {clusterWide: false, namespaces: [%s]}", allowed)
			}
			cfg := chartServiceAccount(t, own, own, values)
			as, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if who, err := as.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			} else if u := who.Status.UserInfo.Username; u != "system:serviceaccount:"+own+":"+own+"-gyre" {
				t.Fatalf("authenticated as %q", u)
			}

			// RBAC takes effect through the authorizer's informers: wait for
			// the first permission, then the rest hold.
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "made-by-gyre"}}
			clustertest.Eventually(t, 10*time.Second, func() (bool, string) {
				_, err := as.CoreV1().ConfigMaps(allowed).Create(ctx, cm, metav1.CreateOptions{})
				return err == nil, fmt.Sprintf("create ConfigMap in %s: %v", allowed, err)
			})
			_, err = as.CoreV1().ConfigMaps(other).Create(ctx, cm, metav1.CreateOptions{})
			if tc.clusterWide && err != nil {
				t.Errorf("create ConfigMap in %s: %v", other, err)
			}
			if !tc.clusterWide && !apierrors.IsForbidden(err) {
				t.Errorf("create ConfigMap in %s (not listed) = %v, want Forbidden", other, err)
			}
			if _, err := as.CoreV1().Secrets(own).List(ctx, metav1.ListOptions{}); err != nil {
				t.Errorf("list secrets in its own namespace: %v", err)
			}
			lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "gyre-leader"}}
			if _, err := as.CoordinationV1().Leases(own).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
				t.Errorf("create the leader Lease in its own namespace: %v", err)
			}
			if _, err := as.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err != nil {
				t.Errorf("list namespaces: %v", err)
			}
			if _, err := as.Discovery().ServerGroups(); err != nil {
				t.Errorf("discovery: %v", err)
			}
			dyn, err := dynamic.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dyn.Resource(app.GroupVersionResource()).List(ctx, metav1.ListOptions{}); err != nil {
				t.Errorf("list Applications in every namespace: %v", err)
			}
			// What gyre does at start: apply its CRDs (dry run: authorized
			// all the same) and watch Projects in its own namespace.
			for _, manifest := range [][]byte{app.CRD(), app.ProjectCRD()} {
				crd := &unstructured.Unstructured{}
				if err := yaml.Unmarshal(manifest, &crd.Object); err != nil {
					t.Fatal(err)
				}
				_, err = dyn.Resource(crdResource).Apply(ctx, crd.GetName(), crd, metav1.ApplyOptions{FieldManager: "gyre", Force: true, DryRun: []string{metav1.DryRunAll}})
				if err != nil {
					t.Errorf("apply the %s CRD: %v", crd.GetName(), err)
				}
			}
			if _, err := dyn.Resource(app.ProjectGroupVersionResource()).List(ctx, metav1.ListOptions{}); err != nil {
				t.Errorf("list Projects: %v", err)
			}
			if !tc.clusterWide {
				if _, err := as.CoreV1().Secrets(other).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
					t.Errorf("list secrets in %s = %v, want Forbidden", other, err)
				}
			}
		})
	}
}

package install

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/localcluster/clustertest"
)

var ctx = context.Background()

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// applier applies objects with server-side apply, finding each kind's
// resource through discovery.
type applier struct {
	t      testing.TB
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func newApplier(t testing.TB, dyn dynamic.Interface) *applier {
	t.Helper()
	disc, err := discovery.NewDiscoveryClientForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &applier{t: t, dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}
}

// resource returns the client of obj's kind in obj's namespace.
func (a *applier) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		a.mapper.Reset() // a CRD may just have been created
		m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return a.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
	}
	return a.dyn.Resource(m.Resource), nil
}

// apply server-side applies obj as field manager "test"; with dryRun the
// API server validates and admits it without storing it.
func (a *applier) apply(obj *unstructured.Unstructured, dryRun bool) error {
	ri, err := a.resource(obj)
	if err != nil {
		return fmt.Errorf("%s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	opts := metav1.ApplyOptions{FieldManager: "test"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := ri.Apply(ctx, obj.GetName(), obj, opts); err != nil {
		return fmt.Errorf("%s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// waitEstablished waits until the CRD name is served.
func waitEstablished(t testing.TB, name string) {
	t.Helper()
	clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
		got, err := cluster.Dynamic.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			if c, _ := c.(map[string]any); c["type"] == "Established" && c["status"] == "True" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("CRD %s not established: %v", name, conds)
	})
}

// serviceMonitorCRD stands in for the Prometheus Operator's CRD, which the
// embedded cluster does not have: the kind and version are right, the
// schema accepts anything. The dry run checks that the chart's
// ServiceMonitor reaches a served kind, not its fields.
const serviceMonitorCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`

func installServiceMonitorCRD(t testing.TB) {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(serviceMonitorCRD), &obj.Object); err != nil {
		t.Fatal(err)
	}
	_, err := cluster.Dynamic.Resource(crdResource).Create(ctx, obj, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	waitEstablished(t, obj.GetName())
}

// TestChartPassesAPIServerValidation: every object the chart renders, for
// the default values and with every option on, is accepted by the API
// server (schema validation, defaulting, admission) in a server-side
// dry-run apply. The chart's CRD is installed for real first, as `helm
// install` does with crds/.
func TestChartPassesAPIServerValidation(t *testing.T) {
	ns := cluster.Namespace(t)
	teamA, teamB := cluster.Namespace(t), cluster.Namespace(t)
	installServiceMonitorCRD(t)
	a := newApplier(t, cluster.Dynamic)

	for _, tc := range []struct {
		name, values string
		files        []string
	}{
		{name: "defaults"},
		{name: "all-on", files: []string{"ci/all-on-values.yaml"},
			values: fmt.Sprintf("rbac: {namespaces: [%s, %s]}\nappNamespace: %s\n", teamA, teamB, ns)},
		{name: "created-tokens", files: []string{"ci/created-tokens-values.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := renderChart(t, ns, tc.values, tc.files...)
			for _, obj := range c.objs {
				if obj.GetKind() == "CustomResourceDefinition" {
					if err := a.apply(obj, false); err != nil {
						t.Fatalf("install the chart's CRD: %v", err)
					}
					waitEstablished(t, obj.GetName())
				}
			}
			for _, obj := range c.objs {
				if err := a.apply(obj, true); err != nil {
					t.Errorf("dry-run apply: %v", err)
				}
			}
		})
	}
}

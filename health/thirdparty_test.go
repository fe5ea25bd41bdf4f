package health

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// TestCheckThirdParty reads each testdata/crds/<project>-<kind>-<state>.yaml,
// a custom resource of a well-known project as its controller leaves it,
// and checks its health and a part of the message.
func TestCheckThirdParty(t *testing.T) {
	tests := []struct {
		file   string
		status app.HealthStatus // "" means no health (ok false)
		msg    string
	}{
		{"certmanager-certificate-ready.yaml", app.Healthy, "Certificate is up to date and has not expired"},
		{"certmanager-certificate-renewing.yaml", app.Progressing, "issuing certificate: Renewing certificate as renewal was scheduled"},
		{"certmanager-certificate-failed.yaml", app.Degraded, `Ready is False: Issuing certificate as Secret does not exist; issuance failed: The certificate request has failed to complete and will be retried: Failed to wait for order resource "api-tls-1-2836172"`},
		{"certmanager-certificate-new.yaml", app.Progressing, "waiting for the certificate to be issued"},
		{"certmanager-clusterissuer-ready.yaml", app.Healthy, "The ACME account was registered with the ACME server"},
		{"certmanager-issuer-ca-missing.yaml", app.Degraded, `Ready is False: Error getting keypair for CA issuer: secret "internal-ca-keypair" not found`},

		{"rollouts-rollout-healthy.yaml", app.Healthy, ""},
		{"rollouts-rollout-progressing.yaml", app.Progressing, "rollout is progressing: more replicas need to be updated"},
		{"rollouts-rollout-canary-paused.yaml", app.Suspended, "rollout is paused: CanaryPauseStep"},
		{"rollouts-rollout-spec-paused.yaml", app.Suspended, "rollout is paused: manually paused"},
		{"rollouts-rollout-aborted.yaml", app.Degraded, "rollout is degraded: RolloutAborted: Rollout aborted update to revision 3"},
		{"rollouts-rollout-old-generation.yaml", app.Progressing, "waiting for rollout to be observed: generation 4, observed 3"},

		{"argocd-application-healthy.yaml", app.Healthy, ""},
		{"argocd-application-degraded.yaml", app.Degraded, `Deployment "payments-api" exceeded its progress deadline`},
		{"argocd-application-suspended.yaml", app.Suspended, ""},
		{"argocd-application-new.yaml", app.Progressing, "waiting for the application to be reconciled"},

		{"flux-kustomization-ready.yaml", app.Healthy, "Applied revision: main@sha1:7e6d5c4b"},
		{"flux-kustomization-suspended.yaml", app.Suspended, "reconciliation is suspended"},
		{"flux-helmrelease-upgrade-failed.yaml", app.Degraded, "Failed to upgrade after 4 attempt(s)"},
		{"flux-helmrelease-installing.yaml", app.Progressing, "Running 'install' action with timeout of 5m0s"},
		{"flux-gitrepository-auth-failed.yaml", app.Degraded, "Ready is False: failed to checkout and determine revision: unable to clone"},
		{"flux-gitrepository-old-generation.yaml", app.Progressing, "generation 5, observed 4"},
		{"flux-helmrepository-oci.yaml", app.Healthy, "OCI Helm repositories are not reconciled"},
		{"flux-ocirepository-new.yaml", app.Progressing, "waiting for the controller to reconcile"},

		{"crossplane-bucket-available.yaml", app.Healthy, ""},
		{"crossplane-bucket-sync-error.yaml", app.Degraded, "Synced is False: update failed: async update failed"},
		{"crossplane-bucket-creating.yaml", app.Progressing, "Ready is False: Creating"},
		{"crossplane-bucket-paused.yaml", app.Suspended, "reconciliation is paused"},
		{"crossplane-rdsinstance-unavailable.yaml", app.Degraded, "Ready is False: DB instance status is storage-full"},
		{"crossplane-provider-healthy.yaml", app.Healthy, ""},
		{"crossplane-provider-unhealthy.yaml", app.Degraded, "package is unhealthy: post establish runtime hook failed"},
		{"crossplane-provider-installing.yaml", app.Progressing, "waiting for the package to be installed: cannot unpack package"},
		{"crossplane-xrd-established.yaml", app.Healthy, ""},
		{"crossplane-composition-plain.yaml", "", ""},
		{"crossplane-claim-ready.yaml", app.Healthy, ""},
		{"crossplane-claim-sync-error.yaml", app.Degraded, "Synced is False: cannot compose resources: cannot render composed resource"},
		{"crossplane-claim-paused.yaml", app.Suspended, "reconciliation is paused"},
		{"crossplane-xr-v2-creating.yaml", app.Progressing, "Ready is False: Creating"},
		{"crossplane-lookalike-resourceref.yaml", app.Healthy, ""},

		{"keda-scaledobject-active.yaml", app.Healthy, "Scaling is performed because triggers are active"},
		{"keda-scaledobject-idle.yaml", app.Healthy, "Scaling is not performed because triggers are not active"},
		{"keda-scaledobject-fallback.yaml", app.Degraded, "scaler is failing, fallback replicas in use: At least one trigger is falling back"},
		{"keda-scaledobject-paused-replicas.yaml", app.Suspended, "autoscaling is paused at 0 replicas"},
		{"keda-scaledobject-bad-target.yaml", app.Degraded, "Ready is False: ScaledObject doesn't have correct scaleTargetRef specification"},
		{"keda-scaledjob-ready.yaml", app.Healthy, "Scaling is performed because triggers are active"},
		{"keda-scaledjob-paused.yaml", app.Suspended, "autoscaling is paused"},

		{"istio-virtualservice-no-status.yaml", "", ""},
		{"istio-virtualservice-reconciled.yaml", app.Healthy, "122/122 proxies up to date."},
		{"istio-destinationrule-propagating.yaml", app.Progressing, "configuration is being distributed to the proxies: 61/122 proxies up to date."},
		{"istio-gateway-old-generation.yaml", app.Progressing, "waiting for rollout to be observed: generation 5, observed 4"},
		{"istio-gateway-analysis-only.yaml", "", ""},

		{"karpenter-nodepool-ready.yaml", app.Healthy, ""},
		{"karpenter-nodepool-nodeclass-missing.yaml", app.Degraded, "NodeClassReady is False: NodeClass not found on cluster"},
		{"karpenter-ec2nodeclass-ready.yaml", app.Healthy, ""},
		{"karpenter-ec2nodeclass-no-subnets.yaml", app.Degraded, "SubnetsReady is False: SubnetSelector did not match any Subnets"},
		{"karpenter-nodeclaim-launching.yaml", app.Progressing, "waiting for the instance to launch: object is awaiting reconciliation"},
		{"karpenter-nodeclaim-launch-failed.yaml", app.Degraded, "instance launch failed: creating instance, insufficient capacity"},
		{"karpenter-nodeclaim-initializing.yaml", app.Progressing, "waiting for the node to initialize: Node status is NotReady"},
		{"karpenter-nodeclaim-ready.yaml", app.Healthy, "node initialized: ip-10-0-12-34.eu-west-1.compute.internal"},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			obj := readObject(t, filepath.Join("crds", tt.file))
			got, ok := Check(obj)
			if tt.status == "" {
				if ok {
					t.Fatalf("Check(%s) = %+v, want no health", tt.file, got)
				}
				return
			}
			if !ok {
				t.Fatalf("Check(%s): no health, want %s", tt.file, tt.status)
			}
			if got.Status != tt.status || !strings.Contains(got.Message, tt.msg) {
				t.Errorf("Check(%s) = %s %q, want %s with %q", tt.file, got.Status, got.Message, tt.status, tt.msg)
			}
			// Numbers decoded as float64 (encoding/json, YAML libraries)
			// give the same health.
			b, err := os.ReadFile(filepath.Join("testdata", "crds", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			floats := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(b, &floats.Object); err != nil {
				t.Fatal(err)
			}
			if fgot, fok := Check(floats); fgot != got || fok != ok {
				t.Errorf("with float64 numbers %+v, with int64 %+v", fgot, got)
			}
		})
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "crds", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no testdata/crds files")
	}
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("%s: no test case", f)
		}
	}
}

// thirdPartyKinds returns the kinds that have a built-in rule of their own,
// with their rule.
func thirdPartyKinds() map[schema.GroupKind]rule {
	return map[schema.GroupKind]rule{
		{Group: "cert-manager.io", Kind: "Certificate"}:                             certificateHealth,
		{Group: "cert-manager.io", Kind: "Issuer"}:                                  issuerHealth,
		{Group: "cert-manager.io", Kind: "ClusterIssuer"}:                           issuerHealth,
		{Group: "argoproj.io", Kind: "Rollout"}:                                     rolloutHealth,
		{Group: "argoproj.io", Kind: "Application"}:                                 applicationHealth,
		{Group: "kustomize.toolkit.fluxcd.io", Kind: "Kustomization"}:               fluxHealth,
		{Group: "helm.toolkit.fluxcd.io", Kind: "HelmRelease"}:                      fluxHealth,
		{Group: "source.toolkit.fluxcd.io", Kind: "GitRepository"}:                  fluxHealth,
		{Group: "source.toolkit.fluxcd.io", Kind: "OCIRepository"}:                  fluxHealth,
		{Group: "source.toolkit.fluxcd.io", Kind: "HelmChart"}:                      fluxHealth,
		{Group: "source.toolkit.fluxcd.io", Kind: "Bucket"}:                         fluxHealth,
		{Group: "source.toolkit.fluxcd.io", Kind: "HelmRepository"}:                 helmRepositoryHealth,
		{Group: "pkg.crossplane.io", Kind: "Provider"}:                              crossplaneHealth,
		{Group: "apiextensions.crossplane.io", Kind: "CompositeResourceDefinition"}: crossplaneHealth,
		{Group: "database.aws.crossplane.io", Kind: "RDSInstance"}:                  crossplaneHealth,
		{Group: "s3.aws.upbound.io", Kind: "Bucket"}:                                crossplaneHealth,
		{Group: "keda.sh", Kind: "ScaledObject"}:                                    kedaHealth,
		{Group: "keda.sh", Kind: "ScaledJob"}:                                       kedaHealth,
		{Group: "networking.istio.io", Kind: "VirtualService"}:                      istioHealth,
		{Group: "networking.istio.io", Kind: "DestinationRule"}:                     istioHealth,
		{Group: "networking.istio.io", Kind: "Gateway"}:                             istioHealth,
		{Group: "karpenter.sh", Kind: "NodePool"}:                                   nodePoolHealth,
		{Group: "karpenter.sh", Kind: "NodeClaim"}:                                  nodeClaimHealth,
		{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass"}:                          nodeClassHealth,
	}
}

// TestRuleForThirdParty checks each well-known kind reaches its rule, and
// that look-alikes (another group's kind of the same name, a group that only
// ends like Crossplane's) keep the generic conventions (and the test for
// Crossplane composites, which look at the object).
func TestRuleForThirdParty(t *testing.T) {
	ptr := func(r rule) uintptr { return reflect.ValueOf(r).Pointer() }
	for gk, want := range thirdPartyKinds() {
		if got := ruleFor(gk); ptr(got) != ptr(want) {
			t.Errorf("ruleFor(%s) is not its built-in rule", gk)
		}
	}
	for _, gk := range []schema.GroupKind{
		{Group: "gateway.networking.k8s.io", Kind: "Gateway"},
		{Group: "example.com", Kind: "Application"},
		{Group: "notcrossplane.io", Kind: "Bucket"},
		{Group: "platform.example.org", Kind: "XDatabase"},
		{Group: "cert-manager.io", Kind: "CertificateRequest"},
	} {
		if ptr(ruleFor(gk)) != ptr(compositeOrGeneric) {
			t.Errorf("ruleFor(%s) is not the generic conventions", gk)
		}
	}
}

// TestThirdPartyMalformed gives every built-in CRD rule fields of the
// wrong types: each must answer, never panic.
func TestThirdPartyMalformed(t *testing.T) {
	bad := []map[string]any{
		{"status": "Ready"},
		{"status": map[string]any{"conditions": "Ready", "phase": int64(3), "observedGeneration": true}},
		{"status": map[string]any{"conditions": []any{"Ready", int64(1), map[string]any{"type": int64(1), "status": false}}}},
		{"spec": map[string]any{"suspend": "yes", "paused": "yes", "type": int64(1)}, "status": map[string]any{"health": "Healthy", "observedGeneration": "abc"}},
		{"metadata": map[string]any{"generation": "7", "annotations": map[string]any{"crossplane.io/paused": "true"}}},
	}
	for gk := range thirdPartyKinds() {
		for i, fields := range bad {
			obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": schema.GroupVersion{Group: gk.Group, Version: "v1"}.String(), "kind": gk.Kind}}
			for k, v := range fields {
				obj.Object[k] = v
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s, malformed object %d: panic %v", gk, i, r)
					}
				}()
				Check(obj)
			}()
		}
	}
}

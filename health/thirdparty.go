package health

import (
	"strconv"
	"strings"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// thirdPartyRule returns the built-in rule for the custom resources of
// projects found in most clusters — cert-manager, Argo CD and Argo Rollouts,
// Flux, Crossplane, KEDA, Istio, Karpenter — each written from the status
// its project documents (one file per project), or nil when gk is none of
// theirs and the generic conventions decide.
func thirdPartyRule(gk schema.GroupKind) rule {
	switch gk.Group {
	case "cert-manager.io":
		switch gk.Kind {
		case "Certificate":
			return certificateHealth
		case "Issuer", "ClusterIssuer":
			return issuerHealth
		}
	case "argoproj.io":
		switch gk.Kind {
		case "Application":
			return applicationHealth
		case "Rollout":
			return rolloutHealth
		}
	case "kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io":
		switch gk.Kind {
		case "Kustomization", "HelmRelease":
			return fluxHealth
		}
	case "source.toolkit.fluxcd.io":
		switch gk.Kind {
		case "GitRepository", "OCIRepository", "HelmChart", "Bucket":
			return fluxHealth
		case "HelmRepository":
			return helmRepositoryHealth
		}
	case "keda.sh":
		switch gk.Kind {
		case "ScaledObject", "ScaledJob":
			return kedaHealth
		}
	case "networking.istio.io":
		switch gk.Kind {
		case "VirtualService", "DestinationRule", "Gateway":
			return istioHealth
		}
	case "karpenter.sh":
		switch gk.Kind {
		case "NodePool":
			return nodePoolHealth
		case "NodeClaim":
			return nodeClaimHealth
		}
	case "karpenter.k8s.aws":
		if gk.Kind == "EC2NodeClass" {
			return nodeClassHealth
		}
	}
	if strings.HasSuffix("."+gk.Group, ".crossplane.io") || strings.HasSuffix(gk.Group, ".upbound.io") {
		return crossplaneHealth
	}
	return nil
}

// readyOrWaiting applies the generic conventions (a Ready condition, kstatus'
// Stalled and Reconciling, observedGeneration) to a kind whose controller
// always sets Ready in the end, so that an object without it yet is
// Progressing with the message waiting rather than without health.
func readyOrWaiting(obj *unstructured.Unstructured, waiting string) (app.HealthState, bool) {
	if st, ok := genericHealth(obj); ok {
		return st, true
	}
	return progressing(waiting), true
}

// intOrStringField reads an integer field that some projects write as a
// string (Argo Rollouts' status.observedGeneration, Istio's
// int-or-string one). ok is false when the field is missing or is not a
// whole number (an old Rollouts spec hash).
func intOrStringField(m map[string]any, fields ...string) (int64, bool) {
	if n, ok := intField(m, fields...); ok {
		return n, true
	}
	s, found, err := unstructured.NestedString(m, fields...)
	if !found || err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

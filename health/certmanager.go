package health

import (
	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// certificateHealth judges a cert-manager Certificate (cert-manager.io) by
// the two conditions cert-manager documents for it. Issuing True means a
// new certificate is being obtained: Progressing, even while the current
// one is still valid. Otherwise Ready decides — True Healthy, False
// Degraded, Unknown or not yet set Progressing — and when an issuance has
// failed (Issuing False, reason Failed) the Degraded message says why.
func certificateHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	conds := conditions(obj)
	issuing := findCondition(conds, "Issuing")
	if issuing != nil && issuing.Status == "True" {
		return progressing(join("issuing certificate", issuing.text())), true
	}
	st, _ := readyOrWaiting(obj, "waiting for the certificate to be issued")
	if st.Status == app.Degraded && issuing != nil && issuing.Status == "False" && issuing.Reason == "Failed" {
		st.Message = join(st.Message+"; issuance failed", issuing.Message)
	}
	return st, true
}

// issuerHealth judges a cert-manager Issuer or ClusterIssuer by its Ready
// condition, which cert-manager sets once it has checked the issuer's
// configuration (an ACME account registered, a CA Secret readable).
func issuerHealth(obj *unstructured.Unstructured) (app.HealthState, bool) {
	return readyOrWaiting(obj, "waiting for the issuer to be checked")
}

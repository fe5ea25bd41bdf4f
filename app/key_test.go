package app

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestResourceKey(t *testing.T) {
	tests := []struct {
		apiVersion, kind, ns, name string
		want                       string
	}{
		{"apps/v1", "Deployment", "prod", "api", "apps/Deployment/prod/api"},
		{"v1", "Service", "prod", "api", "Service/prod/api"},
		{"v1", "Namespace", "", "prod", "Namespace/prod"},
		{"rbac.authorization.k8s.io/v1", "ClusterRole", "", "view", "rbac.authorization.k8s.io/ClusterRole/view"},
	}
	for _, tt := range tests {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(tt.apiVersion)
		u.SetKind(tt.kind)
		u.SetNamespace(tt.ns)
		u.SetName(tt.name)
		k := KeyOf(u)
		if k.String() != tt.want {
			t.Errorf("KeyOf(%s %s).String() = %q, want %q", tt.apiVersion, tt.kind, k, tt.want)
		}
		if k.GroupKind().Kind != tt.kind {
			t.Errorf("GroupKind() = %v", k.GroupKind())
		}
	}
}

func TestTrackingID(t *testing.T) {
	keys := []ResourceKey{
		{Group: "apps", Kind: "Deployment", Namespace: "prod", Name: "api"},
		{Kind: "Namespace", Name: "prod"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:view"},
	}
	for _, k := range keys {
		id := TrackingID("gyre", "web", k)
		ns, name, got, ok := ParseTrackingID(id)
		if !ok || ns != "gyre" || name != "web" || got != k {
			t.Errorf("ParseTrackingID(%q) = %s, %s, %+v, %v; want %+v", id, ns, name, got, ok, k)
		}
	}
	for _, bad := range []string{"", "gyre/web", "gyre/web:apps/Deployment", "gyre:apps/Deployment:prod/api", "gyre/:apps/Deployment:prod/api", "gyre/web:apps:prod/api", "gyre/web:apps/Deployment:prod/"} {
		if _, _, _, ok := ParseTrackingID(bad); ok {
			t.Errorf("ParseTrackingID(%q) accepted a malformed id", bad)
		}
	}
}

func TestAppLabelValue(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct{ ns, name string }{
		{"gyre", "web"},
		{"gyre", "web.v2"},
		{long, strings.Repeat("b", 253)},
		{"gyre", strings.Repeat("x", 40) + "-." + strings.Repeat("y", 40)},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		v := AppLabelValue(tt.ns, tt.name)
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Errorf("AppLabelValue(%s, %s…) = %q: %v", tt.ns, tt.name[:min(len(tt.name), 10)], v, errs)
		}
		if seen[v] {
			t.Errorf("AppLabelValue: %q for two apps", v)
		}
		seen[v] = true
	}
	if AppLabelValue("gyre", "web") != "gyre.web" {
		t.Error("short values are namespace.name")
	}
}

func TestHealthStatusWorse(t *testing.T) {
	order := []HealthStatus{Healthy, Suspended, Progressing, HealthUnknown, Missing, Degraded}
	for i, better := range order {
		for _, worse := range order[i+1:] {
			if !worse.Worse(better) || better.Worse(worse) {
				t.Errorf("want %s worse than %s", worse, better)
			}
		}
		if better.Worse(better) {
			t.Errorf("%s is worse than itself", better)
		}
	}
	if HealthStatus("Bogus").Worse(HealthUnknown) || HealthUnknown.Worse("Bogus") {
		t.Error("an unrecognised status ranks as Unknown")
	}
}

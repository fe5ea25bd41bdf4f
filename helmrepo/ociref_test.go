package helmrepo

import (
	"testing"
)

func TestOCIReference(t *testing.T) {
	for _, tc := range []struct {
		url, chart        string
		wantRef, wantName string
		wantErr           bool
	}{
		{"oci://registry.example.com/charts", "podinfo", "registry.example.com/charts/podinfo", "podinfo", false},
		{"oci://registry.example.com/charts/", "podinfo", "registry.example.com/charts/podinfo", "podinfo", false},
		{"oci://Registry.Example.com:5000/charts", "podinfo", "registry.example.com:5000/charts/podinfo", "podinfo", false},
		{"oci://registry.example.com/charts/podinfo", "", "registry.example.com/charts/podinfo", "podinfo", false},
		{"oci://registry.example.com/charts/podinfo", "podinfo", "registry.example.com/charts/podinfo", "podinfo", false},
		{"oci://registry.example.com", "podinfo", "registry.example.com/podinfo", "podinfo", false},
		{"oci://user:pa55@registry.example.com/charts", "podinfo", "registry.example.com/charts/podinfo", "podinfo", false},
		{"OCI://registry.example.com/a/b", "c", "registry.example.com/a/b/c", "c", false},
		{"oci://registry.example.com", "", "", "", true},
		{"oci://registry.example.com/charts", "..", "", "", true},
		{"oci:///charts", "podinfo", "", "", true},
	} {
		ref, name, err := ociReference(tc.url, tc.chart)
		if tc.wantErr {
			if err == nil {
				t.Errorf("ociReference(%q, %q) = %q, %q; want an error", tc.url, tc.chart, ref, name)
			}
			continue
		}
		if err != nil || ref != tc.wantRef || name != tc.wantName {
			t.Errorf("ociReference(%q, %q) = %q, %q, %v; want %q, %q", tc.url, tc.chart, ref, name, err, tc.wantRef, tc.wantName)
		}
	}
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"oci://Registry.Example.com/charts/":         "oci://registry.example.com/charts",
		"oci://user:secret@registry.example.com/x":   "oci://registry.example.com/x",
		"oci://registry.example.com:5000/Charts":     "oci://registry.example.com:5000/Charts",
		"https://Charts.Example.com/":                "https://charts.example.com",
		"https://user:secret@charts.example.com:443": "https://charts.example.com",
	} {
		if got, err := Key(in); err != nil || got != want {
			t.Errorf("Key(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if !IsOCI(" OCI://registry/x") || IsOCI("https://registry/x") || IsOCI("oci:") {
		t.Error("IsOCI misreads a URL")
	}
}

func TestTagIndex(t *testing.T) {
	idx := tagIndex("podinfo", []string{"6.5.4", "6.5.4_build.1", "latest", "6.6.0-rc.1", "sha256-abc.sig"})
	for rev, want := range map[string]string{"*": "6.5.4+build.1", "6.5.4": "6.5.4", ">=6.6.0-0": "6.6.0-rc.1"} {
		cv, err := idx.resolve("podinfo", rev)
		if err != nil || cv.version != want {
			t.Errorf("resolve(%q) = %v, %v; want %s", rev, cv, err, want)
		}
	}
	if tagOf("6.5.4+build.1") != "6.5.4_build.1" {
		t.Error("tagOf does not write + as _")
	}
	if _, err := idx.resolve("podinfo", "latest"); err == nil {
		t.Error(`"latest" resolved, but it is not a semantic version`)
	}
}

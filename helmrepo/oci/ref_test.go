package oci

import (
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		ref, want string // want "" means an error
	}{
		{"registry.example.com/charts/podinfo", "registry.example.com/charts/podinfo"},
		{"oci://registry.example.com/charts/podinfo", "registry.example.com/charts/podinfo"},
		{"registry.example.com/charts/podinfo/", "registry.example.com/charts/podinfo"},
		{"localhost:5000/podinfo", "localhost:5000/podinfo"},
		{"127.0.0.1:5000/a/b/c", "127.0.0.1:5000/a/b/c"},
		{"", ""},
		{"oci://", ""},
		{"registry.example.com", ""},
		{"registry.example.com/charts/podinfo:1.0.0", ""},
		{"registry.example.com/charts/podinfo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ""},
		{"http://registry.example.com/charts/podinfo", ""},
		{"user:pw@registry.example.com/charts/podinfo", ""},
		{"registry.example.com/Charts", ""},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			got, err := parseRef(tc.ref)
			switch {
			case tc.want == "" && err == nil:
				t.Errorf("parseRef(%q) = %q, want an error", tc.ref, got)
			case tc.want != "" && err != nil:
				t.Errorf("parseRef(%q): %v", tc.ref, err)
			case tc.want != "" && got.String() != tc.want:
				t.Errorf("parseRef(%q) = %q, want %q", tc.ref, got, tc.want)
			}
		})
	}
}

func TestTagOf(t *testing.T) {
	r := repoRef{Host: "registry.example.com", Repository: "charts/podinfo"}
	for _, tc := range []struct{ version, want string }{
		{"1.2.3", "1.2.3"},
		{"1.2.3+build.7", "1.2.3_build.7"},
		{"1.2.3-rc.1+a+b", "1.2.3-rc.1_a_b"},
		{"latest", "latest"},
		{"", ""},
		{"1.2.3/x", ""},
		{"sha256:abc", ""},
	} {
		got, err := tagOf(r, tc.version)
		if tc.want == "" {
			if err == nil {
				t.Errorf("tagOf(%q) = %q, want an error", tc.version, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("tagOf(%q) = %q, %v; want %q", tc.version, got, err, tc.want)
		}
	}
}

// FuzzParseRef checks that parseRef never panics, that what it accepts
// reads back to itself, and that its errors never repeat user information.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"registry.example.com/charts/podinfo", "oci://localhost:5000/a/b/", "a:b@host/x",
		"host/x:1.0", "host/x@sha256:00", "https://host/x", "", "/", "oci://@/", "[::1]:5000/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		got, err := parseRef(ref)
		if err != nil {
			// The message must not depend on the user information: the
			// same reference with other user information reads the same.
			rest, scheme := strings.CutPrefix(ref, "oci://")
			host, _, _ := strings.Cut(rest, "/")
			if i := strings.LastIndex(host, "@"); i >= 0 {
				if scheme {
					rest = "oci://" + rest
					i += len("oci://")
				}
				_, other := parseRef("someone@" + rest[i+1:])
				if other == nil || other.Error() != err.Error() {
					t.Errorf("parseRef(%q): %q; with other user information: %v", ref, err, other)
				}
			}
			if !strings.HasPrefix(err.Error(), "oci registry ") {
				t.Errorf("parseRef(%q): %q does not lead with the subject", ref, err)
			}
			return
		}
		if got.Host == "" || got.Repository == "" {
			t.Fatalf("parseRef(%q) = %+v, empty part", ref, got)
		}
		again, err := parseRef(got.String())
		if err != nil || again != got {
			t.Errorf("parseRef(%q) = %q, which reads back as %q, %v", ref, got, again, err)
		}
	})
}

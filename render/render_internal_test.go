package render

import "testing"

func TestCleanDir(t *testing.T) {
	for in, want := range map[string]string{"": ".", ".": ".", "/": ".", "./a/b/": "a/b", "/a": "a", "a//b/../c": "a/c", "../x": "../x"} {
		if got := cleanDir(in); got != want {
			t.Errorf("cleanDir(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseType(t *testing.T) {
	for in, want := range map[string]Type{"": Auto, "helm": Helm, "Kustomize": Kustomize, "DIRECTORY": Directory} {
		if got, err := ParseType(in); err != nil || got != want {
			t.Errorf("ParseType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseType("plugin"); err == nil {
		t.Error(`ParseType("plugin") succeeded`)
	}
}

package render

import "testing"

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern string
		path    string
		want    bool
	}{
		{"*.yaml", "a.yaml", true},
		{"*.yaml", "dir/sub/a.yaml", true}, // no slash: base name at any depth
		{"*.yaml", "a.yml", false},
		{"base/*.yaml", "base/a.yaml", true},
		{"base/*.yaml", "x/base/a.yaml", false}, // with a slash: the whole path
		{"base/*.yaml", "base/sub/a.yaml", false},
		{"**/*.yaml", "a.yaml", true},
		{"**/*.yaml", "x/y/a.yaml", true},
		{"apps/**/deploy.yaml", "apps/deploy.yaml", true},
		{"apps/**/deploy.yaml", "apps/a/b/deploy.yaml", true},
		{"apps/**/deploy.yaml", "other/a/deploy.yaml", false},
		{"vendor", "vendor/lib/a.yaml", true}, // a directory matches what is below it
		{"vendor", "src/vendor/a.yaml", true},
		{"src/vendor", "src/vendor/a.yaml", true},
		{"src/vendor", "vendor/a.yaml", false},
		{"vendor/", "vendor/a.yaml", true},
		{"{a,b}.yaml", "b.yaml", true},
		{"{a,b}.yaml", "c.yaml", false},
		{"env-{dev,prod}/*.yaml", "env-prod/x.yaml", true},
		{"./base/*.yaml", "base/x.yaml", true},
		{"?.yaml", "ab.yaml", false},
		{"[ab].yaml", "b.yaml", true},
	}
	for _, tc := range tests {
		ps, err := compilePatterns([]string{tc.pattern})
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if got := matchAny(ps, tc.path); got != tc.want {
			t.Errorf("%q matches %q = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}

func TestPatternErrors(t *testing.T) {
	for _, p := range []string{"[a-", "{a,b", "a}"} {
		if _, err := compilePatterns([]string{p}); err == nil {
			t.Errorf("compilePatterns(%q) succeeded, want an error", p)
		}
	}
}

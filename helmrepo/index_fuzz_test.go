package helmrepo

import (
	"errors"
	"testing"
)

// FuzzParseIndex feeds hostile index.yaml documents to the parser and
// resolves against what it accepts: no panic, and every answer is a
// version the index lists, with a well-formed digest or none.
func FuzzParseIndex(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nentries:\n  demo:\n  - name: demo\n    version: 1.2.3\n    digest: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n    urls: [charts/demo-1.2.3.tgz]\n"), "demo", "1.*")
	f.Add([]byte("entries:\n  demo:\n  - version: v2.0.0-rc.1\n  - version: not-semver\n  - version: 1.0.0\n"), "demo", ">=1.0.0-0")
	f.Add([]byte("a: &a [*a, *a]\n"), "a", "")
	f.Add([]byte("entries: {demo: [{version: 1.0.0, created: yesterday}]}\n"), "demo", "^1")
	f.Add([]byte("{\"entries\": {\"x\": [null, {\"version\": \"0.1.0\"}]}}"), "x", "~0.1")
	f.Fuzz(func(t *testing.T, data []byte, chart, constraint string) {
		idx, err := parseIndex(data)
		if err != nil {
			return
		}
		cv, err := idx.resolve(chart, constraint)
		if err != nil {
			if !errors.Is(err, ErrChartNotFound) && !errors.Is(err, ErrVersionNotFound) {
				t.Logf("resolve %q %q: %v", chart, constraint, err)
			}
			return
		}
		ci := idx.charts[chart]
		if ci == nil {
			t.Fatalf("resolved %q, which the index does not list", chart)
		}
		if _, ok := ci.exact[cv.version]; !ok && cv.version != "" {
			found := false
			for _, v := range ci.versions {
				found = found || v.version == cv.version
			}
			if !found {
				t.Fatalf("resolved version %q, which the index does not list", cv.version)
			}
		}
		if d := cv.digest; d != "" && (len(d) != len("sha256:")+64 || d[:7] != "sha256:") {
			t.Fatalf("digest %q is not sha256:<64 hex>", d)
		}
	})
}

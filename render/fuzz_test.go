package render

import (
	"errors"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"testing"
	"testing/fstest"

	"sigs.k8s.io/kustomize/api/resource"
)

// The fuzz targets' seed corpora are in testdata/fuzz/<FuzzName>/, so a
// plain `go test` replays them; `go test -fuzz FuzzX` explores further.

// FuzzDecode: decoding a manifest never panics, and a failure is an *Error
// naming the file.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		b := newBudget(Limits{})
		var err error
		if asJSON {
			_, err = decodeJSON("m.json", data, b)
		} else {
			_, err = decodeYAML("m.yaml", data, b)
		}
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) || (e.File != "m.json" && e.File != "m.yaml") {
			t.Fatalf("error %T %q is not an *Error naming the file", err, err)
		}
	})
}

// FuzzKustomizeRemote checks remote detection against kustomize's own
// parsers: whatever kustomize would clone (its git URL parser accepts it)
// or download (an http or https URL) is refused, as remote or as leaving
// the repository, even when a directory of that name exists.
func FuzzKustomizeRemote(f *testing.F) {
	f.Fuzz(func(t *testing.T, ref string) {
		fsys := fstest.MapFS{"k/kustomization.yaml": &fstest.MapFile{Data: []byte("resources: []\n")}}
		if p := path.Join("k", ref); fs.ValidPath(p) && p != "k" {
			fsys[p+"/kustomization.yaml"] = &fstest.MapFile{Data: []byte("resources: []\n")}
		}
		p, _, err := newScanner(fsys).check("k/kustomization.yaml", "k", "resources", ref)
		if !kustomizeWouldFetch(ref) {
			if err == nil && (!fs.ValidPath(p) || isRemote(ref)) {
				t.Fatalf("accepted %q as %q", ref, p)
			}
			return
		}
		if err == nil {
			t.Fatalf("kustomize would fetch %q, and render accepts it as %q", ref, p)
		}
		if !errors.Is(err, ErrRemoteDisabled) && !strings.Contains(err.Error(), "leaves the repository") {
			t.Fatalf("kustomize would fetch %q, and render refuses it only because: %v", ref, err)
		}
	})
}

// kustomizeWouldFetch reports whether kustomize reads ref from the network
// or a git clone: its loader downloads http and https URLs, and clones what
// its git URL parser accepts, which resource.Origin.Append exposes (Repo is
// set exactly when the parser accepts).
func kustomizeWouldFetch(ref string) (fetch bool) {
	if u, err := url.Parse(ref); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return true
	}
	defer func() {
		if recover() != nil {
			fetch = false // the parser crashed: kustomize fails, fetching nothing
		}
	}()
	return (&resource.Origin{}).Append(ref).Repo != ""
}

// FuzzGlob: compiling and matching include/exclude patterns never panics,
// and patterns without "**" or braces agree with path.Match: a pattern
// without a slash matches a path when it matches one of its segments, a
// pattern with slashes when it matches the path or one of its parents.
func FuzzGlob(f *testing.F) {
	f.Fuzz(func(t *testing.T, pattern, name string) {
		ps, err := compilePatterns([]string{pattern})
		if err != nil || !fs.ValidPath(name) || name == "." {
			if err == nil {
				matchAny(ps, name) // must not panic on odd names either
			}
			return
		}
		got := matchAny(ps, name)
		p := strings.TrimSuffix(strings.TrimPrefix(pattern, "./"), "/")
		if p == "" || strings.ContainsAny(p, "{}") || strings.Contains(p, "**") {
			return
		}
		segs := strings.Split(name, "/")
		want := false
		for n := 1; n <= len(segs); n++ {
			candidate := strings.Join(segs[:n], "/")
			if !strings.Contains(p, "/") {
				candidate = segs[n-1]
			}
			if ok, _ := path.Match(p, candidate); ok {
				want = true
			}
		}
		if got != want {
			t.Fatalf("pattern %q matches %q = %v, path.Match says %v", pattern, name, got, want)
		}
	})
}

// TestKustomizeOracle keeps FuzzKustomizeRemote honest: the oracle must
// still see what kustomize fetches, or the fuzz target passes vacuously.
func TestKustomizeOracle(t *testing.T) {
	for ref, want := range map[string]bool{
		"github.com/org/repo": true, "git@host.example.com:org/repo.git": true, "ssh://host/org/repo": true,
		"https://host/x.yaml": true, "file:///srv/repo": true, "base": false, "../base": false, "gitlab.com/a/b": false,
	} {
		if got := kustomizeWouldFetch(ref); got != want {
			t.Errorf("kustomizeWouldFetch(%q) = %v, want %v", ref, got, want)
		}
	}
}

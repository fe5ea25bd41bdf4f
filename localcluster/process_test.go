package localcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/cache"
)

// TestInformerNameRegistryLayout guards the go:linkname into client-go's
// informer name registry: gyre must see a name registered, and a release
// must free it for the next registration. It fails (or crashes) when
// client-go changes the registry's shape.
func TestInformerNameRegistryLayout(t *testing.T) {
	const name = "gyre-layout-check"
	n, err := cache.NewInformerName(name)
	if err != nil {
		t.Fatal(err)
	}
	if got := heldInformerName(name); got != n {
		t.Fatalf("registry holds %v for %q, want the name just registered", got, name)
	}
	if _, err := cache.NewInformerName(name); err == nil {
		t.Fatal("a held name was registered twice")
	}
	releaseInformerName(name)
	if got := heldInformerName(name); got != nil {
		t.Fatalf("registry still holds %q after release", name)
	}
	again, err := cache.NewInformerName(name)
	if err != nil {
		t.Fatalf("register a released name: %v", err)
	}
	again.Release()
}

// TestLogRouterFollowsTheOldestCluster checks that component logs go to
// the earliest joined file still present, and nowhere once all have left.
func TestLogRouterFollowsTheOldestCluster(t *testing.T) {
	dir := t.TempDir()
	open := func(name string) *os.File {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	read := func(f *os.File) string {
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var r logRouter
	r.Write([]byte("lost\n"))
	a, b, c := open("a.log"), open("b.log"), open("c.log")
	if to := r.join(a); to != a.Name() {
		t.Fatalf("first join: logs go to %s", to)
	}
	if to := r.join(b); to != a.Name() {
		t.Fatalf("second join: logs go to %s, want %s", to, a.Name())
	}
	r.Write([]byte("one\n"))
	r.leave(a)
	r.join(c)
	r.Write([]byte("two\n"))
	if got := r.current(); got != b.Name() {
		t.Fatalf("current %s, want %s", got, b.Name())
	}
	r.leave(b)
	r.Write([]byte("three\n"))
	r.leave(c)
	r.Write([]byte("four\n"))
	if got := r.current(); got != "" {
		t.Fatalf("current %q with no file", got)
	}
	for f, want := range map[*os.File]string{a: "one\n", b: "two\n", c: "three\n"} {
		if got := read(f); got != want {
			t.Errorf("%s holds %q, want %q", filepath.Base(f.Name()), got, want)
		}
	}
	if strings.Contains(read(a)+read(b)+read(c), "lost") {
		t.Error("a line written with no file reached one")
	}
}

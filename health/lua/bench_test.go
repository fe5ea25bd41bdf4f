package lua

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// BenchmarkCheck measures one check of a cert-manager Certificate with
// Argo CD's script: a fresh Lua state, the object converted, the script
// run.
func BenchmarkCheck(b *testing.B) {
	entries, errs := FromDir(filepath.Join("testdata", "scripts"))
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	s := NewSet(Options{}, entries)
	obj, err := readObject(os.DirFS("testdata"), "scripts/cert-manager.io/Certificate/testdata/certificate-ready.yaml")
	if err != nil {
		b.Fatal(err)
	}
	if s.ScriptFor(schema.GroupKind{Group: "cert-manager.io", Kind: "Certificate"}) == nil {
		b.Fatal("no script for Certificate")
	}
	b.ReportAllocs()
	for b.Loop() {
		if st, _ := s.Check(obj); st.Status != app.Healthy {
			b.Fatal(st)
		}
	}
}

package render_test

import (
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/gyre-cd/gyre/render"
)

func TestMountServesEachTreeUnderItsName(t *testing.T) {
	base := fstest.MapFS{
		"app/Chart.yaml": {Data: []byte("base")},
		"$values/hidden": {Data: []byte("hidden by the mount")},
	}
	values := fstest.MapFS{"env/prod.yaml": {Data: []byte("replicas: 3")}}
	m := render.Mount(base, map[string]fs.FS{"$values": values})

	if got, err := fs.ReadFile(m, "$values/env/prod.yaml"); err != nil || string(got) != "replicas: 3" {
		t.Fatalf("mounted file = %q, %v", got, err)
	}
	if got, err := fs.ReadFile(m, "app/Chart.yaml"); err != nil || string(got) != "base" {
		t.Fatalf("base file = %q, %v", got, err)
	}
	if _, err := fs.ReadFile(m, "$values/hidden"); err == nil {
		t.Fatal("a base entry under a mount name is still visible")
	}
	info, err := fs.Stat(m, "$values")
	if err != nil || !info.IsDir() || info.Name() != "$values" {
		t.Fatalf("stat of the mount point = %v, %v", info, err)
	}
	var names []string
	if err := fs.WalkDir(m, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			names = append(names, p)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"$values/env/prod.yaml", "app/Chart.yaml"}
	if len(names) != len(want) || names[0] != want[0] || names[1] != want[1] {
		t.Fatalf("walk = %v, want %v", names, want)
	}
	if err := fstest.TestFS(m, "app/Chart.yaml", "$values/env/prod.yaml"); err != nil {
		t.Fatal(err)
	}
}

func TestMountOnNothing(t *testing.T) {
	chart := fstest.MapFS{"redis/Chart.yaml": {Data: []byte("name: redis")}}
	m := render.Mount(nil, map[string]fs.FS{"0123": chart})
	if err := fstest.TestFS(m, "0123/redis/Chart.yaml"); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(m, "other"); err == nil {
		t.Fatal("a name outside the mounts exists in an empty base")
	}
}

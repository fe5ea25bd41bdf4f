package render_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/gyre-cd/gyre/render"
)

// listenLoopback starts a listener on the loopback interface that accepts
// and closes every connection, and returns its address. When the test ends
// it fails the test if anything connected. A client (an HTTP fetch) waits
// for the server, so a connection made during a render is accepted before
// the render returns.
func listenLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepts atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		if n := accepts.Load(); n > 0 {
			t.Errorf("the render connected to %s %d times", ln.Addr(), n)
		}
	})
	return ln.Addr().String()
}

// schemaChart is a chart whose values.schema.json is schema.
func schemaChart(schema, values string) fstest.MapFS {
	return fstest.MapFS{
		"c/Chart.yaml":         file(chartYAML),
		"c/values.yaml":        file(values),
		"c/values.schema.json": file(schema),
		"c/templates/cm.yaml":  file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"),
	}
}

// TestHelmSchemaReferencesRefused: a values schema that refers to another
// document, on the network or on disk, is an error naming the schema and
// the reference; nothing connects and nothing is read. Each referred
// document would accept the values, so a fetch would make the render pass.
func TestHelmSchemaReferencesRefused(t *testing.T) {
	addr := listenLoopback(t)
	secret := filepath.Join(t.TempDir(), "schema.json")
	if err := os.WriteFile(secret, []byte(`{"type": "object"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		schema string
		ref    string
	}{
		{"http $ref", `{"type": "object", "properties": {"a": {"$ref": "http://ADDR/a.json"}}}`, "http://ADDR/a.json"},
		{"https $ref", `{"$ref": "https://ADDR/a.json"}`, "https://ADDR/a.json"},
		{"http $schema", `{"$schema": "http://ADDR/meta.json", "type": "object"}`, "http://ADDR/meta.json"},
		{"file $ref", `{"$ref": "file://SECRET"}`, "file://SECRET"},
		{"relative $ref (a file next to the schema, for Helm)", `{"$ref": "other.json"}`, "file:///other.json"},
		{"relative $ref against an http $id", `{"$id": "http://ADDR/root.json", "$ref": "other.json"}`, "http://ADDR/other.json"},
		{"$ref in $defs", `{"$defs": {"a": {"$ref": "http://ADDR/d.json"}}, "properties": {"a": {"$ref": "#/$defs/a"}}}`, "http://ADDR/d.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := strings.NewReplacer("ADDR", addr, "SECRET", secret)
			_, err := render.Render(schemaChart(r.Replace(tc.schema), "a: 1\n"), "c", render.Options{})
			var e *render.Error
			if !errors.As(err, &e) || !errors.Is(err, render.ErrRemoteDisabled) {
				t.Fatalf("Render = %v, want an *render.Error wrapping ErrRemoteDisabled", err)
			}
			if e.File != "api/values.schema.json" {
				t.Errorf("Error.File = %q, want api/values.schema.json", e.File)
			}
			if want := r.Replace(tc.ref); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		})
	}
}

// TestHelmSchemaDrafts: the standard drafts' meta-schemas work offline, and
// validation failures read as Helm's.
func TestHelmSchemaDrafts(t *testing.T) {
	listenLoopback(t)
	for _, draft := range []string{
		"", // the library's default
		"http://json-schema.org/draft-04/schema#",
		"http://json-schema.org/draft-06/schema#",
		"http://json-schema.org/draft-07/schema#",
		"https://json-schema.org/draft/2019-09/schema",
		"https://json-schema.org/draft/2020-12/schema",
	} {
		t.Run(draft, func(t *testing.T) {
			schema := `{"type": "object", "required": ["replicas"], "properties": {"replicas": {"type": "integer", "minimum": 1}}}`
			if draft != "" {
				schema = `{"$schema": "` + draft + `", ` + schema[1:]
			}
			fsys := schemaChart(schema, "replicas: 2\n")
			if _, err := render.Render(fsys, "c", render.Options{}); err != nil {
				t.Fatalf("valid values: %v", err)
			}
			_, err := render.Render(fsys, "c", render.Options{Helm: render.HelmOptions{Values: "replicas: zero\n"}})
			if err == nil {
				t.Fatal("invalid values rendered")
			}
			want := "values don't meet the specifications of the schema(s) in the following chart(s):\napi:\n- at '/replicas': got string, want integer\n"
			if !strings.HasSuffix(err.Error(), want) {
				t.Errorf("error %q, want it to end in Helm's message %q", err, want)
			}
			opts := render.Options{Helm: render.HelmOptions{Values: "replicas: zero\n", SkipSchemaValidation: true}}
			if _, err := render.Render(fsys, "c", opts); err != nil {
				t.Errorf("with SkipSchemaValidation: %v", err)
			}
		})
	}
}

// TestHelmSchemaMessagesMatchHelm: for self-contained schemas, including a
// subchart's, the validation message is exactly Helm's.
func TestHelmSchemaMessagesMatchHelm(t *testing.T) {
	fsys := fstest.MapFS{
		"c/Chart.yaml":                    file(chartYAML),
		"c/values.yaml":                   file("replicas: 1\nsub:\n  port: http\n"),
		"c/values.schema.json":            file(`{"properties": {"replicas": {"type": "integer", "maximum": 3}, "name": {"type": "string", "pattern": "^[a-z]+$"}}}`),
		"c/charts/sub/Chart.yaml":         file("apiVersion: v2\nname: sub\nversion: 0.1.0\n"),
		"c/charts/sub/values.schema.json": file(`{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"port": {"type": "integer"}}, "required": ["port", "host"]}`),
	}
	values := "replicas: 7\nname: Bad Name\n"
	_, renderErr := render.Render(fsys, "c", render.Options{Helm: render.HelmOptions{Values: values}})
	var e *render.Error
	if !errors.As(renderErr, &e) {
		t.Fatalf("Render = %v, want an *render.Error", renderErr)
	}

	var files []*loader.BufferedFile
	for name, f := range fsys {
		files = append(files, &loader.BufferedFile{Name: strings.TrimPrefix(name, "c/"), Data: f.Data})
	}
	c, err := loader.LoadFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ReadValues([]byte(values))
	if err != nil {
		t.Fatal(err)
	}
	_, helmErr := chartutil.ToRenderValuesWithSchemaValidation(c, vals, chartutil.ReleaseOptions{Name: "api"}, nil, false)
	if helmErr == nil {
		t.Fatal("Helm accepts the values")
	}
	// Helm lists the causes in map order; render sorts them.
	if got, want := sortedLines(e.Err.Error()), sortedLines(helmErr.Error()); got != want {
		t.Errorf("message differs from Helm's:\n got: %q\nwant: %q", e.Err.Error(), helmErr.Error())
	}
	for range 10 {
		_, again := render.Render(fsys, "c", render.Options{Helm: render.HelmOptions{Values: values}})
		if again.Error() != renderErr.Error() {
			t.Fatalf("the same values failed with another message:\n%s\n%s", again, renderErr)
		}
	}
}

// sortedLines returns s with its lines sorted.
func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

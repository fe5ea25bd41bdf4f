package render

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestWireSentinelsCoverPackage fails when a file of the package declares
// an exported Err… sentinel that wireSentinels does not carry across the
// process boundary: errors.Is would stop finding it in sandboxed renders.
func TestWireSentinelsCoverPackage(t *testing.T) {
	carried := map[string]bool{}
	for _, s := range wireSentinels() {
		carried[s.name] = true
	}
	declared := exportedErrorVars(t)
	if len(declared) == 0 {
		t.Fatal("found no Err… variables in the package: the parser missed them")
	}
	for _, name := range declared {
		if !carried["render."+name] {
			t.Errorf("%s is missing from wireSentinels: errors.Is will not find it after a sandboxed render", name)
		}
	}
}

// exportedErrorVars returns the names of the package-level exported
// variables named Err… in the package's non-test files.
func exportedErrorVars(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.VAR {
				continue
			}
			for _, spec := range gen.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					if strings.HasPrefix(n.Name, "Err") && n.IsExported() {
						names = append(names, n.Name)
					}
				}
			}
		}
	}
	return names
}

// TestWireErrorRoundTrip sends errors of each rebuilt kind through the
// codec: the message stays, the fields stay, errors.Is still finds the
// sentinels.
func TestWireErrorRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		err  error
		is   []error
	}{
		{"render error", &Error{Type: Helm, Path: "c", File: "c/values.yaml", Line: 3, Err: fmt.Errorf("value file %q: %w", "x.yaml", ErrNotFound)}, []error{ErrNotFound}},
		{"path error", &fs.PathError{Op: "open", Path: "a/b", Err: fs.ErrNotExist}, []error{fs.ErrNotExist}},
		{"two sentinels", fmt.Errorf("both: %w, %w", ErrRemoteDisabled, fs.ErrPermission), []error{ErrRemoteDisabled, fs.ErrPermission}},
		{"plain", errors.New("no sentinel"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := encodeError(tt.err).decode()
			if got.Error() != tt.err.Error() {
				t.Errorf("message %q, want %q", got, tt.err)
			}
			for _, s := range tt.is {
				if !errors.Is(got, s) {
					t.Errorf("errors.Is(%v) = false after the round trip", s)
				}
			}
			if errors.Is(got, ErrNotObject) {
				t.Errorf("errors.Is(ErrNotObject) = true after the round trip; it was never wrapped")
			}
			var re *Error
			if want, ok := tt.err.(*Error); ok {
				if !errors.As(got, &re) || re.Type != want.Type || re.Path != want.Path || re.File != want.File || re.Line != want.Line {
					t.Errorf("got %#v, want the *Error's fields kept", got)
				}
			}
			var pe *fs.PathError
			if want, ok := tt.err.(*fs.PathError); ok {
				if !errors.As(got, &pe) || pe.Op != want.Op || pe.Path != want.Path {
					t.Errorf("got %#v, want the *fs.PathError's fields kept", got)
				}
			}
		})
	}
}

// TestRenderCallCarriesEveryOption sends Options with every field set
// through the pipe's encoding: a field the encoding drops (or cannot
// carry) would be an option a sandboxed render silently ignores.
func TestRenderCallCarriesEveryOption(t *testing.T) {
	var want renderCall
	fill(t, reflect.ValueOf(&want).Elem(), "")
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&toWorker{Render: &want}); err != nil {
		t.Fatalf("encode: %v", err)
	}
	var got toWorker
	if err := gob.NewDecoder(&buf).Decode(&got); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !reflect.DeepEqual(got.Render, &want) {
		t.Errorf("render call changed on the way:\n got %+v\nwant %+v", got.Render, &want)
	}
}

// fill sets every field reachable from v to a value that is not the zero
// value: each string, number and bool, one element in each slice and map,
// and what every pointer points to.
func fill(t *testing.T, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				t.Fatalf("%s.%s is unexported: gob does not carry it to the worker", path, f.Name)
			}
			fill(t, v.Field(i), path+"."+f.Name)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), path)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0), path+"[0]")
	case reflect.Map:
		key, elem := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, key, path+"[key]")
		fill(t, elem, path+"[value]")
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(key, elem)
	case reflect.String:
		v.SetString("x" + path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(7.5)
	default:
		t.Fatalf("%s is a %s: teach fill (and check that gob carries it)", path, v.Kind())
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1000: "1000 B", 1 << 10: "1 KiB", 1 << 30: "1 GiB", 3 << 29: "1.5 GiB", 256 << 20: "256 MiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestLastWords picks the line that says why a worker died out of what it
// wrote to stderr.
func TestLastWords(t *testing.T) {
	tests := []struct{ stderr, want string }{
		{"runtime: out of memory: cannot allocate 33554432-byte block (305889280 in use)\nfatal error: out of memory\n\ngoroutine 1 [running]:\n", "fatal error: out of memory"},
		{"# Warning: something\npanic: boom\n\ngoroutine 1 [running]:\n", "panic: boom"},
		{"\nrender worker: 1.1 GiB of memory in use passes the budget of 1 GiB\n", "render worker: 1.1 GiB of memory in use passes the budget of 1 GiB"},
		{"something odd\nand more\n", "something odd"},
		{"", ""},
	}
	for _, tt := range tests {
		c := &stderrCapture{}
		c.Write([]byte(tt.stderr))
		if got := c.lastWords(); got != tt.want {
			t.Errorf("lastWords(%q) = %q, want %q", tt.stderr, got, tt.want)
		}
	}
}

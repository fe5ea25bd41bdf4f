package lua

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestFile is the name of the tests kept next to a script.
const TestFile = "health_test.yaml"

// testFile is the content of a health_test.yaml, in Argo CD's format.
type testFile struct {
	Tests []struct {
		HealthStatus app.HealthState `json:"healthStatus"`
		InputPath    string          `json:"inputPath"`
	} `json:"tests"`
}

// TestCase is the outcome of one case of a health_test.yaml.
type TestCase struct {
	// Check names the script as Argo CD does: <group>/<kind>, or <kind>
	// for the core group, its directory below the tested one.
	Check string
	// InputPath is the case's input, as health_test.yaml gives it.
	InputPath string
	// Got is what the script said; Want what the test expects.
	Got, Want app.HealthState
}

// Passed reports whether the script said what the test expects: the same
// status and the same message, as Argo CD compares them.
func (c TestCase) Passed() bool { return c.Got == c.Want }

// TestReport is the outcome of RunTests.
type TestReport struct {
	// Cases are the cases run, in path order.
	Cases []TestCase
	// Errors are the scripts that did not load, the test files that did
	// not parse, the inputs that could not be read, and the scripts
	// without tests, each a *LoadError.
	Errors []error
}

// Failed returns the cases that did not pass.
func (r TestReport) Failed() []TestCase {
	var out []TestCase
	for _, c := range r.Cases {
		if !c.Passed() {
			out = append(out, c)
		}
	}
	return out
}

// RunTests runs the tests of a directory laid out like Argo CD's
// resource_customizations: for each <group>/<kind>/health.lua, the cases
// its health_test.yaml lists ({healthStatus: {status, message}, inputPath})
// with the input read from inputPath, relative to the script's directory.
// Each input is checked with the script next to its test file, whatever
// the input's kind.
func RunTests(dir string, opts Options) (TestReport, error) {
	var report TestReport
	fsys := os.DirFS(dir)
	scripts, err := findScripts(fsys)
	if err != nil {
		return report, fmt.Errorf("health scripts %s: %w", dir, err)
	}
	for _, sp := range scripts {
		origin := filepath.Join(dir, filepath.FromSlash(sp.path))
		if sp.err != nil {
			report.Errors = append(report.Errors, &LoadError{Origin: origin, Err: sp.err})
			continue
		}
		src, err := fs.ReadFile(fsys, sp.path)
		if err != nil {
			report.Errors = append(report.Errors, &LoadError{Origin: origin, Err: err})
			continue
		}
		sc, err := Compile(origin, string(src))
		if err != nil {
			report.Errors = append(report.Errors, &LoadError{Origin: origin, Err: err})
			continue
		}
		cases, errs := runScriptTests(fsys, dir, sp, sc, opts)
		report.Cases = append(report.Cases, cases...)
		report.Errors = append(report.Errors, errs...)
	}
	return report, nil
}

// runScriptTests runs the cases of the health_test.yaml next to one script.
func runScriptTests(fsys fs.FS, dir string, sp scriptPath, sc *Script, opts Options) ([]TestCase, []error) {
	testPath := path.Join(sp.dir, TestFile)
	testOrigin := filepath.Join(dir, filepath.FromSlash(testPath))
	data, err := fs.ReadFile(fsys, testPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, []error{&LoadError{Origin: testOrigin, Err: errors.New("the script has no tests")}}
	}
	if err != nil {
		return nil, []error{&LoadError{Origin: testOrigin, Err: err}}
	}
	var tf testFile
	if err := yaml.Unmarshal(data, &tf); err != nil {
		return nil, []error{&LoadError{Origin: testOrigin, Err: err}}
	}
	var cases []TestCase
	var errs []error
	for _, t := range tf.Tests {
		obj, err := readObject(fsys, path.Join(sp.dir, t.InputPath))
		if err != nil {
			errs = append(errs, &LoadError{Origin: testOrigin + " " + t.InputPath, Err: err})
			continue
		}
		cases = append(cases, TestCase{Check: sp.dir, InputPath: t.InputPath, Got: sc.Check(obj, opts), Want: t.HealthStatus})
	}
	return cases, errs
}

// readObject reads one object from a YAML or JSON file of fsys.
func readObject(fsys fs.FS, p string) (*unstructured.Unstructured, error) {
	data, err := fs.ReadFile(fsys, p)
	if err != nil {
		return nil, err
	}
	return parseObject(data)
}

// parseObject parses one object from YAML or JSON.
func parseObject(data []byte) (*unstructured.Unstructured, error) {
	obj := map[string]any{}
	if err := yaml.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

package diff

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/app"
)

// testCase is one folder under testdata: desired, live and predicted objects
// (any may be absent; .yaml or .json) and case.yaml with the options and the
// expected result.
type testCase struct {
	Options     Options `json:"options"`
	DryRunError string  `json:"dryRunError"`
	Want        struct {
		Status     Status         `json:"status"`
		DryRun     bool           `json:"dryRun"`
		Ignored    bool           `json:"ignored"`
		SyncStatus app.SyncStatus `json:"syncStatus"`
		// WithoutIgnore is the status expected when options.ignore is
		// dropped: proof that the ignore rule is what makes the difference.
		WithoutIgnore Status   `json:"withoutIgnore"`
		DiffContains  []string `json:"diffContains"`
		DiffExcludes  []string `json:"diffExcludes"`
		Message       string   `json:"message"`
		// Absent and Present are JSON pointers checked in every object the
		// result carries.
		Absent  []string `json:"absent"`
		Present []string `json:"present"`
	} `json:"want"`

	desired, live, predicted *unstructured.Unstructured
	wantDiff                 *string
}

func loadCase(t testing.TB, dir string) *testCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "case.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tc := &testCase{}
	if err := yaml.UnmarshalStrict(raw, tc); err != nil {
		t.Fatalf("%s/case.yaml: %v", dir, err)
	}
	tc.desired = loadObject(t, dir, "desired")
	tc.live = loadObject(t, dir, "live")
	tc.predicted = loadObject(t, dir, "predicted")
	if b, err := os.ReadFile(filepath.Join(dir, "want.diff")); err == nil {
		s := string(b)
		tc.wantDiff = &s
	}
	return tc
}

// loadObject reads dir/name.yaml or dir/name.json the way objects reach diff
// from render and from the API server: integers as int64, numbers written
// with a fraction (2.0) as float64. It returns nil when neither file exists.
func loadObject(t testing.TB, dir, name string) *unstructured.Unstructured {
	t.Helper()
	for _, ext := range []string{".yaml", ".json"} {
		raw, err := os.ReadFile(filepath.Join(dir, name+ext))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		js := raw
		if ext == ".yaml" {
			if js, err = yaml.YAMLToJSON(raw); err != nil {
				t.Fatalf("%s/%s%s: %v", dir, name, ext, err)
			}
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(js); err != nil {
			t.Fatalf("%s/%s%s: %v", dir, name, ext, err)
		}
		return obj
	}
	return nil
}

// fakeRunner answers every dry run with a copy of predicted (or err) and
// counts the calls.
type fakeRunner struct {
	predicted *unstructured.Unstructured
	err       error
	calls     atomic.Int64
}

func (f *fakeRunner) DryRunApply(_ context.Context, desired *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	f.calls.Add(1)
	if f.err != nil {
		return nil, f.err
	}
	if f.predicted == nil {
		return nil, errors.New("test case has no predicted object")
	}
	return f.predicted.DeepCopy(), nil
}

func (tc *testCase) run(t *testing.T, opts Options) (Result, int64) {
	t.Helper()
	runner := &fakeRunner{predicted: tc.predicted}
	if tc.DryRunError != "" {
		runner.err = errors.New(tc.DryRunError)
	}
	results, err := Compare(context.Background(), runner, []Pair{{Desired: tc.desired, Live: tc.live}}, opts)
	if err != nil {
		t.Fatalf("Compare: %v", err)
	}
	if len(results) != 1 {
		t.Fatalf("Compare returned %d results, want 1", len(results))
	}
	return results[0], runner.calls.Load()
}

func TestCompareCases(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/case.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	for _, file := range dirs {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			tc := loadCase(t, dir)
			w := tc.Want
			r, calls := tc.run(t, tc.Options)

			if r.Status != w.Status {
				t.Errorf("status = %s, want %s (message %q)\ndiff:\n%s", r.Status, w.Status, r.Message, r.Diff)
			}
			if r.DryRun != w.DryRun {
				t.Errorf("Result.DryRun = %v, want %v", r.DryRun, w.DryRun)
			}
			wantCalls := int64(0)
			if w.DryRun || tc.DryRunError != "" {
				wantCalls = 1
			}
			if calls != wantCalls {
				t.Errorf("dry run called %d times, want %d", calls, wantCalls)
			}
			if r.Ignored != w.Ignored {
				t.Errorf("Ignored = %v, want %v", r.Ignored, w.Ignored)
			}
			if w.SyncStatus != "" && r.SyncStatus() != w.SyncStatus {
				t.Errorf("SyncStatus() = %s, want %s", r.SyncStatus(), w.SyncStatus)
			}
			if (r.Desired == nil) != (tc.desired == nil) || (r.Live == nil) != (tc.live == nil) {
				t.Errorf("result carries desired %v, live %v; want them for the objects given", r.Desired != nil, r.Live != nil)
			}
			if (r.Predicted != nil) != (r.Status == InSync || r.Status == OutOfSync) {
				t.Errorf("status %s with predicted %v", r.Status, r.Predicted != nil)
			}
			if w.Message != "" && !strings.Contains(r.Message, w.Message) {
				t.Errorf("message %q does not contain %q", r.Message, w.Message)
			}
			if (r.Status == OutOfSync || r.Status == Missing || r.Status == Extraneous) != (r.Diff != "") {
				t.Errorf("status %s with diff %q", r.Status, r.Diff)
			}
			for _, s := range w.DiffContains {
				if !strings.Contains(r.Diff, s) {
					t.Errorf("diff does not contain %q:\n%s", s, r.Diff)
				}
			}
			for _, s := range w.DiffExcludes {
				if strings.Contains(r.Diff, s) || strings.Contains(dumpResult(t, r), s) {
					t.Errorf("diff or result objects contain %q:\n%s", s, r.Diff)
				}
			}
			if tc.wantDiff != nil && r.Diff != *tc.wantDiff {
				t.Errorf("diff differs from want.diff:\n%s", r.Diff)
			}
			for _, obj := range []*unstructured.Unstructured{r.Desired, r.Live, r.Predicted} {
				if obj == nil {
					continue
				}
				for _, p := range w.Absent {
					if _, ok := lookupPointer(t, obj.Object, p); ok {
						t.Errorf("%s present in a result object, want it ignored", p)
					}
				}
				for _, p := range w.Present {
					if _, ok := lookupPointer(t, obj.Object, p); !ok {
						t.Errorf("%s absent from a result object", p)
					}
				}
			}

			// The fast path must agree with the dry run on every case.
			if tc.desired != nil && tc.live != nil {
				opts := tc.Options
				opts.DisableFastPath = true
				r2, calls := tc.run(t, opts)
				if r2.Status != w.Status {
					t.Errorf("with the dry run forced: status = %s, want %s (message %q)\ndiff:\n%s", r2.Status, w.Status, r2.Message, r2.Diff)
				}
				if calls != 1 {
					t.Errorf("with the dry run forced: dry run called %d times, want 1", calls)
				}
			}
			if w.WithoutIgnore != "" {
				opts := tc.Options
				opts.Ignore = nil
				if r3, _ := tc.run(t, opts); r3.Status != w.WithoutIgnore {
					t.Errorf("without ignore rules: status = %s, want %s", r3.Status, w.WithoutIgnore)
				}
			}
		})
	}
}

// dumpResult renders every object of r as YAML, to search for leaks.
func dumpResult(t *testing.T, r Result) string {
	t.Helper()
	var sb strings.Builder
	for _, obj := range []*unstructured.Unstructured{r.Desired, r.Live, r.Predicted} {
		sb.WriteString(toYAML(obj))
	}
	sb.WriteString(r.Message)
	return sb.String()
}

// lookupPointer returns the value at an RFC 6901 pointer.
func lookupPointer(t *testing.T, v any, pointer string) (any, bool) {
	t.Helper()
	tokens, err := parsePointer(pointer)
	if err != nil {
		t.Fatalf("pointer %q: %v", pointer, err)
	}
	return lookup(v, tokens)
}

func TestSecretMasks(t *testing.T) {
	tc := loadCase(t, "testdata/secret-changed")
	r, _ := tc.run(t, Options{})
	get := func(obj *unstructured.Unstructured, field, key string) string {
		t.Helper()
		s, ok, _ := unstructured.NestedString(obj.Object, field, key)
		if !ok {
			t.Fatalf("%s.%s missing", field, key)
		}
		if strings.Trim(s, "+") != "" {
			t.Fatalf("%s.%s = %q, not a mask", field, key, s)
		}
		return s
	}
	livePass, predPass := get(r.Live, "data", "password"), get(r.Predicted, "data", "password")
	if livePass == predPass {
		t.Errorf("changed password masked alike on both sides: %q", livePass)
	}
	if liveUser, predUser := get(r.Live, "data", "username"), get(r.Predicted, "data", "username"); liveUser != predUser {
		t.Errorf("unchanged username masked differently: %q vs %q", liveUser, predUser)
	}
	// git's stringData value is the predicted data value, base64-encoded.
	if desiredPass := get(r.Desired, "stringData", "password"); desiredPass != predPass {
		t.Errorf("desired stringData.password mask %q, want the predicted data mask %q", desiredPass, predPass)
	}
	if _, ok := r.Live.GetAnnotations()[lastAppliedAnnotation]; ok {
		t.Error("last-applied-configuration annotation kept")
	}
	// The caller's objects are untouched.
	if s, _, _ := unstructured.NestedString(tc.live.Object, "data", "password"); s != "b2xkLXBhc3N3b3Jk" {
		t.Errorf("Compare modified the caller's live object: password %q", s)
	}
}

func TestComparePerObjectErrors(t *testing.T) {
	insync := loadCase(t, "testdata/deployment-insync-defaulted")
	changed := loadCase(t, "testdata/service-selector-narrowed")
	invalid := loadCase(t, "testdata/deployment-dry-run-error")
	missing := loadCase(t, "testdata/configmap-missing")
	extraneous := loadCase(t, "testdata/configmap-extraneous")

	var calls atomic.Int64
	runner := DryRunFunc(func(_ context.Context, desired *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		calls.Add(1)
		switch app.KeyOf(desired).Kind {
		case "Service":
			return changed.predicted.DeepCopy(), nil
		case "Deployment":
			return nil, errors.New(invalid.DryRunError)
		}
		return nil, errors.New("unexpected dry run")
	})
	pairs := []Pair{
		{Desired: invalid.desired, Live: invalid.live},
		{Desired: changed.desired, Live: changed.live},
		{Desired: missing.desired},
		{Live: extraneous.live},
		{Desired: insync.desired, Live: insync.live}, // fast path: no dry run
	}
	results, err := Compare(context.Background(), runner, pairs, Options{Concurrency: 2})
	if err != nil {
		t.Fatalf("Compare failed for a per-object error: %v", err)
	}
	want := []Status{Unknown, OutOfSync, Missing, Extraneous, InSync}
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d", len(results), len(want))
	}
	for i, r := range results {
		if r.Status != want[i] {
			t.Errorf("results[%d] (%s): status %s, want %s", i, r.Key, r.Status, want[i])
		}
	}
	if r := results[0]; r.Err == nil || !strings.HasPrefix(r.Message, "apps/Deployment/prod/api dry-run apply: ") {
		t.Errorf("dry-run failure: message %q, err %v", r.Message, r.Err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("%d dry runs, want 2", got)
	}
	if got := SyncStatus(results); got != app.OutOfSync {
		t.Errorf("SyncStatus = %s, want OutOfSync", got)
	}
}

func TestCompareRejects(t *testing.T) {
	tc := loadCase(t, "testdata/deployment-insync-defaulted")
	pair := []Pair{{Desired: tc.desired, Live: tc.live}}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		pairs []Pair
		opts  Options
		want  string
	}{
		{"empty pair", context.Background(), []Pair{{}}, Options{}, "diff pair 0: neither desired nor live object"},
		{"bad jq", context.Background(), pair, Options{Ignore: []app.IgnoreDifference{{}, {JQPathExpressions: []string{".spec | ["}}}},
			`ignoreDifferences[1] jq path expression ".spec | ["`},
		{"bad pointer", context.Background(), pair, Options{Ignore: []app.IgnoreDifference{{JSONPointers: []string{"spec/replicas"}}}},
			`ignoreDifferences[0] JSON pointer "spec/replicas": must start with /`},
		{"cancelled", cancelled, pair, Options{}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compare(tt.ctx, &fakeRunner{}, tt.pairs, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCompareWithoutRunner(t *testing.T) {
	insync := loadCase(t, "testdata/deployment-insync-defaulted")
	changed := loadCase(t, "testdata/deployment-image-changed")
	results, err := Compare(context.Background(), nil, []Pair{
		{Desired: insync.desired, Live: insync.live},
		{Desired: changed.desired, Live: changed.live},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Status != InSync || results[1].Status != Unknown {
		t.Errorf("statuses %s, %s; want InSync, Unknown", results[0].Status, results[1].Status)
	}
}

func TestSyncStatus(t *testing.T) {
	tests := []struct {
		name    string
		results []Result
		want    app.SyncStatus
	}{
		{"none", nil, app.Synced},
		{"in sync", []Result{{Status: InSync}}, app.Synced},
		{"ignored extraneous", []Result{{Status: InSync}, {Status: Extraneous, Ignored: true}}, app.Synced},
		{"extraneous", []Result{{Status: InSync}, {Status: Extraneous}}, app.OutOfSync},
		{"missing", []Result{{Status: Missing}}, app.OutOfSync},
		{"unknown", []Result{{Status: InSync}, {Status: Unknown}}, app.SyncUnknown},
		{"out of sync beats unknown", []Result{{Status: Unknown}, {Status: OutOfSync}}, app.OutOfSync},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SyncStatus(tt.results); got != tt.want {
				t.Errorf("SyncStatus = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestHasCompareOption(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		want        bool
	}{
		{"none", nil, false},
		{"gyre", map[string]string{CompareOptionsAnnotation: "IgnoreExtraneous"}, true},
		{"argo alias", map[string]string{ArgoCompareOptionsAnnotation: "IgnoreExtraneous"}, true},
		{"in a list", map[string]string{CompareOptionsAnnotation: "ServerSideDiff=true, IgnoreExtraneous"}, true},
		{"other option", map[string]string{CompareOptionsAnnotation: "ServerSideDiff=true"}, false},
		{"prefix only", map[string]string{CompareOptionsAnnotation: "IgnoreExtraneousX"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: map[string]any{}}
			obj.SetAnnotations(tt.annotations)
			if got := HasCompareOption(obj, IgnoreExtraneous); got != tt.want {
				t.Errorf("HasCompareOption = %v, want %v", got, tt.want)
			}
		})
	}
}

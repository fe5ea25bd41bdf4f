package diff

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/yaml"
)

// The fuzz targets here take objects as JSON, decoded as the API server's
// answers are (integers int64, other numbers float64). Their seeds are the
// objects and managedFields of the testdata cases, plus testdata/fuzz.

// FuzzNormalize checks normalize and equal on arbitrary objects: normalize
// never fails on JSON, leaves its input alone, drops what the server owns,
// is idempotent, and an object compares InSync with itself, through the
// fast path and through a dry run.
func FuzzNormalize(f *testing.F) {
	for _, obj := range seedObjects(f) {
		f.Add(obj)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, ok := decodeObject(data)
		if !ok {
			return
		}
		before := obj.DeepCopy()
		n1, err := normalize(obj)
		if err != nil {
			t.Fatalf("normalize failed on JSON: %v", err)
		}
		if !reflect.DeepEqual(obj.Object, before.Object) {
			t.Fatal("normalize changed its input")
		}
		if _, ok := n1.Object["status"]; ok {
			t.Error("normalized object has a status")
		}
		if md, ok := n1.Object["metadata"].(map[string]any); ok {
			for _, k := range serverOwnedMetadata() {
				if _, ok := md[k]; ok {
					t.Errorf("normalized object has metadata.%s", k)
				}
			}
			if ann, ok := md["annotations"].(map[string]any); ok {
				if _, ok := ann[lastAppliedAnnotation]; ok {
					t.Error("normalized object has the last-applied annotation")
				}
			}
		}
		n2, err := normalize(n1)
		if err != nil {
			t.Fatalf("normalize failed on its own output: %v", err)
		}
		if !reflect.DeepEqual(n1.Object, n2.Object) {
			t.Fatalf("normalize is not idempotent:\n%v\n%v", n1.Object, n2.Object)
		}
		if !equal(obj.Object, obj.DeepCopy().Object) || !equal(n1.Object, n2.Object) {
			t.Fatal("an object is not equal to its copy")
		}

		for _, fast := range []bool{true, false} {
			runner := DryRunFunc(func(_ context.Context, d *unstructured.Unstructured) (*unstructured.Unstructured, error) {
				return d, nil // the apply of an object onto itself changes nothing
			})
			res, err := Compare(context.Background(), runner, []Pair{{Desired: obj, Live: obj.DeepCopy()}}, Options{DisableFastPath: !fast})
			if err != nil {
				t.Fatalf("Compare: %v", err)
			}
			if r := res[0]; r.Status != InSync || r.Diff != "" {
				t.Fatalf("an object compared with itself (fast path %v): %s %s\n%s", fast, r.Status, r.Message, r.Diff)
			}
		}
	})
}

// FuzzCompare compares two arbitrary objects, with a dry run that returns
// the desired object: Compare never fails or panics on them, each status
// comes with what it promises (a diff exactly when OutOfSync, Missing or
// Extraneous; a message when Unknown), and a Secret's values never appear
// in the result.
func FuzzCompare(f *testing.F) {
	objs := seedObjects(f)
	for i := range objs {
		f.Add(objs[i], objs[(i+1)%len(objs)])
	}
	f.Fuzz(func(t *testing.T, desiredJSON, liveJSON []byte) {
		desired, ok1 := decodeObject(desiredJSON)
		live, ok2 := decodeObject(liveJSON)
		if !ok1 || !ok2 {
			return
		}
		// Make them the same object where they can be, so they are compared.
		for _, k := range []string{"apiVersion", "kind"} {
			if v, ok := desired.Object[k]; ok {
				live.Object[k] = v
			}
		}
		dm, _ := desired.Object["metadata"].(map[string]any)
		lm, _ := live.Object["metadata"].(map[string]any)
		for _, k := range []string{"name", "namespace"} {
			if v, ok := dm[k]; ok && lm != nil {
				lm[k] = v
			}
		}
		runner := DryRunFunc(func(_ context.Context, d *unstructured.Unstructured) (*unstructured.Unstructured, error) {
			return d, nil
		})
		secrets := secretValues(desired, live)
		for _, p := range []Pair{{Desired: desired, Live: live}, {Desired: desired}, {Live: live}} {
			res, err := Compare(context.Background(), runner, []Pair{p}, Options{})
			if err != nil {
				t.Fatalf("Compare: %v", err)
			}
			r := res[0]
			switch r.Status {
			case InSync, OutOfSync, Missing, Extraneous:
				if (r.Status != InSync) != (r.Diff != "") {
					t.Errorf("status %s with diff %q", r.Status, r.Diff)
				}
			case Unknown:
				if r.Message == "" {
					t.Error("Unknown without a message")
				}
			default:
				t.Fatalf("unknown status %q", r.Status)
			}
			out, _ := json.Marshal([]any{r.Diff, r.Desired, r.Live, r.Predicted, r.Message})
			for _, s := range secrets {
				if bytes.Contains(out, []byte(s)) {
					t.Errorf("secret value %q in the result: %s", s, out)
				}
			}
		}
	})
}

// secretValues returns the string values of the data and stringData of
// the objects that are core Secrets, leaving out those that could show in a
// result for another reason: short ones, runs of the mask character, and
// any that appear elsewhere in the objects (a key, a label).
func secretValues(objs ...*unstructured.Unstructured) []string {
	var values []string
	var rest []byte
	for _, o := range objs {
		c := o.DeepCopy()
		secret := c.GetKind() == "Secret" && c.GetAPIVersion() == "v1"
		for _, field := range []string{"data", "stringData"} {
			m, _ := c.Object[field].(map[string]any)
			for k, v := range m {
				if s, ok := v.(string); ok && secret {
					values = append(values, s)
					m[k] = ""
				}
			}
		}
		b, _ := json.Marshal(c.Object)
		rest = append(rest, b...)
	}
	var out []string
	for _, s := range values {
		if len(s) >= 12 && strings.Trim(s, "+") != "" && !strings.ContainsAny(s, "\"\\<>&\n") && !bytes.Contains(rest, []byte(s)) {
			out = append(out, s)
		}
	}
	return out
}

// FuzzFieldSet decodes arbitrary FieldsV1 sets. Whatever the API server's
// own decoder (structured-merge-diff) accepts, decodeFields accepts too
// (but path elements of unknown types, see hasUnknownElement),
// and the set survives a round trip through the server's encoding: decoded
// from the original and from structured-merge-diff's re-encoding, it holds
// the same paths. removeOwned never panics, and removes nothing with an
// empty set.
func FuzzFieldSet(f *testing.F) {
	for _, fs := range seedFieldSets(f) {
		f.Add(fs, fs)
	}
	f.Fuzz(func(t *testing.T, fieldsJSON, objJSON []byte) {
		var m map[string]any
		if err := json.Unmarshal(fieldsJSON, &m); err != nil || m == nil {
			return
		}
		n, err := decodeFields(m)
		var set fieldpath.Set
		if serr := set.FromJSON(bytes.NewReader(fieldsJSON)); serr == nil && !hasDuplicateKeys(fieldsJSON) && !hasUnknownElement(m) {
			if err != nil {
				t.Fatalf("decodeFields refused a set the API server accepts: %v", err)
			}
			again, err := set.ToJSON()
			if err != nil {
				t.Fatal(err)
			}
			var m2 map[string]any
			if err := json.Unmarshal(again, &m2); err != nil {
				t.Fatal(err)
			}
			n2, err := decodeFields(m2)
			if err != nil {
				t.Fatalf("decodeFields refused the server's encoding %s: %v", again, err)
			}
			if a, b := fieldPaths(n), fieldPaths(n2); !slices.Equal(a, b) {
				t.Fatalf("round trip through the server's encoding changed the set:\n%s\n%s\nfrom %s\nto   %s", strings.Join(a, "\n"), strings.Join(b, "\n"), fieldsJSON, again)
			}
		}
		if err != nil {
			return
		}
		obj, ok := decodeObject(objJSON)
		if !ok {
			return
		}
		before := obj.DeepCopy()
		if got := removeOwned(obj.DeepCopy().Object, &fieldNode{}); !reflect.DeepEqual(got, before.Object) {
			t.Fatal("removeOwned with an empty set changed the object")
		}
		removeOwned(obj.Object, n)
	})
}

// hasUnknownElement reports whether a FieldsV1 set holds a path element of
// a type other than f, k, v and i. structured-merge-diff drops those, and
// their subtrees unread, for versions to come; decodeFields refuses them,
// which makes the fast path ask the API server instead.
func hasUnknownElement(m map[string]any) bool {
	for k, v := range m {
		if prefix, _, ok := strings.Cut(k, ":"); ok && !slices.Contains([]string{"f", "k", "v", "i"}, prefix) {
			return true
		}
		if sub, ok := v.(map[string]any); ok && hasUnknownElement(sub) {
			return true
		}
	}
	return false
}

// hasDuplicateKeys reports whether a JSON document repeats a key of an
// object at any depth: encoding/json keeps the last, structured-merge-diff
// merges them, so the two decodings differ by design.
func hasDuplicateKeys(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	var value func() (bool, error)
	value = func() (bool, error) {
		tok, err := dec.Token()
		if err != nil {
			return false, err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return false, err
				}
				key, _ := k.(string)
				if seen[key] {
					return true, nil
				}
				seen[key] = true
				if dup, err := value(); dup || err != nil {
					return dup, err
				}
			}
		case json.Delim('['):
			for dec.More() {
				if dup, err := value(); dup || err != nil {
					return dup, err
				}
			}
		default:
			return false, nil
		}
		_, err = dec.Token() // the closing delimiter
		return false, err
	}
	dup, _ := value()
	return dup
}

// fieldPaths lists, sorted and without repeats, the paths a decoded set
// holds as members ("f:spec/k:{"port":80}/."), with keys and values in
// canonical JSON.
func fieldPaths(n *fieldNode) []string {
	var out []string
	var walk func(prefix string, n *fieldNode)
	walk = func(prefix string, n *fieldNode) {
		if n.member {
			out = append(out, prefix+".")
		}
		for name, c := range n.fields {
			walk(prefix+"f:"+strconv.Quote(name)+"/", c)
		}
		for _, k := range n.keyed {
			walk(prefix+"k:"+canonicalJSON(k.key)+"/", k.node)
		}
		for _, v := range n.values {
			walk(prefix+"v:"+canonicalJSON(v.value)+"/", v.node)
		}
		for _, ix := range n.indexed {
			walk(prefix+"i:"+strconv.Itoa(ix.index)+"/", ix.node)
		}
	}
	walk("", n)
	slices.Sort(out)
	return slices.Compact(out)
}

func canonicalJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// FuzzFastPath checks provablyInSync on arbitrary pairs: it never panics,
// gives the same answer every time (it iterates maps), proves an object
// in sync with itself as gyre applied it, and does not once a declared
// value is changed in the live object.
func FuzzFastPath(f *testing.F) {
	objs := seedObjects(f)
	for i := range objs {
		f.Add(objs[i], objs[(i+1)%len(objs)])
	}
	f.Fuzz(func(t *testing.T, desiredJSON, liveJSON []byte) {
		desired, ok1 := decodeObject(desiredJSON)
		live, ok2 := decodeObject(liveJSON)
		if !ok1 || !ok2 {
			return
		}
		got := provablyInSync(desired, live, DefaultFieldManager)
		for range 3 {
			if provablyInSync(desired, live, DefaultFieldManager) != got {
				t.Fatal("provablyInSync gave two answers for one pair")
			}
		}

		applied, ok := appliedCopy(desired)
		if !ok {
			return
		}
		if !provablyInSync(desired, applied, DefaultFieldManager) {
			t.Fatalf("an object is not provably in sync with itself as applied:\n%v", applied.Object)
		}
		if path, ok := firstLeaf(declaredCopy(desired), nil); ok {
			changed := applied.DeepCopy()
			v, _, _ := unstructured.NestedFieldNoCopy(changed.Object, path...)
			_ = unstructured.SetNestedField(changed.Object, changedValue(v), path...)
			if provablyInSync(desired, changed, DefaultFieldManager) {
				t.Fatalf("provably in sync though live's %s changed", strings.Join(path, "."))
			}
		}
	})
}

// appliedCopy returns desired as the API server would hold it right after
// gyre applied it, with one managedFields entry for gyre that owns every
// declared map field by name and every list and scalar as a whole. ok is
// false when desired is not something gyre applies as it is (a status, a
// null, server-owned metadata).
func appliedCopy(desired *unstructured.Unstructured) (*unstructured.Unstructured, bool) {
	if _, ok := desired.Object["status"]; ok || desired.GetAPIVersion() == "" {
		return nil, false
	}
	if _, ok := desired.Object["apiVersion"].(string); !ok {
		return nil, false
	}
	if md, ok := desired.Object["metadata"]; ok {
		m, isMap := md.(map[string]any)
		if !isMap {
			return nil, false
		}
		for _, k := range []string{"uid", "resourceVersion", "generation", "selfLink", "managedFields", "creationTimestamp"} {
			if _, ok := m[k]; ok {
				return nil, false
			}
		}
	}
	declared := declaredCopy(desired)
	if hasNull(declared) {
		return nil, false
	}
	out := desired.DeepCopy()
	if out.Object["metadata"] == nil {
		out.Object["metadata"] = map[string]any{}
	}
	out.Object["metadata"].(map[string]any)["managedFields"] = []any{map[string]any{
		"manager": DefaultFieldManager, "operation": "Apply", "apiVersion": desired.GetAPIVersion(),
		"fieldsType": "FieldsV1", "fieldsV1": ownAll(declared),
	}}
	return out, true
}

// declaredCopy is what the API server tracks of desired in managedFields,
// worked out apart from declaredFields: all but apiVersion, kind and
// metadata's name and namespace, without an emptied metadata.
func declaredCopy(desired *unstructured.Unstructured) map[string]any {
	out := map[string]any{}
	for k, v := range desired.DeepCopy().Object {
		if k != "apiVersion" && k != "kind" {
			out[k] = v
		}
	}
	if md, ok := out["metadata"].(map[string]any); ok {
		delete(md, "name")
		delete(md, "namespace")
		if len(md) == 0 {
			delete(out, "metadata")
		}
	}
	return out
}

// ownAll is the FieldsV1 set owning m's fields: maps field by field, lists
// and scalars as a whole.
func ownAll(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			out["f:"+k] = ownAll(sub)
		} else {
			out["f:"+k] = map[string]any{}
		}
	}
	return out
}

func hasNull(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, e := range t {
			if hasNull(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if hasNull(e) {
				return true
			}
		}
	}
	return false
}

// firstLeaf returns the path to the first (in key order) value below m that
// is not a non-empty map.
func firstLeaf(m map[string]any, prefix []string) ([]string, bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := append(slices.Clone(prefix), k)
		if sub, ok := m[k].(map[string]any); ok && len(sub) > 0 {
			if leaf, ok := firstLeaf(sub, p); ok {
				return leaf, true
			}
			continue
		}
		return p, true
	}
	return nil, false
}

// changedValue returns a JSON value that differs from v.
func changedValue(v any) any {
	if s, ok := v.(string); ok {
		return s + "-changed"
	}
	return "changed"
}

// decodeObject decodes a JSON object as unstructured does; ok is false for
// anything else.
func decodeObject(data []byte) (*unstructured.Unstructured, bool) {
	var m map[string]any
	if err := utiljson.Unmarshal(data, &m); err != nil || m == nil {
		return nil, false
	}
	return &unstructured.Unstructured{Object: m}, true
}

// seedObjects returns, as JSON, every object of the testdata cases.
func seedObjects(f *testing.F) [][]byte {
	f.Helper()
	files, err := filepath.Glob("testdata/*/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, file := range files {
		if filepath.Base(file) == "case.yaml" {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		j, err := yaml.YAMLToJSON(data)
		if err != nil {
			f.Fatalf("%s: %v", file, err)
		}
		out = append(out, j)
	}
	if len(out) == 0 {
		f.Fatal("no seed objects in testdata")
	}
	return out
}

// seedFieldSets returns, as JSON, the fieldsV1 of every managedFields entry
// of the testdata objects.
func seedFieldSets(f *testing.F) [][]byte {
	f.Helper()
	var out [][]byte
	for _, data := range seedObjects(f) {
		obj, ok := decodeObject(data)
		if !ok {
			continue
		}
		for _, e := range managedFieldsEntries(obj) {
			if j, err := json.Marshal(e.fields); err == nil && e.fields != nil {
				out = append(out, j)
			}
		}
	}
	return out
}

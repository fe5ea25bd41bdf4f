package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// document is one YAML document of a file and the 1-based line it starts on.
type document struct {
	data []byte
	line int
}

// splitDocuments cuts a YAML stream at its "---" separator lines, keeping
// each document's first line number. Text after "---" on the separator line
// ("--- # comment", "--- {a: 1}") belongs to the next document.
func splitDocuments(data []byte) []document {
	var docs []document
	start, startLine, line := 0, 1, 1
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if end >= 0 {
			next = i + end + 1
		}
		l := data[i:next]
		if bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\n' || l[3] == '\r') {
			docs = append(docs, document{data: data[start:i], line: startLine})
			start, startLine = i+3, line
		}
		i = next
		line++
	}
	return append(docs, document{data: data[start:], line: startLine})
}

// yamlMessageRE matches the noise the YAML libraries put before the cause.
var yamlMessageRE = regexp.MustCompile(`^(error converting YAML to JSON: )?(yaml: )?(line \d+: )?`)

// decodeYAML parses a YAML stream into objects. It returns an *Error with
// File and Line set (the caller fills in Type and Path) when a document is
// not valid YAML or not a Kubernetes object. Empty documents are skipped.
// Each document's objects count against b as they are decoded, so a file of
// a hundred thousand objects stops at the limit. The YAML and JSON decoders
// refuse nesting deeper than 10,000 and documents whose aliases expand
// excessively ("billion laughs"), so no document can exhaust the stack.
func decodeYAML(file string, data []byte, b *budget) ([]Object, error) {
	var objs []Object
	index := 0
	for _, d := range splitDocuments(data) {
		j, err := yaml.YAMLToJSON(d.data)
		if err != nil {
			line := d.line
			if n := yamlErrorLine(err); n > 0 {
				line += n - 1
			}
			msg := yamlMessageRE.ReplaceAllString(err.Error(), "")
			return nil, &Error{File: file, Line: line, Err: fmt.Errorf("invalid YAML: %s", msg)}
		}
		var v any
		if err := utiljson.Unmarshal(j, &v); err != nil {
			return nil, &Error{File: file, Line: d.line, Err: fmt.Errorf("invalid YAML: %w", err)}
		}
		if v == nil {
			continue
		}
		index++
		got, err := toObjects(v, Origin{File: file, Doc: index, Line: firstContentLine(d)})
		if err != nil {
			return nil, &Error{File: file, Line: firstContentLine(d), Err: err}
		}
		if err := b.addOutput(file, int64(len(j))); err != nil {
			return nil, err
		}
		if err := b.addObjects(file, len(got)); err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	}
	return objs, nil
}

// decodeJSON parses a JSON file holding one object or List, counting its
// objects against b.
func decodeJSON(file string, data []byte, b *budget) ([]Object, error) {
	var probe any
	if err := json.Unmarshal(data, &probe); err != nil {
		line := 1
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line += bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		}
		return nil, &Error{File: file, Line: line, Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	var v any
	if err := utiljson.Unmarshal(data, &v); err != nil {
		return nil, &Error{File: file, Line: 1, Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	if v == nil {
		return nil, nil
	}
	objs, err := toObjects(v, Origin{File: file, Doc: 1, Line: 1})
	if err != nil {
		return nil, &Error{File: file, Line: 1, Err: err}
	}
	if err := b.addOutput(file, int64(len(data))); err != nil {
		return nil, err
	}
	if err := b.addObjects(file, len(objs)); err != nil {
		return nil, err
	}
	return objs, nil
}

// toObjects turns one decoded document into objects, expanding a List.
func toObjects(v any, origin Origin) ([]Object, error) {
	m, ok := v.(map[string]any)
	if !ok {
		if _, isList := v.([]any); isList {
			return nil, fmt.Errorf("%w: a YAML list (write a kind: List with items instead)", ErrNotObject)
		}
		return nil, fmt.Errorf("%w: a %T value", ErrNotObject, v)
	}
	u := &unstructured.Unstructured{Object: m}
	if err := checkObject(u); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.GetKind(), "List") || !u.IsList() {
		return []Object{{Obj: u, Origin: origin}}, nil
	}
	items, _, _ := unstructured.NestedSlice(u.Object, "items")
	objs := make([]Object, 0, len(items))
	for i, it := range items {
		im, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: %s item %d is a %T value", ErrNotObject, u.GetKind(), i, it)
		}
		iu := &unstructured.Unstructured{Object: im}
		if err := checkObject(iu); err != nil {
			return nil, fmt.Errorf("%s item %d: %w", u.GetKind(), i, err)
		}
		objs = append(objs, Object{Obj: iu, Origin: origin})
	}
	return objs, nil
}

// checkObject reports an object that lacks apiVersion or kind.
func checkObject(u *unstructured.Unstructured) error {
	var missing []string
	if s, ok := u.Object["apiVersion"].(string); !ok || s == "" {
		missing = append(missing, "apiVersion")
	}
	if s, ok := u.Object["kind"].(string); !ok || s == "" {
		missing = append(missing, "kind")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: no %s", ErrNotObject, strings.Join(missing, " or "))
	}
	return nil
}

// firstContentLine is the line of a document's first line that is neither
// blank nor a comment, where an error about the whole document points.
func firstContentLine(d document) int {
	line := d.line
	for l := range bytes.Lines(d.data) {
		t := bytes.TrimSpace(l)
		if len(t) > 0 && t[0] != '#' {
			return line
		}
		line++
	}
	return d.line
}

package appset

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/gyre-cd/gyre/app"
)

// Bounds of template rendering. A template is the set author's, but its
// parameters may come from files in a repository, so every rendering is
// bounded in output and in loops.
const (
	// maxFieldOutput is the most bytes one templated string may render to.
	maxFieldOutput = 64 << 10
	// maxAppBytes is the most bytes one generated Application may have as
	// JSON.
	maxAppBytes = 512 << 10
	// maxRangeLiteral is the largest integer a range may count to.
	maxRangeLiteral = 1000
)

// ErrTemplate is wrapped by every error of a template that cannot be
// parsed or executed, or renders to something that is not an Application.
var ErrTemplate = errors.New("template")

// Funcs returns the functions templates may call besides text/template's
// own (and, or, not, eq, ne, lt, le, gt, ge, len, index, slice, print,
// printf, println, html, js, urlquery). They take their arguments in
// Sprig's order, so that Argo CD templates that use them carry over; none
// reads the clock, the environment or the network, so the same
// parameters always render the same Application.
func Funcs() template.FuncMap {
	return template.FuncMap{
		"lower":           strings.ToLower,
		"upper":           strings.ToUpper,
		"trim":            strings.TrimSpace,
		"trimPrefix":      func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
		"trimSuffix":      func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"trimAll":         func(cut, s string) string { return strings.Trim(s, cut) },
		"replace":         func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
		"contains":        func(sub, s string) bool { return strings.Contains(s, sub) },
		"hasPrefix":       func(prefix, s string) bool { return strings.HasPrefix(s, prefix) },
		"hasSuffix":       func(suffix, s string) bool { return strings.HasSuffix(s, suffix) },
		"trunc":           trunc,
		"default":         defaultValue,
		"empty":           func(v any) bool { return isEmpty(v) },
		"quote":           func(v any) string { return strconv.Quote(toString(v)) },
		"squote":          func(v any) string { return "'" + toString(v) + "'" },
		"toString":        toString,
		"toJson":          toJSON,
		"join":            join,
		"splitList":       func(sep, s string) []string { return strings.Split(s, sep) },
		"base":            path.Base,
		"dir":             path.Dir,
		"ext":             path.Ext,
		"clean":           path.Clean,
		"normalize":       normalize,
		"b64enc":          func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"b64dec":          b64dec,
		"sha256sum":       func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) },
		"regexMatch":      regexMatch,
		"regexReplaceAll": regexReplaceAll,
	}
}

// trunc keeps the first n bytes of s, or with a negative n the last -n.
func trunc(n int, s string) string {
	switch {
	case n >= 0 && len(s) > n:
		return s[:n]
	case n < 0 && len(s) > -n:
		return s[len(s)+n:]
	}
	return s
}

// defaultValue returns v, or def when v is empty.
func defaultValue(def, v any) any {
	if isEmpty(v) {
		return def
	}
	return v
}

// isEmpty is Sprig's notion of empty: nil, zero, "", false, or an empty
// list or map.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case float64:
		return x == 0
	case int:
		return x == 0
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// toString prints v as a template would, without "<no value>" for nil.
func toString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// join joins the elements of a list, printed with toString.
func join(sep string, v any) (string, error) {
	switch x := v.(type) {
	case []string:
		return strings.Join(x, sep), nil
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = toString(e)
		}
		return strings.Join(parts, sep), nil
	}
	return "", fmt.Errorf("join: %T is not a list", v)
}

func b64dec(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	return string(b), err
}

// Regular expressions are RE2: they run in time linear in their input.
func regexMatch(re, s string) (bool, error) {
	r, err := regexp.Compile(re)
	if err != nil {
		return false, err
	}
	return r.MatchString(s), nil
}

func regexReplaceAll(re, s, repl string) (string, error) {
	r, err := regexp.Compile(re)
	if err != nil {
		return "", err
	}
	return r.ReplaceAllString(s, repl), nil
}

var notDNS = regexp.MustCompile(`[^a-z0-9.-]+`)

// normalize makes s a valid DNS subdomain name, as Argo CD's normalize
// does: lowercase, anything else than a-z, 0-9, "." and "-" turned into
// "-", trimmed of leading and trailing "-" and ".", at most 253 bytes.
func normalize(s string) string {
	s = notDNS.ReplaceAllString(strings.ToLower(s), "-")
	if len(s) > 253 {
		s = s[:253]
	}
	return strings.Trim(s, "-.")
}

// renderer fills templates with parameters. It caches parsed templates by
// their text, since the same fields render once per parameter set.
type renderer struct {
	missingKey string
	parsed     map[string]*template.Template
}

// newRenderer checks the set's template options.
func newRenderer(spec *Spec) (*renderer, error) {
	if !spec.GoTemplate {
		return nil, fmt.Errorf("%w: spec.goTemplate must be true: gyre fills templates with Go templates ({{ .name }}) only, not Argo CD's older {{name}} syntax", ErrTemplate)
	}
	r := &renderer{missingKey: "default", parsed: map[string]*template.Template{}}
	for _, o := range spec.GoTemplateOptions {
		switch o {
		case "missingkey=error", "missingkey=zero", "missingkey=default", "missingkey=invalid":
			r.missingKey = strings.TrimPrefix(o, "missingkey=")
		default:
			return nil, fmt.Errorf("%w: spec.goTemplateOptions: %q is not one gyre knows (missingkey=error, missingkey=zero, missingkey=default)", ErrTemplate, o)
		}
	}
	return r, nil
}

// parse parses text once, refusing what could run without bound: named
// templates (define, template, block), which could recurse, ranges nested
// in ranges, and ranges over an integer above maxRangeLiteral.
func (r *renderer) parse(text string) (*template.Template, error) {
	if t, ok := r.parsed[text]; ok {
		return t, nil
	}
	t, err := template.New("").Funcs(Funcs()).Option("missingkey=" + r.missingKey).Parse(text)
	if err != nil {
		return nil, err
	}
	if len(t.Templates()) > 1 || t.Tree == nil {
		return nil, errors.New("named templates (define, template, block) are not supported")
	}
	if err := checkLoops(t.Tree.Root, 0); err != nil {
		return nil, err
	}
	if len(r.parsed) < 10_000 {
		r.parsed[text] = t
	}
	return t, nil
}

// checkLoops walks a parse tree, refusing nested ranges and ranges over
// large integer literals.
func checkLoops(n parse.Node, ranges int) error {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return nil
		}
		for _, c := range x.Nodes {
			if err := checkLoops(c, ranges); err != nil {
				return err
			}
		}
	case *parse.RangeNode:
		if ranges > 0 {
			return errors.New("a range inside a range is not supported")
		}
		for _, cmd := range x.Pipe.Cmds {
			for _, arg := range cmd.Args {
				if num, ok := arg.(*parse.NumberNode); ok && (!num.IsInt || num.Int64 > maxRangeLiteral) {
					return fmt.Errorf("range over %s: at most %d", num.Text, maxRangeLiteral)
				}
			}
		}
		if err := checkLoops(x.List, ranges+1); err != nil {
			return err
		}
		return checkLoops(x.ElseList, ranges)
	case *parse.IfNode:
		if err := checkLoops(x.List, ranges); err != nil {
			return err
		}
		return checkLoops(x.ElseList, ranges)
	case *parse.WithNode:
		if err := checkLoops(x.List, ranges); err != nil {
			return err
		}
		return checkLoops(x.ElseList, ranges)
	}
	return nil
}

// limitedBuffer is a bytes.Buffer that refuses to grow past max.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

var errTooLong = fmt.Errorf("renders to more than %d bytes", maxFieldOutput)

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errTooLong
	}
	return b.Buffer.Write(p)
}

// execute fills one string with params. Strings without "{{" are returned
// as they are. A panic in text/template is an error.
func (r *renderer) execute(text string, params map[string]any) (out string, err error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := r.parse(text)
	if err != nil {
		return "", err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("template panicked: %v", p)
		}
	}()
	buf := &limitedBuffer{max: maxFieldOutput}
	if err := t.Execute(buf, params); err != nil {
		return "", cleanExecError(err)
	}
	return buf.String(), nil
}

// cleanExecError drops text/template's ` template: :1:2: executing "" at
// <...>:` noise down to the useful part, keeping the position.
func cleanExecError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "template: ")
	msg = strings.Replace(msg, `executing "" at `, "at ", 1)
	return errors.New(msg)
}

// renderValue fills every string of a decoded JSON value, keys of maps
// included, with params. where is the field path, for errors.
func (r *renderer) renderValue(v any, params map[string]any, where string) (any, error) {
	switch x := v.(type) {
	case string:
		out, err := r.execute(x, params)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			key, err := r.execute(k, params)
			if err != nil {
				return nil, fmt.Errorf("%s: key %q: %w", where, k, err)
			}
			val, err := r.renderValue(x[k], params, where+"."+k)
			if err != nil {
				return nil, err
			}
			out[key] = val
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			val, err := r.renderValue(e, params, fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return nil, err
			}
			out[i] = val
		}
		return out, nil
	}
	return v, nil
}

// renderJSON fills the strings of v (any JSON-encodable value) with params
// and decodes the result into out.
func (r *renderer) renderJSON(v any, params map[string]any, where string, out any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return err
	}
	filled, err := r.renderValue(tree, params, where)
	if err != nil {
		return err
	}
	raw, err = json.Marshal(filled)
	if err != nil {
		return err
	}
	if len(raw) > maxAppBytes {
		return fmt.Errorf("%s: renders to %d bytes, more than %d", where, len(raw), maxAppBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s: rendered, it is not valid: %w", where, err)
	}
	return nil
}

// Render fills the set's template with one parameter set and returns the
// Application it describes, in the set's namespace, without owner
// reference. Its errors wrap ErrTemplate and name the field at fault.
func Render(set *ApplicationSet, params map[string]any) (*app.Application, error) {
	r, err := newRenderer(&set.Spec)
	if err != nil {
		return nil, err
	}
	return r.application(set, params)
}

// application is Render with a renderer that is reused across parameter
// sets.
func (r *renderer) application(set *ApplicationSet, params map[string]any) (*app.Application, error) {
	var t Template
	if err := r.renderJSON(set.Spec.Template, params, "template", &t); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	m := t.Metadata
	switch {
	case m.Name == "":
		return nil, fmt.Errorf("%w: template.metadata.name renders empty", ErrTemplate)
	case m.Namespace != "" && m.Namespace != set.Namespace:
		return nil, fmt.Errorf("%w: template.metadata.namespace renders %q: an ApplicationSet creates Applications in its own namespace %q only", ErrTemplate, m.Namespace, set.Namespace)
	}
	a := &app.Application{Spec: t.Spec}
	a.APIVersion, a.Kind = app.SchemeGroupVersion().String(), app.ApplicationKind
	a.Name, a.Namespace = m.Name, set.Namespace
	a.Labels, a.Annotations, a.Finalizers = m.Labels, m.Annotations, m.Finalizers
	return a, nil
}

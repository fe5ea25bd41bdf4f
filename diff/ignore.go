package diff

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/itchyny/gojq"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gyre-cd/gyre/app"
)

// compiledIgnore is an ignoreDifferences rule (app.IgnoreDifference, the
// Application's own type: diff keeps no copy of it) with its pointers split
// and its jq compiled.
type compiledIgnore struct {
	rule     app.IgnoreDifference
	pointers [][]string
	jq       []*gojq.Code
}

// compileIgnores checks and compiles rules once per Compare; a bad pointer or
// expression is the caller's error, reported with its position.
func compileIgnores(rules []app.IgnoreDifference) ([]compiledIgnore, error) {
	out := make([]compiledIgnore, len(rules))
	for i, r := range rules {
		out[i].rule = r
		for _, p := range r.JSONPointers {
			tokens, err := parsePointer(p)
			if err != nil {
				return nil, fmt.Errorf("ignoreDifferences[%d] JSON pointer %q: %w", i, p, err)
			}
			out[i].pointers = append(out[i].pointers, tokens)
		}
		for _, expr := range r.JQPathExpressions {
			code, err := compilePathExpression(expr)
			if err != nil {
				return nil, fmt.Errorf("ignoreDifferences[%d] jq path expression %q: %w", i, expr, err)
			}
			out[i].jq = append(out[i].jq, code)
		}
	}
	return out, nil
}

// matching returns the compiled rules that apply to the object with key k.
func (c *comparer) matching(k app.ResourceKey) []compiledIgnore {
	var out []compiledIgnore
	for _, r := range c.ignores {
		if r.rule.Matches(k) {
			out = append(out, r)
		}
	}
	return out
}

// managedBy returns the fields that the managers named by rules own in live.
func managedBy(live *unstructured.Unstructured, rules []compiledIgnore) ([]*fieldNode, error) {
	managers := map[string]bool{}
	for _, r := range rules {
		for _, m := range r.rule.ManagedFieldsManagers {
			managers[m] = true
		}
	}
	if len(managers) == 0 {
		return nil, nil
	}
	var out []*fieldNode
	for _, e := range managedFieldsEntries(live) {
		if !managers[e.manager] || e.fields == nil {
			continue
		}
		n, err := decodeFields(e.fields)
		if err != nil {
			return nil, fmt.Errorf("manager %q: %w", e.manager, err)
		}
		n.member = false
		out = append(out, n)
	}
	return out, nil
}

// applyIgnores removes from obj, in place, the fields owned (see managedBy)
// and the paths the rules' pointers and jq expressions name. Paths that do
// not exist in obj are skipped.
func applyIgnores(ctx context.Context, obj *unstructured.Unstructured, rules []compiledIgnore, owned []*fieldNode) error {
	if obj == nil {
		return nil
	}
	for _, n := range owned {
		removeOwned(obj.Object, n)
	}
	for _, r := range rules {
		for _, p := range r.pointers {
			obj.Object = removePointer(obj.Object, p).(map[string]any)
		}
		for i, code := range r.jq {
			v, err := removeJQPaths(ctx, obj.Object, code)
			if err != nil {
				return fmt.Errorf("jq path expression %q: %w", r.rule.JQPathExpressions[i], err)
			}
			obj.Object = v
		}
	}
	return nil
}

// parsePointer splits an RFC 6901 JSON pointer into unescaped tokens.
func parsePointer(p string) ([]string, error) {
	if p == "" || p == "/" {
		return nil, fmt.Errorf("must name a field below the object root")
	}
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("must start with /")
	}
	tokens := strings.Split(p[1:], "/")
	for i, t := range tokens {
		if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(t, "~0", ""), "~1", ""), "~") {
			return nil, fmt.Errorf("token %q: ~ must be followed by 0 or 1", t)
		}
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return tokens, nil
}

// removePointer deletes the value at tokens below v and returns v (a list
// that loses an item is rebuilt). A path that does not exist is no change.
func removePointer(v any, tokens []string) any {
	if len(tokens) == 0 {
		return v
	}
	last := len(tokens) == 1
	switch t := v.(type) {
	case map[string]any:
		child, ok := t[tokens[0]]
		if !ok {
			return v
		}
		if last {
			delete(t, tokens[0])
		} else {
			t[tokens[0]] = removePointer(child, tokens[1:])
		}
		return t
	case []any:
		i, err := strconv.Atoi(tokens[0])
		if err != nil || i < 0 || i >= len(t) || (tokens[0] != "0" && strings.HasPrefix(tokens[0], "0")) {
			return v
		}
		if last {
			return append(t[:i:i], t[i+1:]...)
		}
		t[i] = removePointer(t[i], tokens[1:])
		return t
	}
	return v
}

// compilePathExpression compiles a jq path expression into a query that
// deletes every path it produces from its input. The query is built as a
// syntax tree around the parsed expression, so the expression cannot escape
// its path(...), and it sees an empty environment ($ENV, env).
func compilePathExpression(expr string) (*gojq.Code, error) {
	paths, err := pathsQuery(expr)
	if err != nil {
		return nil, err
	}
	return gojq.Compile(jqCall("delpaths", paths), gojq.WithEnvironLoader(func() []string { return nil }))
}

// compilePathList compiles a jq path expression into a query that lists the
// paths it produces, [path(expr)], built as compilePathExpression builds its
// query.
func compilePathList(expr string) (*gojq.Code, error) {
	paths, err := pathsQuery(expr)
	if err != nil {
		return nil, err
	}
	return gojq.Compile(paths, gojq.WithEnvironLoader(func() []string { return nil }))
}

// pathsQuery parses expr and returns the query [path(expr)].
func pathsQuery(expr string) (*gojq.Query, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, err
	}
	if len(q.Imports) > 0 || q.Meta != nil {
		return nil, fmt.Errorf("imports are not allowed")
	}
	return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeArray, Array: &gojq.Array{Query: jqCall("path", q)}}}, nil
}

// jqCall returns the query name(arg).
func jqCall(name string, arg *gojq.Query) *gojq.Query {
	return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: name, Args: []*gojq.Query{arg}}}}
}

// JQTimeout bounds one jq path expression on one object: an expression from
// an Application spec must not hold a worker (Argo CD's default, 1s).
const JQTimeout = time.Second

// removeJQPaths runs a compiled path-deleting query on obj. An expression
// that does not apply to obj (it iterates over a missing list, say) removes
// nothing.
func removeJQPaths(ctx context.Context, obj map[string]any, code *gojq.Code) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, JQTimeout)
	defer cancel()
	iter := code.RunWithContext(ctx, toJQ(obj))
	v, ok := iter.Next()
	if !ok {
		return obj, nil
	}
	if _, isErr := v.(error); isErr {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("did not finish within %s", JQTimeout)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return obj, nil
	}
	out, err := copyValue(v)
	if err != nil {
		return nil, err
	}
	m, ok := out.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("result is not an object")
	}
	return m, nil
}

// toJQ copies v into the types gojq accepts: int64 becomes int.
func toJQ(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = toJQ(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = toJQ(e)
		}
		return out
	case int64:
		return int(t)
	}
	return v
}

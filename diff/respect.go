package diff

import (
	"context"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/gyre-cd/gyre/app"
)

// KeepIgnored returns a copy of desired in which every field that the rules
// matching it ignore holds its live value, for the RespectIgnoreDifferences
// sync option: applying the copy leaves those fields as they are live.
//
// A field a JSON pointer or jq path expression names takes the live value
// where live has one and is left out where live has none. A field owned by
// one of a rule's managedFieldsManagers is left out: server-side apply then
// leaves it to that manager. With no live object (it is created) or no
// matching rule, desired is returned as it is.
func KeepIgnored(ctx context.Context, desired, live *unstructured.Unstructured, rules []app.IgnoreDifference) (*unstructured.Unstructured, error) {
	if desired == nil || live == nil {
		return desired, nil
	}
	key := app.KeyOf(desired)
	var matching []app.IgnoreDifference
	for _, r := range rules {
		if r.Matches(key) {
			matching = append(matching, r)
		}
	}
	if len(matching) == 0 {
		return desired, nil
	}
	compiled, err := compileIgnores(matching)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	out := desired.DeepCopy()
	for _, r := range compiled {
		for _, tokens := range r.pointers {
			keepLive(out, live, tokens)
		}
		for _, expr := range r.rule.JQPathExpressions {
			paths, err := jqPaths(ctx, expr, live.Object)
			if err != nil {
				return nil, fmt.Errorf("%s: jq path expression %q: %w", key, expr, err)
			}
			ours, err := jqPaths(ctx, expr, out.Object)
			if err != nil {
				return nil, fmt.Errorf("%s: jq path expression %q: %w", key, expr, err)
			}
			for _, tokens := range append(paths, ours...) {
				keepLive(out, live, tokens)
			}
		}
	}
	owned, err := managedBy(live, compiled)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	for _, n := range owned {
		removeOwned(out.Object, n)
	}
	return out, nil
}

// keepLive sets the field at tokens in out to its value in live, or removes
// it from out when live has none. A list index out's list does not have is
// left alone.
func keepLive(out, live *unstructured.Unstructured, tokens []string) {
	v, ok := lookup(live.Object, tokens)
	if !ok {
		out.Object = removePointer(out.Object, tokens).(map[string]any)
		return
	}
	setAt(out.Object, tokens, runtime.DeepCopyJSONValue(v))
}

// lookup returns the value at tokens below v.
func lookup(v any, tokens []string) (any, bool) {
	for _, t := range tokens {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[t]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// setAt sets the value at tokens below m, making the maps on the way; it
// gives up where the way leads through a value that is not a map, or a list
// index that does not exist.
func setAt(m map[string]any, tokens []string, value any) {
	var cur any = m
	for i, t := range tokens {
		last := i == len(tokens)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[t] = value
				return
			}
			next, ok := c[t]
			if !ok {
				next = map[string]any{}
				c[t] = next
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(t)
			if err != nil || n < 0 || n >= len(c) {
				return
			}
			if last {
				c[n] = value
				return
			}
			cur = c[n]
		default:
			return
		}
	}
}

// jqPaths returns, as pointer tokens, every path that the jq path
// expression expr produces on obj; an expression that does not apply to obj
// produces none.
func jqPaths(ctx context.Context, expr string, obj map[string]any) ([][]string, error) {
	code, err := compilePathList(expr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, JQTimeout)
	defer cancel()
	v, ok := code.RunWithContext(ctx, toJQ(obj)).Next()
	if !ok {
		return nil, nil
	}
	if _, isErr := v.(error); isErr {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("did not finish within %s", JQTimeout)
		}
		return nil, nil
	}
	list, _ := v.([]any)
	var out [][]string
	for _, p := range list {
		elems, _ := p.([]any)
		tokens := make([]string, 0, len(elems))
		for _, e := range elems {
			switch t := e.(type) {
			case string:
				tokens = append(tokens, t)
			case int:
				tokens = append(tokens, strconv.Itoa(t))
			case float64:
				tokens = append(tokens, strconv.Itoa(int(t)))
			default:
				tokens = nil
			}
			if tokens == nil {
				break
			}
		}
		if len(tokens) > 0 {
			out = append(out, tokens)
		}
	}
	return out, nil
}

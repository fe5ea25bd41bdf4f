package cel

import (
	"context"
	"errors"
	"fmt"
	"time"

	celgo "github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/health"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Options bound what one evaluation of an expression may use.
type Options struct {
	// CostLimit is the most an evaluation may cost, in cel-go's units
	// (about one per operation, list element or character handled) before
	// it is stopped and the object is Unknown. Default 1,000,000, the
	// Kubernetes API server's limit for one CEL validation rule.
	CostLimit uint64
	// Timeout is how long one evaluation may run before it is stopped and
	// the object is Unknown. Default 1s.
	Timeout time.Duration
}

// DefaultOptions returns the defaults described on Options.
func DefaultOptions() Options {
	return Options{CostLimit: 1_000_000, Timeout: time.Second}
}

// withDefaults fills the unset fields of o from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.CostLimit == 0 {
		o.CostLimit = d.CostLimit
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	return o
}

// Set is a set of CEL health checks by group and kind, a health.Custom.
// The zero Set, and a nil *Set, have no checks.
type Set struct {
	opts   Options
	checks map[schema.GroupKind]*check
}

var _ health.Custom = (*Set)(nil)

// check is the compiled expressions of one Expr.
type check struct {
	// exprs are inProgress, failed and current, in the order they are
	// tried; those not given are left out.
	exprs []program
}

// program is one compiled expression.
type program struct {
	field  string // current, inProgress or failed
	source string
	prg    celgo.Program
}

// outcomes are the fields of an Expr in the order Flux tries them, and
// the health each gives when true.
var outcomes = []struct {
	field  string
	source func(Expr) string
	status app.HealthStatus
}{
	{"inProgress", func(e Expr) string { return e.InProgress }, app.Progressing},
	{"failed", func(e Expr) string { return e.Failed }, app.Degraded},
	{"current", func(e Expr) string { return e.Current }, app.Healthy},
}

// Compile compiles exprs into a Set. An entry without apiVersion, kind or
// current, or with an expression that does not compile, is an *Error
// naming its index in exprs and the field, and is left out; the others
// still apply. When two entries name the same group and kind, the later
// wins.
func Compile(exprs []Expr, opts Options) (*Set, []error) {
	opts = opts.withDefaults()
	s := &Set{opts: opts, checks: map[schema.GroupKind]*check{}}
	env, err := newEnv()
	if err != nil { // the environment is fixed; this is a bug, not bad input
		return s, []error{fmt.Errorf("CEL environment: %w", err)}
	}
	var errs []error
	for i, e := range exprs {
		fail := func(field string, err error) {
			errs = append(errs, &Error{Index: i, APIVersion: e.APIVersion, Kind: e.Kind, Field: field, Err: err})
		}
		gv, err := schema.ParseGroupVersion(e.APIVersion)
		switch {
		case e.APIVersion == "":
			fail("", errors.New("apiVersion is required"))
			continue
		case err != nil:
			fail("apiVersion", err)
			continue
		case e.Kind == "":
			fail("", errors.New("kind is required"))
			continue
		case e.Current == "":
			fail("", errors.New("current is required"))
			continue
		}
		c := &check{}
		ok := true
		for _, o := range outcomes {
			src := o.source(e)
			if src == "" {
				continue
			}
			prg, err := compile(env, src, opts)
			if err != nil {
				fail(o.field, err)
				ok = false
				continue
			}
			c.exprs = append(c.exprs, program{field: o.field, source: src, prg: prg})
		}
		if ok {
			s.checks[schema.GroupKind{Group: gv.Group, Kind: e.Kind}] = c
		}
	}
	return s, errs
}

// newEnv returns the CEL environment of the expressions: Flux's, so that
// its expressions work unchanged.
func newEnv() (*celgo.Env, error) {
	return celgo.NewEnv(
		celgo.HomogeneousAggregateLiterals(),
		celgo.EagerlyValidateDeclarations(true),
		celgo.DefaultUTCTimeZone(true),
		celgo.CrossTypeNumericComparisons(true),
		celgo.OptionalTypes(),
		ext.Strings(),
		ext.Sets(),
		ext.Encoders(),
	)
}

// compile parses one expression. It is parsed, not type-checked, as Flux
// does: the object's top-level fields are not known in advance (not every
// kind has spec and status), so a misspelt field is found when the
// expression runs, not here.
func compile(env *celgo.Env, src string, opts Options) (celgo.Program, error) {
	ast, iss := env.Parse(src)
	if iss != nil && iss.Err() != nil {
		return nil, iss.Err()
	}
	return env.Program(ast,
		celgo.EvalOptions(celgo.OptOptimize),
		celgo.CostLimit(opts.CostLimit),
		celgo.InterruptCheckFrequency(100), // how often a comprehension looks at the deadline
	)
}

// Len is how many kinds the Set has checks for.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.checks)
}

// Check judges obj with the expressions for its group and kind, if the Set
// has them; ok is false otherwise, so that other checks decide.
func (s *Set) Check(obj *unstructured.Unstructured) (st app.HealthState, ok bool) {
	if s == nil {
		return app.HealthState{}, false
	}
	c, ok := s.checks[obj.GroupVersionKind().GroupKind()]
	if !ok {
		return app.HealthState{}, false
	}
	return c.check(obj, s.opts), true
}

// check judges obj as Flux's kustomize-controller does: Progressing while
// status.observedGeneration, when there is one, differs from
// metadata.generation; then by the first of inProgress, failed and current
// that is true; Progressing when none is. An expression that fails, or
// returns something other than a bool, makes obj Unknown.
func (c *check) check(obj *unstructured.Unstructured, opts Options) (st app.HealthState) {
	defer func() {
		if r := recover(); r != nil { // an interpreter is a library; bad input must not take the agent down
			st = unknown(fmt.Sprintf("healthCheckExprs: %v", r))
		}
	}()
	if observed, ok := health.IntField(obj.Object, "status", "observedGeneration"); ok {
		if gen, ok := health.IntField(obj.Object, "metadata", "generation"); ok && gen != observed {
			return state(app.Progressing, fmt.Sprintf("waiting for rollout to be observed: generation %d, observed %d", gen, observed))
		}
	}
	vars := activation(obj.Object)
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	for _, p := range c.exprs {
		val, _, err := p.prg.ContextEval(ctx, vars)
		switch {
		case ctx.Err() != nil:
			return unknown(fmt.Sprintf("healthCheckExprs %s: ran longer than %s: %s", p.field, opts.Timeout, p.source))
		case err != nil:
			return unknown(fmt.Sprintf("healthCheckExprs %s: %v: %s", p.field, err, p.source))
		}
		b, isBool := val.(types.Bool)
		if !isBool {
			return unknown(fmt.Sprintf("healthCheckExprs %s: returned %s, not a bool: %s", p.field, val.Type().TypeName(), p.source))
		}
		if b {
			st := outcomeOf(p.field)
			return state(st, readyMessage(obj, fmt.Sprintf("healthCheckExprs %s: %s", p.field, p.source)))
		}
	}
	return state(app.Progressing, readyMessage(obj, "healthCheckExprs: none of inProgress, failed and current is true yet"))
}

// outcomeOf returns the health an expression's field gives when true.
func outcomeOf(field string) app.HealthStatus {
	for _, o := range outcomes {
		if o.field == field {
			return o.status
		}
	}
	return app.HealthUnknown
}

// activation is what an expression sees: the object's top-level fields as
// variables (apiVersion, kind, metadata, spec, status, …), as in Flux, and
// the whole object as self, as in Kubernetes' own CEL rules.
func activation(obj map[string]any) map[string]any {
	vars := make(map[string]any, len(obj)+1)
	for k, v := range obj {
		vars[k] = v
	}
	vars["self"] = obj
	return vars
}

// readyMessage is the message of obj's Ready condition, or its reason, or
// fallback when it has neither.
func readyMessage(obj *unstructured.Unstructured, fallback string) string {
	if s := health.ConditionText(obj, "Ready"); s != "" {
		return s
	}
	return fallback
}

func state(s app.HealthStatus, msg string) app.HealthState {
	return app.HealthState{Status: s, Message: app.TruncateMessage(msg, app.MaxMessageLength)}
}

func unknown(msg string) app.HealthState { return state(app.HealthUnknown, msg) }

package lua

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gyre-cd/gyre/app"
	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Options bound what one run of a script may use.
type Options struct {
	// Timeout is how long one check may run before it is stopped and the
	// object is Unknown. Default 1s.
	Timeout time.Duration
	// MaxStringBytes is the longest string string.rep may build. Default
	// 1 MiB.
	MaxStringBytes int
	// CallStackSize is how deep Lua function calls may nest. Default 200.
	CallStackSize int
	// MaxStackSize is how many values the Lua data stack may grow to.
	// Default 65536.
	MaxStackSize int
}

// DefaultOptions returns the defaults described on Options.
func DefaultOptions() Options {
	return Options{Timeout: time.Second, MaxStringBytes: 1 << 20, CallStackSize: 200, MaxStackSize: 1 << 16}
}

// withDefaults fills the unset fields of o from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.MaxStringBytes <= 0 {
		o.MaxStringBytes = d.MaxStringBytes
	}
	if o.CallStackSize <= 0 {
		o.CallStackSize = d.CallStackSize
	}
	if o.MaxStackSize <= 0 {
		o.MaxStackSize = d.MaxStackSize
	}
	return o
}

// Script is one compiled health check. It is safe for concurrent use: each
// check runs the compiled code in a Lua state of its own.
type Script struct {
	origin string
	proto  *glua.FunctionProto
}

// Compile compiles a health script. origin names it in the messages of
// the errors it raises when it runs (a ConfigMap key, a file path); a
// compile error gives the line and column without it, for the caller to
// name the script.
func Compile(origin, source string) (*Script, error) {
	chunk, err := parse.Parse(strings.NewReader(source), origin)
	var pe *parse.Error
	switch {
	case errors.As(err, &pe) && pe.Pos.Line == parse.EOF:
		return nil, fmt.Errorf("at the end: %s", pe.Message)
	case errors.As(err, &pe):
		return nil, fmt.Errorf("line %d column %d near %q: %s", pe.Pos.Line, pe.Pos.Column, pe.Token, pe.Message)
	case err != nil:
		return nil, err
	}
	proto, err := glua.Compile(chunk, origin)
	if err != nil {
		return nil, err
	}
	return &Script{origin: origin, proto: proto}, nil
}

// Origin is where the script came from, as given to Compile.
func (s *Script) Origin() string { return s.origin }

// Check runs the script on obj and returns the health it reports, or
// Unknown with the reason when the script fails.
func (s *Script) Check(obj *unstructured.Unstructured, opts Options) (st app.HealthState) {
	opts = opts.withDefaults()
	defer func() {
		if r := recover(); r != nil { // the VM is a library; bad input must not take the agent down
			st = unknown(fmt.Sprintf("%s: %v", s.origin, r))
		}
	}()
	L := newState(opts)
	defer L.Close()
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	L.SetContext(ctx)
	L.SetGlobal("obj", toLua(L, obj.Object))
	L.Push(L.NewFunctionFromProto(s.proto))
	if err := L.PCall(0, 1, nil); err != nil {
		if ctx.Err() != nil {
			return unknown(fmt.Sprintf("%s: ran longer than %s", s.origin, opts.Timeout))
		}
		msg := luaErrorMessage(err)
		if !strings.HasPrefix(msg, s.origin) {
			msg = s.origin + ": " + msg
		}
		return unknown(msg)
	}
	return s.result(L.Get(-1))
}

// result reads the table a script returned.
func (s *Script) result(ret glua.LValue) app.HealthState {
	tbl, ok := ret.(*glua.LTable)
	if !ok {
		return unknown(fmt.Sprintf("%s returned %s, not a table {status = …, message = …}", s.origin, ret.Type()))
	}
	status, ok := tbl.RawGetString("status").(glua.LString)
	if !ok || !validStatus(app.HealthStatus(status)) {
		return unknown(fmt.Sprintf("%s returned the status %s, not one of %s", s.origin, describe(tbl.RawGetString("status")), statusList))
	}
	var msg string
	switch m := tbl.RawGetString("message").(type) {
	case glua.LString:
		msg = string(m)
	case glua.LNumber:
		msg = m.String()
	case *glua.LNilType:
	default:
		return unknown(fmt.Sprintf("%s returned a message of type %s, not a string", s.origin, m.Type()))
	}
	return app.HealthState{Status: app.HealthStatus(status), Message: app.TruncateMessage(msg, app.MaxMessageLength)}
}

// statuses are the health statuses a script may return.
var statuses = []app.HealthStatus{app.Healthy, app.Progressing, app.Degraded, app.Suspended, app.Missing, app.HealthUnknown}

// statusList names the statuses for messages.
const statusList = "Healthy, Progressing, Degraded, Suspended, Missing, Unknown"

func validStatus(s app.HealthStatus) bool { return slices.Contains(statuses, s) }

// describe shows a Lua value in a message: strings quoted, others by type.
func describe(v glua.LValue) string {
	if s, ok := v.(glua.LString); ok {
		return fmt.Sprintf("%q", app.TruncateMessage(string(s), 64))
	}
	return v.Type().String()
}

func unknown(msg string) app.HealthState {
	return app.HealthState{Status: app.HealthUnknown, Message: app.TruncateMessage(msg, app.MaxMessageLength)}
}

// luaErrorMessage is the message of a Lua error without the stack trace
// gopher-lua appends.
func luaErrorMessage(err error) string {
	var apiErr *glua.ApiError
	if errors.As(err, &apiErr) && apiErr.Object != nil {
		return apiErr.Object.String()
	}
	return err.Error()
}

// toLua converts a value of an unstructured object to Lua: maps to tables,
// slices to 1-based arrays, numbers, bools and strings as themselves.
func toLua(L *glua.LState, v any) glua.LValue {
	switch v := v.(type) {
	case nil:
		return glua.LNil
	case bool:
		return glua.LBool(v)
	case string:
		return glua.LString(v)
	case int64:
		return glua.LNumber(v)
	case int:
		return glua.LNumber(v)
	case int32:
		return glua.LNumber(v)
	case float64:
		return glua.LNumber(v)
	case float32:
		return glua.LNumber(v)
	case json.Number:
		if f, err := v.Float64(); err == nil {
			return glua.LNumber(f)
		}
		return glua.LString(v)
	case []any:
		t := L.CreateTable(len(v), 0)
		for i, e := range v {
			t.RawSetInt(i+1, toLua(L, e)) // a null keeps its place, as nil
		}
		return t
	case map[string]any:
		t := L.CreateTable(0, len(v))
		for k, e := range v {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	}
	return glua.LString(fmt.Sprint(v))
}

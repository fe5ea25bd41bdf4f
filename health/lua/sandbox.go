package lua

import (
	"fmt"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// libraries are the Lua libraries a script may use.
var libraries = []struct {
	name string
	open glua.LGFunction
}{
	{glua.BaseLibName, glua.OpenBase},
	{glua.TabLibName, glua.OpenTable},
	{glua.StringLibName, glua.OpenString},
	{glua.MathLibName, glua.OpenMath},
}

// refusedGlobals are the functions of the base library that reach files,
// load code, print to the agent's output, or reach past a script's own
// environment.
var refusedGlobals = []string{
	"dofile", "loadfile", "load", "loadstring", "require", "module",
	"print", "_printregs", "collectgarbage", "getfenv", "setfenv", "newproxy",
}

// newState returns a Lua state with the sandboxed libraries open and the
// stack bounds of opts.
func newState(opts Options) *glua.LState {
	L := glua.NewState(glua.Options{
		SkipOpenLibs:        true,
		CallStackSize:       opts.CallStackSize,
		RegistrySize:        256,
		RegistryMaxSize:     opts.MaxStackSize,
		RegistryGrowStep:    256,
		MinimizeStackMemory: true,
	})
	for _, lib := range libraries {
		L.Push(L.NewFunction(lib.open))
		L.Push(glua.LString(lib.name))
		L.Call(1, 0)
	}
	for _, name := range refusedGlobals {
		L.SetGlobal(name, glua.LNil)
	}
	str := L.GetGlobal(glua.StringLibName).(*glua.LTable)
	str.RawSetString("dump", glua.LNil)
	str.RawSetString("rep", L.NewFunction(boundedRep(opts.MaxStringBytes)))
	format := str.RawGetString("format").(*glua.LFunction)
	str.RawSetString("format", L.NewFunction(checkedFormat(format)))
	return L
}

// boundedRep is string.rep refusing results longer than limit bytes.
func boundedRep(limit int) glua.LGFunction {
	return func(L *glua.LState) int {
		s := L.CheckString(1)
		n := L.CheckInt(2)
		if n > 0 && len(s) > 0 && n > limit/len(s) {
			L.RaiseError("string.rep: the result would be longer than %d bytes", limit)
		}
		if n <= 0 {
			L.Push(glua.LString(""))
			return 1
		}
		L.Push(glua.LString(strings.Repeat(s, n)))
		return 1
	}
}

// checkedFormat is string.format refusing, as Lua 5.1 does, a width or
// precision of more than two digits: gopher-lua hands the format to Go's
// fmt, which would build a string of any width asked for.
func checkedFormat(format *glua.LFunction) glua.LGFunction {
	return func(L *glua.LState) int {
		if err := checkFormat(L.CheckString(1)); err != nil {
			L.RaiseError("string.format: %v", err)
		}
		top := L.GetTop()
		L.Push(format)
		for i := 1; i <= top; i++ {
			L.Push(L.Get(i))
		}
		L.Call(top, 1)
		return 1
	}
}

// checkFormat refuses a format whose width or precision has more than two
// digits.
func checkFormat(f string) error {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			continue
		}
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
		}
		if digits(f, &i) > 2 {
			return fmt.Errorf("invalid format (width too long)")
		}
		if i < len(f) && f[i] == '.' {
			i++
			if digits(f, &i) > 2 {
				return fmt.Errorf("invalid format (precision too long)")
			}
		}
		if i < len(f) && f[i] == '*' {
			return fmt.Errorf("invalid format (* width)")
		}
	}
	return nil
}

// digits skips the decimal digits at f[*i:] and returns how many there
// were.
func digits(f string, i *int) int {
	n := 0
	for *i < len(f) && f[*i] >= '0' && f[*i] <= '9' {
		*i++
		n++
	}
	return n
}

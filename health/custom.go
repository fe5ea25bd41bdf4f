package health

import (
	"sync/atomic"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Custom is a set of health checks that people load (Lua scripts, CEL
// expressions) for kinds of their choosing. Check answers with ok false when
// it has no check for obj's kind, so that the built-in rules decide.
type Custom interface {
	Check(obj *unstructured.Unstructured) (state app.HealthState, ok bool)
}

// Checker checks health with a Custom set first and the built-in rules
// after. The Custom set may be replaced at any time (its ConfigMap
// changed) by SetCustom; checks in progress finish with the set they
// started with. A nil *Checker, or one without a Custom set, is Check.
type Checker struct {
	custom atomic.Pointer[customBox]
}

// customBox holds a Custom in an atomic.Pointer.
type customBox struct{ c Custom }

// SetCustom replaces the Custom set; nil removes it.
func (c *Checker) SetCustom(custom Custom) {
	if custom == nil {
		c.custom.Store(nil)
		return
	}
	c.custom.Store(&customBox{c: custom})
}

// Check returns the health of obj: a custom check's answer for its kind if
// there is one, else Check's. An object being deleted is Progressing
// whatever a custom check would say.
func (c *Checker) Check(obj *unstructured.Unstructured) (app.HealthState, bool) {
	if c != nil && obj.GetDeletionTimestamp() == nil {
		if b := c.custom.Load(); b != nil {
			if st, ok := b.c.Check(obj); ok {
				return st, true
			}
		}
	}
	return Check(obj)
}

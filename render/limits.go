package render

import (
	"fmt"
	"sync"
)

// Limits bound what one render may read and produce, so that a repository
// cannot make gyre exhaust its memory by what it holds. Breaking one fails
// the render with an *Error wrapping ErrBudgetExceeded that names the limit
// and, where there is one, the file. A zero (or negative) field means its
// default (see DefaultLimits); so does the zero Limits.
//
// These are the walls render can build in-process. Time and the memory a
// template engine allocates while it runs (a Helm template looping two
// billion times, a template that includes itself through many names) are
// bounded only by running renders in a worker process with a deadline and
// a memory limit.
type Limits struct {
	// MaxFileBytes is the largest file a render reads, in bytes. A file
	// over it is refused by its size, before it is read. It applies to the
	// files of a Helm chart's archived subcharts too.
	MaxFileBytes int64 `json:"maxFileBytes,omitempty"`
	// MaxReadBytes bounds the bytes of all files one render reads: the
	// manifests, the kustomizations and what they refer to, a chart with
	// its subcharts (archived subcharts count decompressed) and value
	// files. Directory listings count the length of the names they hold.
	MaxReadBytes int64 `json:"maxReadBytes,omitempty"`
	// MaxObjects is the most objects one render may produce.
	MaxObjects int `json:"maxObjects,omitempty"`
	// MaxOutputBytes bounds the total size of the rendered objects,
	// measured as their JSON encoding. For Helm the text the templates
	// render is held to it as well, before it is decoded.
	MaxOutputBytes int64 `json:"maxOutputBytes,omitempty"`
}

// The default Limits.
const (
	// DefaultMaxFileBytes is the default Limits.MaxFileBytes, 8 MiB.
	DefaultMaxFileBytes = 8 << 20
	// DefaultMaxReadBytes is the default Limits.MaxReadBytes, 128 MiB.
	DefaultMaxReadBytes = 128 << 20
	// DefaultMaxObjects is the default Limits.MaxObjects.
	DefaultMaxObjects = 10_000
	// DefaultMaxOutputBytes is the default Limits.MaxOutputBytes, 64 MiB.
	DefaultMaxOutputBytes = 64 << 20
)

// DefaultLimits returns the limits a zero Limits stands for.
func DefaultLimits() Limits {
	return Limits{
		MaxFileBytes:   DefaultMaxFileBytes,
		MaxReadBytes:   DefaultMaxReadBytes,
		MaxObjects:     DefaultMaxObjects,
		MaxOutputBytes: DefaultMaxOutputBytes,
	}
}

// withDefaults returns l with every zero (or negative) field set to its
// default.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxReadBytes <= 0 {
		l.MaxReadBytes = d.MaxReadBytes
	}
	if l.MaxObjects <= 0 {
		l.MaxObjects = d.MaxObjects
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = d.MaxOutputBytes
	}
	return l
}

// budget is what one render has used of its Limits. The first limit broken
// is kept: every later read fails with it, and Render reports it whatever a
// library made of the error on its way up.
type budget struct {
	limits Limits

	mu      sync.Mutex
	read    int64
	objects int64
	output  int64
	broken  *Error
}

// newBudget returns an unused budget for limits (zero fields meaning the
// defaults).
func newBudget(limits Limits) *budget {
	return &budget{limits: limits.withDefaults()}
}

// exceeded returns the first limit broken, or nil.
func (b *budget) exceeded() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken == nil {
		return nil
	}
	return b.broken
}

// breakLocked records a broken limit (the first one stays) and returns it.
// The caller holds b.mu.
func (b *budget) breakLocked(file, format string, args ...any) error {
	if b.broken == nil {
		b.broken = &Error{File: file, Err: fmt.Errorf(format+": %w", append(args, ErrBudgetExceeded)...)}
	}
	return b.broken
}

// charge adds n to *total (nil: only n is weighed) and breaks the budget,
// naming file, when the result passes limit.
func (b *budget) charge(file string, total *int64, n, limit int64, format string, args ...any) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken != nil {
		return b.broken
	}
	if total != nil {
		*total += n
		n = *total
	}
	if n > limit {
		return b.breakLocked(file, format, args...)
	}
	return nil
}

// checkFile refuses a file of size bytes before it is read.
func (b *budget) checkFile(name string, size int64) error {
	limit := b.limits.MaxFileBytes
	return b.charge(name, nil, size, limit, "%d bytes, more than MaxFileBytes (%d bytes)", size, limit)
}

// addRead counts n bytes read from name.
func (b *budget) addRead(name string, n int64) error {
	limit := b.limits.MaxReadBytes
	return b.charge(name, &b.read, n, limit, "reading it takes the render past MaxReadBytes (%d bytes)", limit)
}

// addObjects counts n objects rendered from file.
func (b *budget) addObjects(file string, n int) error {
	limit := b.limits.MaxObjects
	return b.charge(file, &b.objects, int64(n), int64(limit), "the render makes more than MaxObjects (%d) objects", limit)
}

// addOutput counts n bytes of rendered objects from file.
func (b *budget) addOutput(file string, n int64) error {
	limit := b.limits.MaxOutputBytes
	return b.charge(file, &b.output, n, limit, "the rendered objects come to more than MaxOutputBytes (%d bytes)", limit)
}

// checkOutput refuses n bytes of rendered text (Helm's template output)
// without counting it.
func (b *budget) checkOutput(file string, n int64) error {
	limit := b.limits.MaxOutputBytes
	return b.charge(file, nil, n, limit, "the templates render %d bytes, more than MaxOutputBytes (%d bytes)", n, limit)
}

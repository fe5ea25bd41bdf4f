package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// The protocol between a Sandbox and a render worker: gob-encoded frames
// over two pipes, one each way. The worker starts by saying which walls it
// raised. Then each exchange is strictly sequential: the parent sends a
// render call; the worker answers with file system calls,
// each of which the parent answers from the fs.FS it was given, until the
// worker sends the render's outcome. Only concrete types cross (gob needs no
// registration); objects travel as JSON, errors as wireError.

// toWorker is a frame from the parent to a worker. Exactly one field is set.
type toWorker struct {
	// Render starts a render; the worker is idle when it arrives.
	Render *renderCall
	// FS answers the worker's file system call with the same ID.
	FS *fsReply
}

// fromWorker is a frame from a worker to the parent. Exactly one field is set.
type fromWorker struct {
	// Started is the worker's first frame, sent before it reads any.
	Started *workerStarted
	// FS asks the parent to read its fs.FS.
	FS *fsCall
	// Done is the render's outcome; the worker is idle again.
	Done *renderDone
}

// workerStarted tells the parent that a worker is up, and which of its
// walls it could not raise on this system.
type workerStarted struct {
	Missing []string
}

// renderCall is Render's arguments, less the fs.FS the parent keeps.
type renderCall struct {
	Dir     string
	Options Options
}

// renderDone is Render's outcome: Err, or a Type and the Objects.
type renderDone struct {
	Type    Type
	Objects []wireObject
	Err     *wireError
}

// wireObject is one Object with its content as JSON.
type wireObject struct {
	JSON   []byte
	Origin Origin
}

// fsOp names a file system call.
type fsOp uint8

// The file system calls a worker makes: one for each of the fs.FS
// interfaces remoteFS implements.
const (
	fsOpen fsOp = iota + 1
	fsStat
	fsReadDir
	fsReadFile
)

// fsCall asks the parent for one file system operation on Name.
type fsCall struct {
	ID   uint64
	Op   fsOp
	Name string
}

// fsReply answers the fsCall with the same ID: Err, or Info (open, stat),
// Entries (readDir) or Data (readFile).
type fsReply struct {
	ID      uint64
	Info    wireInfo
	Entries []wireEntry
	Data    []byte
	Err     *wireError
}

// wireInfo is an fs.FileInfo.
type wireInfo struct {
	Name    string
	Size    int64
	Mode    fs.FileMode
	ModTime time.Time
}

// wireEntry is an fs.DirEntry: its name, type bits and, unless the parent
// could not get it, its Info (the Helm chart loader asks every entry).
type wireEntry struct {
	Name string
	Type fs.FileMode
	Info *wireInfo
}

// encodeResult turns a render's outcome into its frame.
func encodeResult(res *Result, err error) *renderDone {
	if err != nil {
		return &renderDone{Err: encodeError(err)}
	}
	done := &renderDone{Type: res.Type, Objects: make([]wireObject, len(res.Objects))}
	for i, o := range res.Objects {
		data, err := o.Obj.MarshalJSON()
		if err != nil {
			return &renderDone{Err: encodeError(&Error{Type: res.Type, File: o.Origin.File, Line: o.Origin.Line, Err: fmt.Errorf("encode object: %w", err)})}
		}
		done.Objects[i] = wireObject{JSON: data, Origin: o.Origin}
	}
	return done
}

// decodeResult turns a renderDone frame back into Render's return values.
func decodeResult(d *renderDone) (*Result, error) {
	if d.Err != nil {
		return nil, d.Err.decode()
	}
	res := &Result{Type: d.Type, Objects: make([]Object, len(d.Objects))}
	for i, o := range d.Objects {
		var obj map[string]any
		if err := utiljson.Unmarshal(o.JSON, &obj); err != nil {
			return nil, fmt.Errorf("object %d from %s: %w", i, o.Origin, err)
		}
		res.Objects[i] = Object{Obj: &unstructured.Unstructured{Object: obj}, Origin: o.Origin}
	}
	return res, nil
}

// errorKind is the outermost type of an error that crossed, rebuilt on the
// other side.
type errorKind uint8

// The error types rebuilt after crossing; any other becomes its message.
const (
	plainError errorKind = iota
	renderError
	pathError
)

// wireError is an error crossing the process boundary: its outermost
// *Error or *fs.PathError with its fields, the message of the cause below
// it, and the names of the wireSentinels errors.Is finds in that cause.
type wireError struct {
	Kind errorKind
	// Type, Path, File and Line are the *Error's; Path is also the
	// *fs.PathError's, with Op.
	Type  Type
	Path  string
	File  string
	Line  int
	Op    string
	Cause string
	Is    []string
}

// encodeError turns err into its wire form.
func encodeError(err error) *wireError {
	w := &wireError{}
	switch e := err.(type) {
	case *Error:
		w.Kind, w.Type, w.Path, w.File, w.Line = renderError, e.Type, e.Path, e.File, e.Line
		err = e.Err
	case *fs.PathError:
		w.Kind, w.Op, w.Path = pathError, e.Op, e.Path
		err = e.Err
	}
	if err == nil {
		err = errors.New("unknown error")
	}
	w.Cause = err.Error()
	for _, s := range wireSentinels() {
		if errors.Is(err, s.err) {
			w.Is = append(w.Is, s.name)
		}
	}
	return w
}

// decode rebuilds the error: the outer type with its fields, around a cause
// that carries the message and unwraps to the sentinels.
func (w *wireError) decode() error {
	cause := &remoteError{msg: w.Cause}
	for _, name := range w.Is {
		for _, s := range wireSentinels() {
			if s.name == name {
				cause.is = append(cause.is, s.err)
			}
		}
	}
	switch w.Kind {
	case renderError:
		return &Error{Type: w.Type, Path: w.Path, File: w.File, Line: w.Line, Err: cause}
	case pathError:
		return &fs.PathError{Op: w.Op, Path: w.Path, Err: cause}
	}
	return cause
}

// remoteError is a cause that crossed the process boundary: the message it
// had, unwrapping to the sentinels it wrapped on the other side.
type remoteError struct {
	msg string
	is  []error
}

// Error returns the message the error had where it was made.
func (e *remoteError) Error() string { return e.msg }

// Unwrap returns the sentinels the error wrapped where it was made.
func (e *remoteError) Unwrap() []error { return e.is }

// wireSentinel is an error errors.Is still finds after crossing, by name.
type wireSentinel struct {
	name string
	err  error
}

// wireSentinels lists the errors errors.Is finds on both sides of the
// boundary: render's own causes, for callers of Sandbox.Render, and the
// fs errors that render's code branches on, for the worker. A test fails
// when errors.go declares a sentinel that is missing here.
func wireSentinels() []wireSentinel {
	return []wireSentinel{
		{"render.ErrUnknownType", ErrUnknownType},
		{"render.ErrNotFound", ErrNotFound},
		{"render.ErrRemoteDisabled", ErrRemoteDisabled},
		{"render.ErrNotObject", ErrNotObject},
		{"render.ErrBudgetExceeded", ErrBudgetExceeded},
		{"fs.ErrInvalid", fs.ErrInvalid},
		{"fs.ErrPermission", fs.ErrPermission},
		{"fs.ErrExist", fs.ErrExist},
		{"fs.ErrNotExist", fs.ErrNotExist},
		{"fs.ErrClosed", fs.ErrClosed},
		{"context.Canceled", context.Canceled},
		{"context.DeadlineExceeded", context.DeadlineExceeded},
	}
}

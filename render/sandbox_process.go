package render

import (
	"bufio"
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
)

// workerProcess is one render worker, seen from the Sandbox: the process,
// its pipes, and what it wrote to stderr during the current render.
type workerProcess struct {
	cmd    *exec.Cmd
	calls  *os.File // the parent's end of the pipe to the worker
	enc    *gob.Encoder
	dec    *gob.Decoder
	stderr *stderrCapture

	exited chan struct{} // closed once the process has been waited for
	state  *os.ProcessState
	broken bool // killed, exited or out of step: never used again

	// missing are the walls the worker could not raise, as it said when it
	// started; nil until then.
	missing []string
}

// crashGrace is how long a worker whose pipe closed is given to exit on its
// own, so that its exit status and last words can be read, before it is
// killed.
const crashGrace = 5 * time.Second

// startWorker starts one worker process: cmd with the worker environment,
// the call pipe as fd 3 and the reply pipe as fd 4.
func startWorker(opts SandboxOptions, isolated bool) (*workerProcess, error) {
	callsR, callsW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	repliesR, repliesW, err := os.Pipe()
	if err != nil {
		callsR.Close()
		callsW.Close()
		return nil, err
	}
	p := &workerProcess{calls: callsW, stderr: &stderrCapture{}, exited: make(chan struct{})}
	p.cmd = exec.Command(opts.Command[0], opts.Command[1:]...)
	if opts.Command[0] == selfExecutable {
		p.cmd.Args[0] = "gyre-render-worker" // for ps; the program is the same
	}
	p.cmd.Env = append([]string{workerEnv + "=" + strconv.FormatInt(opts.MemoryBytes, 10), "PATH="}, opts.Env...)
	p.cmd.Dir = "/"
	p.cmd.ExtraFiles = []*os.File{callsR, repliesW}
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	p.cmd.WaitDelay = time.Second
	p.cmd.SysProcAttr = sysProcAttr(isolated)
	err = p.cmd.Start()
	callsR.Close()
	repliesW.Close()
	if err != nil {
		callsW.Close()
		repliesR.Close()
		return nil, fmt.Errorf("start render worker %s: %w", opts.Command[0], err)
	}
	p.enc = gob.NewEncoder(callsW)
	p.dec = gob.NewDecoder(bufio.NewReader(repliesR))
	go func() {
		p.cmd.Wait() // the state below says how it ended
		p.state = p.cmd.ProcessState
		repliesR.Close()
		close(p.exited)
	}()
	return p, nil
}

// render runs one render on p within timeout and ctx. On any failure of the
// worker itself (deadline, memory overrun, crash, cancellation) p is dead
// and marked broken, and the error says which; otherwise p is idle again
// and the result or error is the render's own.
func (p *workerProcess) render(ctx context.Context, fsys fs.FS, dir string, opts Options, timeout time.Duration, budget int64) (*Result, error) {
	p.stderr.reset()
	type outcome struct {
		done *renderDone
		err  error
	}
	out := make(chan outcome, 1)
	go func() {
		done, err := p.exchange(fsys, &renderCall{Dir: dir, Options: opts}, budget)
		out <- outcome{done, err}
	}()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case o := <-out:
		if o.err != nil {
			return nil, p.failed(o.err, budget)
		}
		res, err := decodeResult(o.done)
		if err != nil && o.done.Err == nil {
			p.kill()
			return nil, fmt.Errorf("render worker sent an unreadable result: %w", err)
		}
		return res, err
	case <-deadline.C:
		p.kill()
		<-out
		return nil, fmt.Errorf("exceeded its %s deadline", timeout)
	case <-ctx.Done():
		p.kill()
		<-out
		return nil, ctx.Err()
	}
}

// exchange sends the render call and serves the worker's file system calls
// until it sends the outcome.
func (p *workerProcess) exchange(fsys fs.FS, call *renderCall, budget int64) (*renderDone, error) {
	if err := p.enc.Encode(&toWorker{Render: call}); err != nil {
		return nil, err
	}
	served := int64(0)
	for {
		var m fromWorker
		if err := p.dec.Decode(&m); err != nil {
			return nil, err
		}
		switch {
		case m.Started != nil:
			p.missing = append([]string{}, m.Started.Missing...)
		case m.Done != nil:
			return m.Done, nil
		case m.FS != nil:
			if err := p.enc.Encode(&toWorker{FS: serveFS(fsys, m.FS, &served, budget)}); err != nil {
				return nil, err
			}
		default:
			return nil, errors.New("empty frame")
		}
	}
}

// serveFS answers one file system call from fsys. served counts the bytes
// of file content this render was sent: a render may read no more than its
// memory budget, and a file that would pass it is refused before it is read,
// so that a huge file costs the parent nothing.
func serveFS(fsys fs.FS, c *fsCall, served *int64, budget int64) *fsReply {
	r := &fsReply{ID: c.ID}
	fail := func(err error) *fsReply {
		r.Err = encodeError(err)
		return r
	}
	if !fs.ValidPath(c.Name) {
		return fail(&fs.PathError{Op: "open", Path: c.Name, Err: fs.ErrInvalid})
	}
	switch c.Op {
	case fsOpen:
		f, err := fsys.Open(c.Name)
		if err != nil {
			return fail(err)
		}
		info, err := f.Stat()
		f.Close()
		if err != nil {
			return fail(err)
		}
		r.Info = toWireInfo(info)
	case fsStat:
		info, err := fs.Stat(fsys, c.Name)
		if err != nil {
			return fail(err)
		}
		r.Info = toWireInfo(info)
	case fsReadDir:
		entries, err := fs.ReadDir(fsys, c.Name)
		if err != nil {
			return fail(err)
		}
		r.Entries = make([]wireEntry, len(entries))
		for i, e := range entries {
			r.Entries[i] = wireEntry{Name: e.Name(), Type: e.Type()}
			if info, err := e.Info(); err == nil {
				w := toWireInfo(info)
				r.Entries[i].Info = &w
			}
		}
	case fsReadFile:
		if info, err := fs.Stat(fsys, c.Name); err == nil && *served+info.Size() > budget {
			return fail(&fs.PathError{Op: "read", Path: c.Name, Err: fmt.Errorf("file of %s passes what is left of the render's memory budget of %s", formatBytes(info.Size()), formatBytes(budget))})
		}
		data, err := fs.ReadFile(fsys, c.Name)
		if err != nil {
			return fail(err)
		}
		*served += int64(len(data))
		r.Data = data
	default:
		return fail(fmt.Errorf("unknown file system call %d", c.Op))
	}
	return r
}

// toWireInfo copies an fs.FileInfo for the pipe.
func toWireInfo(info fs.FileInfo) wireInfo {
	return wireInfo{Name: info.Name(), Size: info.Size(), Mode: info.Mode(), ModTime: info.ModTime()}
}

// failed turns the end of an exchange that did not finish (the pipe closed
// or carried nonsense) into the reason the worker gave up: it waits for the
// process to exit, killing it after crashGrace, and reads its exit status
// and stderr.
func (p *workerProcess) failed(cause error, budget int64) error {
	p.broken = true
	select {
	case <-p.exited:
	case <-time.After(crashGrace):
		p.kill()
	}
	last := p.stderr.lastWords()
	status := p.state.Sys().(syscall.WaitStatus)
	switch {
	case status.Exited() && status.ExitStatus() == exitMemory, outOfMemory(last):
		return fmt.Errorf("exceeded its memory budget of %s", formatBytes(budget))
	case status.Signaled() && status.Signal() == syscall.SIGKILL:
		return errors.New("render worker crashed: killed (by the kernel's OOM killer, or from outside gyre)")
	}
	msg := p.state.String()
	if last != "" {
		msg = last + " (" + msg + ")"
	} else if status.Exited() && status.ExitStatus() == 0 {
		msg += ", " + cause.Error()
	}
	return errors.New("render worker crashed: " + msg)
}

// outOfMemory reports whether a worker's last words are about memory:
// under the address space limit, the allocation that passes it fails, in
// the Go runtime or (built with -race) in ThreadSanitizer's.
func outOfMemory(last string) bool {
	for _, m := range []string{"out of memory", "cannot allocate memory", "cannot map pages", "failed to allocate"} {
		if strings.Contains(last, m) {
			return true
		}
	}
	return false
}

// kill ends the worker at once and waits until it is gone.
func (p *workerProcess) kill() {
	p.broken = true
	p.cmd.Process.Kill()
	<-p.exited
	p.calls.Close()
}

// stderrCaptureSize bounds what is kept of a worker's stderr.
const stderrCaptureSize = 16 << 10

// stderrCapture keeps the beginning of what a worker writes to stderr since
// the current render began: the first line of a Go crash says what
// happened; the goroutine dumps after it do not matter here.
type stderrCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write keeps p while there is room, and never fails.
func (c *stderrCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := stderrCaptureSize - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *stderrCapture) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Reset()
}

// lastWords returns the line that says why the worker died: the Go
// runtime's "fatal error:" or "panic:" line, or the worker's own message,
// else the first line written.
func (c *stderrCapture) lastWords() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first string
	for line := range strings.Lines(c.buf.String()) {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "fatal error:"), strings.HasPrefix(line, "panic:"), strings.HasPrefix(line, "render worker:"):
			return truncate(line, 300)
		case first == "":
			first = line
		}
	}
	return truncate(first, 300)
}

// truncate shortens s to at most n bytes, and a whole rune, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

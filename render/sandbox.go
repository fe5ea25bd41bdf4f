package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"runtime"
	"sync"
	"time"
)

// SandboxOptions configure a Sandbox. The field names follow gyre's flags
// --render-timeout, --render-memory and --render-workers.
type SandboxOptions struct {
	// Timeout bounds one render: a worker still rendering when it passes is
	// killed and the render fails. Default 30s.
	Timeout time.Duration
	// MemoryBytes is the memory budget of each worker: all the memory its
	// Go runtime holds (heap, stacks and the runtime's own). A render that
	// needs more fails, and so does one that reads more file content than
	// this. Default 1 GiB.
	MemoryBytes int64
	// Workers is the number of worker processes, and so of renders that
	// run at once. Default min(GOMAXPROCS, 4).
	Workers int
	// Command starts a worker: a program and its arguments. Empty means
	// this program, whose main function must call ServeIfWorker first.
	// Tests set it to run something else.
	Command []string
	// Env is added to a worker's environment, which otherwise holds only
	// the worker's setting and an empty PATH.
	Env []string
	// Logger receives what the sandbox has to say that no render returns.
	// Default slog.Default().
	Logger *slog.Logger
}

// DefaultSandboxOptions returns the defaults described on SandboxOptions.
func DefaultSandboxOptions() SandboxOptions {
	return SandboxOptions{Timeout: 30 * time.Second, MemoryBytes: 1 << 30, Workers: min(runtime.GOMAXPROCS(0), 4)}
}

// errSandboxClosed is the cause of a render that met a closed Sandbox.
var errSandboxClosed = errors.New("render sandbox is closed")

// Sandbox renders in child processes, render workers, where a hostile
// source can do no harm: a worker that passes its deadline or memory budget
// or crashes is killed, the render fails with an *Error that says so, and
// the next render gets a fresh worker. Workers are started when first
// needed and kept for the renders after; see the package documentation for
// their walls. A Sandbox is safe for concurrent use; Close stops it.
type Sandbox struct {
	opts  SandboxOptions
	log   *slog.Logger
	slots chan struct{} // holds a token per render in flight

	mu       sync.Mutex
	idle     []*workerProcess
	live     map[*workerProcess]struct{} // started and not dropped
	isolated bool                        // start workers in namespaces of their own
	warned   map[string]bool             // missing walls logged
	closed   bool
}

// NewSandbox returns a Sandbox that starts no worker before its first
// render. A process that is itself a render worker cannot have one: that
// means its program's main function does not call ServeIfWorker, and
// workers would start workers without end.
func NewSandbox(opts SandboxOptions) (*Sandbox, error) {
	if _, ok := os.LookupEnv(workerEnv); ok {
		return nil, fmt.Errorf("render sandbox: this process is a render worker (%s is set): its main function must call render.ServeIfWorker first", workerEnv)
	}
	d := DefaultSandboxOptions()
	if opts.Timeout <= 0 {
		opts.Timeout = d.Timeout
	}
	if opts.MemoryBytes <= 0 {
		opts.MemoryBytes = d.MemoryBytes
	}
	if opts.Workers <= 0 {
		opts.Workers = d.Workers
	}
	if len(opts.Command) == 0 {
		cmd, err := defaultCommand()
		if err != nil {
			return nil, fmt.Errorf("render sandbox: find this program: %w", err)
		}
		opts.Command = cmd
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Sandbox{
		opts:     opts,
		log:      log,
		slots:    make(chan struct{}, opts.Workers),
		live:     map[*workerProcess]struct{}{},
		warned:   map[string]bool{},
		isolated: namespacesAvailable,
	}, nil
}

// Render renders dir in fsys as Render does, in a worker process that
// reads fsys through a pipe. Besides Render's own errors, it fails with an
// *Error when the render passes the deadline ("exceeded its 30s
// deadline") or the memory budget ("exceeded its memory budget of 1 GiB"),
// when the worker crashes ("render worker crashed: …"), and when ctx ends
// first (the cause is then ctx.Err()). The worker is killed in each case.
func (s *Sandbox) Render(ctx context.Context, fsys fs.FS, dir string, opts Options) (*Result, error) {
	dir = cleanDir(dir)
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, s.failure(fsys, dir, opts, ctx.Err())
	}
	defer func() { <-s.slots }()
	p, err := s.take()
	if err != nil {
		return nil, s.failure(fsys, dir, opts, err)
	}
	res, err := p.render(ctx, fsys, dir, opts, s.opts.Timeout, s.opts.MemoryBytes)
	for _, wall := range p.missing {
		s.warnOnce("render workers run without a wall: " + wall)
	}
	p.missing = nil
	if p.broken {
		s.drop(p)
		if s.isClosed() {
			err = errSandboxClosed
		}
		return nil, s.failure(fsys, dir, opts, err)
	}
	s.release(p)
	return res, err
}

// failure wraps what went wrong with a worker in an *Error naming the
// source, with the type the source would have been rendered as.
func (s *Sandbox) failure(fsys fs.FS, dir string, opts Options, err error) error {
	t := opts.Type
	if t == Auto && fs.ValidPath(dir) {
		t = Detect(fsys, dir)
	}
	return &Error{Type: t, Path: dir, Err: err}
}

// take returns an idle worker, or starts one. A worker found dead while it
// was idle (killed from outside) is dropped, and a fresh one takes its
// place. Workers start in namespaces of their own while that works; the
// first time it does not, the sandbox says so and stops trying.
func (s *Sandbox) take() (*workerProcess, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errSandboxClosed
	}
	for len(s.idle) > 0 {
		p := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		select {
		case <-p.exited:
			delete(s.live, p)
		default:
			s.mu.Unlock()
			return p, nil
		}
	}
	isolated := s.isolated
	s.mu.Unlock()

	p, err := startWorker(s.opts, isolated)
	if err != nil && isolated {
		p, err = s.startWithoutNamespaces(err)
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		p.kill()
		return nil, errSandboxClosed
	}
	s.live[p] = struct{}{}
	return p, nil
}

// startWithoutNamespaces starts a worker in the parent's namespaces after
// starting one in namespaces of its own failed with nsErr. If that works,
// namespaces are not available here: the sandbox says so, once, and does
// not try them again.
func (s *Sandbox) startWithoutNamespaces(nsErr error) (*workerProcess, error) {
	p, err := startWorker(s.opts, false)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.isolated = false
	s.mu.Unlock()
	s.warnOnce("render workers run without a wall: network namespace: this system does not let gyre create user and network namespaces: " + nsErr.Error())
	return p, nil
}

// warnOnce logs msg the first time it comes up in this sandbox.
func (s *Sandbox) warnOnce(msg string) {
	s.mu.Lock()
	seen := s.warned[msg]
	s.warned[msg] = true
	s.mu.Unlock()
	if !seen {
		s.log.Warn(msg)
	}
}

// release makes p idle again, or stops it if the sandbox closed meanwhile.
func (s *Sandbox) release(p *workerProcess) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		p.calls.Close()
		return
	}
	s.idle = append(s.idle, p)
}

// drop forgets a broken worker; it has been waited for.
func (s *Sandbox) drop(p *workerProcess) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, p)
}

func (s *Sandbox) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// closeGrace is how long Close waits for workers to exit on their own.
const closeGrace = 5 * time.Second

// Close stops every worker and returns once they have exited; renders in
// flight fail, and so does every Render after. A worker exits as soon as
// its call pipe closes, even in the middle of a render; one that has not
// after closeGrace is killed.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	procs := make([]*workerProcess, 0, len(s.live))
	for p := range s.live {
		procs = append(procs, p)
	}
	s.idle = nil
	s.mu.Unlock()

	for _, p := range procs {
		p.calls.Close()
	}
	grace := time.NewTimer(closeGrace)
	defer grace.Stop()
	late := false
	for _, p := range procs {
		if !late {
			select {
			case <-p.exited:
				continue
			case <-grace.C:
				late = true
			}
		}
		p.cmd.Process.Kill()
		<-p.exited
	}
	return nil
}

// formatBytes prints a byte count in binary units: "1 GiB", "1.5 MiB".
func formatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f %s", v, units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

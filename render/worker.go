package render

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"
)

// workerEnv in a process's environment makes ServeIfWorker serve renders.
// Its value is the worker's memory budget in bytes.
const workerEnv = "GYRE_RENDER_WORKER"

// How a worker process ends, for the parent to tell why. Crashes of the Go
// runtime exit with status 2.
const (
	// exitMemory: the memory watchdog saw the budget passed.
	exitMemory = 3
	// exitSetup: the worker could not put its walls up.
	exitSetup = 4
	// exitProtocol: the pipe to the parent carried something unreadable.
	exitProtocol = 5
)

// memoryCheckInterval is how often a worker's watchdog reads its memory use
// while a render runs.
const memoryCheckInterval = 10 * time.Millisecond

// ServeIfWorker turns the process into a render worker when a Sandbox
// started it as one: it then serves renders until the Sandbox closes it or
// the parent process dies, and exits without returning. In any other
// process it returns at once. The main function of every program a Sandbox
// runs calls it first thing, before it parses flags or starts anything:
// gyre's main, and the TestMain of each package whose tests render through
// a Sandbox.
func ServeIfWorker() {
	budget, ok := os.LookupEnv(workerEnv)
	if !ok {
		return
	}
	os.Exit(serveWorker(budget))
}

// serveWorker is a worker's whole life: walls up, then renders from the
// parent, one at a time, on a file tree the parent serves. It returns the
// exit status.
func serveWorker(budget string) int {
	limit, err := strconv.ParseInt(budget, 10, 64)
	if err != nil || limit <= 0 {
		fmt.Fprintf(os.Stderr, "render worker: %s=%q is not a memory budget in bytes\n", workerEnv, budget)
		return exitSetup
	}
	missing, err := limitSelf(limit)
	if err != nil {
		fmt.Fprintf(os.Stderr, "render worker: %v\n", err)
		return exitSetup
	}
	debug.SetMemoryLimit(limit)
	// A template that recurses without end (tpl on itself, include cycles
	// over many names) dies of a stack overflow: let it at 64 MiB, in
	// milliseconds, rather than at the default 1 GB after a minute.
	debug.SetMaxStack(64 << 20)

	c := &workerConn{enc: gob.NewEncoder(os.NewFile(4, "render-replies")), pending: map[uint64]chan *fsReply{}}
	if err := c.send(&fromWorker{Started: &workerStarted{Missing: missing}}); err != nil {
		fmt.Fprintf(os.Stderr, "render worker: send greeting: %v\n", err)
		return exitProtocol
	}
	calls := make(chan *renderCall)
	go c.read(gob.NewDecoder(os.NewFile(3, "render-calls")), calls)
	fsys := remoteFS{c}
	for call := range calls {
		done := watchMemory(limit)
		res, err := Render(fsys, call.Dir, call.Options)
		close(done)
		if err := c.send(&fromWorker{Done: encodeResult(res, err)}); err != nil {
			fmt.Fprintf(os.Stderr, "render worker: send result: %v\n", err)
			return exitProtocol
		}
		// A big render's garbage would stay mapped, making the idle worker
		// look big, until the collector's next forced run minutes later.
		if memoryInUse() > limit/4 {
			debug.FreeOSMemory()
		}
	}
	return 0
}

// watchMemory ends the process as soon as the memory the Go runtime holds
// passes the budget, until done is closed. debug.SetMemoryLimit makes the
// collector try to stay below it; a render whose live data does not fit
// ends here, with a status the parent reports as a memory overrun. It
// watches only while a render runs: an idle worker's memory does not grow,
// and a check every memoryCheckInterval would keep two idle workers at a
// few percent of a core.
func watchMemory(budget int64) (done chan struct{}) {
	done = make(chan struct{})
	go func() {
		tick := time.NewTicker(memoryCheckInterval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if used := memoryInUse(); used > budget {
				fmt.Fprintf(os.Stderr, "render worker: %s of memory in use passes the budget of %s\n", formatBytes(used), formatBytes(budget))
				os.Exit(exitMemory)
			}
		}
	}()
	return done
}

// memoryInUse returns the memory the Go runtime holds and has not handed
// back to the system: what debug.SetMemoryLimit limits.
func memoryInUse() int64 {
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(samples)
	return int64(samples[0].Value.Uint64() - samples[1].Value.Uint64())
}

// workerConn is a worker's end of the pipes: it sends results and file
// system calls, and routes the parent's replies to the calls waiting.
type workerConn struct {
	sendMu sync.Mutex
	enc    *gob.Encoder

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan *fsReply
}

// send writes one frame to the parent.
func (c *workerConn) send(m *fromWorker) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return c.enc.Encode(m)
}

// read takes the parent's frames, in a goroutine of its own so that it
// reads even while a render runs: render calls go to calls, file system
// replies to the call waiting for them. When the parent closes the pipe,
// or dies and the kernel closes it, the process exits at once, whatever it
// was doing.
func (c *workerConn) read(dec *gob.Decoder, calls chan<- *renderCall) {
	for {
		var m toWorker
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				os.Exit(0)
			}
			fmt.Fprintf(os.Stderr, "render worker: read from parent: %v\n", err)
			os.Exit(exitProtocol)
		}
		switch {
		case m.Render != nil:
			calls <- m.Render
		case m.FS != nil:
			c.mu.Lock()
			ch := c.pending[m.FS.ID]
			delete(c.pending, m.FS.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m.FS
			}
		}
	}
}

// call asks the parent for one file system operation and waits for the
// answer.
func (c *workerConn) call(op fsOp, name string) (*fsReply, error) {
	ch := make(chan *fsReply, 1)
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.send(&fromWorker{FS: &fsCall{ID: id, Op: op, Name: name}}); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return nil, err
	}
	return <-ch, nil
}

// remoteFS is the parent's fs.FS as a worker sees it: every operation is a
// call over the pipe, answered from the file tree the parent was given. It
// implements the fs interfaces render's code uses, so that each operation
// costs one round trip.
type remoteFS struct{ c *workerConn }

var (
	_ fs.StatFS     = remoteFS{}
	_ fs.ReadDirFS  = remoteFS{}
	_ fs.ReadFileFS = remoteFS{}
)

// do makes one call; a failure the parent's fs.FS returned comes back as
// it was made, with its sentinels.
func (f remoteFS) do(op fsOp, opName, name string) (*fsReply, error) {
	r, err := f.c.call(op, name)
	if err != nil {
		return nil, &fs.PathError{Op: opName, Path: name, Err: err}
	}
	if r.Err != nil {
		return nil, r.Err.decode()
	}
	return r, nil
}

// Open opens name; a file's content is fetched by its first Read, a
// directory's entries by its first ReadDir.
func (f remoteFS) Open(name string) (fs.File, error) {
	r, err := f.do(fsOpen, "open", name)
	if err != nil {
		return nil, err
	}
	return &remoteFile{fsys: f, name: name, info: r.Info}, nil
}

// Stat returns the parent's fs.Stat of name.
func (f remoteFS) Stat(name string) (fs.FileInfo, error) {
	r, err := f.do(fsStat, "stat", name)
	if err != nil {
		return nil, err
	}
	return remoteInfo{r.Info}, nil
}

// ReadDir returns the parent's fs.ReadDir of name.
func (f remoteFS) ReadDir(name string) ([]fs.DirEntry, error) {
	r, err := f.do(fsReadDir, "readdir", name)
	if err != nil {
		return nil, err
	}
	entries := make([]fs.DirEntry, len(r.Entries))
	for i, e := range r.Entries {
		entries[i] = remoteEntry{fsys: f, dir: name, e: e}
	}
	return entries, nil
}

// ReadFile returns the parent's fs.ReadFile of name.
func (f remoteFS) ReadFile(name string) ([]byte, error) {
	r, err := f.do(fsReadFile, "read", name)
	if err != nil {
		return nil, err
	}
	return r.Data, nil
}

// remoteFile is an open file or directory of a remoteFS.
type remoteFile struct {
	fsys remoteFS
	name string
	info wireInfo

	fetched bool   // data holds the file's content
	data    []byte // the content not read yet

	listed  bool          // entries holds the directory's entries
	entries []fs.DirEntry // the entries not read yet
}

var _ fs.ReadDirFile = (*remoteFile)(nil)

// Stat returns the file's information as it was when opened.
func (f *remoteFile) Stat() (fs.FileInfo, error) { return remoteInfo{f.info}, nil }

// Read reads the file's content, fetched whole on the first call.
func (f *remoteFile) Read(p []byte) (int, error) {
	if f.info.Mode.IsDir() {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: errors.New("is a directory")}
	}
	if !f.fetched {
		data, err := f.fsys.ReadFile(f.name)
		if err != nil {
			return 0, err
		}
		f.data, f.fetched = data, true
	}
	if len(f.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// ReadDir reads the directory's entries, as fs.ReadDirFile says: all the
// rest for n <= 0, else at most n and io.EOF at the end.
func (f *remoteFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !f.info.Mode.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: f.name, Err: errors.New("not a directory")}
	}
	if !f.listed {
		entries, err := f.fsys.ReadDir(f.name)
		if err != nil {
			return nil, err
		}
		f.entries, f.listed = entries, true
	}
	if n <= 0 {
		rest := f.entries
		f.entries = nil
		return rest, nil
	}
	if len(f.entries) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(f.entries))
	out := f.entries[:k]
	f.entries = f.entries[k:]
	return out, nil
}

// Close does nothing: the parent keeps no state for an open file.
func (f *remoteFile) Close() error { return nil }

// remoteInfo is a wireInfo as an fs.FileInfo.
type remoteInfo struct{ w wireInfo }

func (i remoteInfo) Name() string       { return i.w.Name }
func (i remoteInfo) Size() int64        { return i.w.Size }
func (i remoteInfo) Mode() fs.FileMode  { return i.w.Mode }
func (i remoteInfo) ModTime() time.Time { return i.w.ModTime }
func (i remoteInfo) IsDir() bool        { return i.w.Mode.IsDir() }
func (i remoteInfo) Sys() any           { return nil }

// remoteEntry is a wireEntry as an fs.DirEntry.
type remoteEntry struct {
	fsys remoteFS
	dir  string
	e    wireEntry
}

func (e remoteEntry) Name() string      { return e.e.Name }
func (e remoteEntry) IsDir() bool       { return e.e.Type.IsDir() }
func (e remoteEntry) Type() fs.FileMode { return e.e.Type }

// Info returns the information that came with the entry, or asks for it.
func (e remoteEntry) Info() (fs.FileInfo, error) {
	if e.e.Info != nil {
		return remoteInfo{*e.e.Info}, nil
	}
	return e.fsys.Stat(path.Join(e.dir, e.e.Name))
}

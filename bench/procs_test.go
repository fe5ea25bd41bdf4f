package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/internal/testsupport"
)

// The benchmark runs two builds of cmd/gyre, each built once per run with
// the go command's build cache: the full one for `gyre up`, and the
// agent as the Dockerfile builds it for the container image, for `gyre
// serve`: without the embedded control plane (build tag nolocalcluster),
// static and stripped.
var (
	fullBinary  = sync.OnceValues(func() (string, error) { return buildGyre(nil) })
	agentBinary = sync.OnceValues(func() (string, error) {
		return buildGyre([]string{"CGO_ENABLED=0"}, "-tags", "nolocalcluster", "-trimpath", "-ldflags=-s -w")
	})
)

func buildGyre(env []string, flags ...string) (string, error) {
	dir, err := os.MkdirTemp("", "gyre-bench-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "gyre")
	args := append(append([]string{"build", "-o", bin}, flags...), "github.com/gyre-cd/gyre/cmd/gyre")
	build := exec.Command("go", args...)
	build.Env = append(os.Environ(), env...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return bin, nil
}

// process is a gyre process the benchmark started; it is killed when the
// benchmark ends.
type process struct {
	cmd    *exec.Cmd
	out    *testsupport.LockedBuffer // stdout and stderr together
	exited chan struct{}
}

// startGyre runs a gyre binary (fullBinary or agentBinary) with args, and
// env added to the benchmark's environment.
func startGyre(b testing.TB, binary func() (string, error), env []string, args ...string) *process {
	b.Helper()
	bin, err := binary()
	if err != nil {
		b.Fatal(err)
	}
	p := &process{out: &testsupport.LockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	b.Cleanup(func() {
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// waitFor waits until the process's output matches re and returns the
// first submatch.
func (p *process) waitFor(b testing.TB, re *regexp.Regexp, timeout time.Duration) string {
	b.Helper()
	var found string
	testsupport.Eventually(b, timeout, func() (bool, string) {
		select {
		case <-p.exited:
			b.Fatalf("%s exited:\n%s", strings.Join(p.cmd.Args, " "), tail(p.out.String(), 6000))
		default:
		}
		m := re.FindStringSubmatch(p.out.String())
		if m == nil {
			return false, fmt.Sprintf("%s has not printed %s", p.cmd.Args[1], re)
		}
		found = m[1]
		return true, ""
	})
	return found
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// freeAddr returns a local address nobody listens on now.
func freeAddr(b testing.TB) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// procStat is what /proc says about a process and the render workers it
// started.
type procStat struct {
	rss      int64         // resident now, bytes
	anon     int64         // of which anonymous (not the program's file), bytes
	hwm      int64         // the most ever resident, bytes
	cpu      time.Duration // user + system time so far
	children int64         // resident bytes of its live child processes
	childCPU time.Duration // their user + system time so far
}

// clockTick is the unit of /proc/<pid>/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// readProc reads pid's memory and CPU figures and those of its children.
func readProc(pid int) (procStat, error) {
	var st procStat
	var err error
	if st.rss, st.anon, st.hwm, err = memory(pid); err != nil {
		return st, err
	}
	if st.cpu, err = cpuTime(pid); err != nil {
		return st, err
	}
	for _, c := range children(pid) {
		rss, _, _, err := memory(c)
		if err != nil {
			continue // it exited meanwhile
		}
		cpu, _ := cpuTime(c)
		st.children += rss
		st.childCPU += cpu
	}
	return st, nil
}

// memory reads VmRSS, RssAnon and VmHWM of pid. Resident memory counts
// the pages of the program's file the process touched too; with a kernel
// that maps files in huge pages, that is most of a large binary.
func memory(pid int) (rss, anon, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), ":")
		var into *int64
		switch name {
		case "VmRSS":
			into = &rss
		case "RssAnon":
			into = &anon
		case "VmHWM":
			into = &hwm
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("/proc/%d/status %s: %w", pid, name, err)
		}
		*into = kb << 10
	}
	return rss, anon, hwm, sc.Err()
}

// cpuTime reads the user and system time pid has used.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields after it may not.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	// fields[0] is the state (field 3); utime and stime are fields 14, 15.
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// children lists the processes pid started that are still running.
func children(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// sampler polls a process's memory until stopped, keeping the most
// anonymous memory it held and the most its child processes held at once
// (the kernel keeps the process's own peak of all resident memory).
type sampler struct {
	pid    int
	cancel context.CancelFunc
	done   chan struct{}

	mu           sync.Mutex
	maxAnon      int64
	maxChildren  int64
	samplesTaken int
}

func newSampler(pid int) *sampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sampler{pid: pid, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			if st, err := readProc(pid); err == nil {
				s.mu.Lock()
				s.maxAnon = max(s.maxAnon, st.anon)
				s.maxChildren = max(s.maxChildren, st.children)
				s.samplesTaken++
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the most anonymous memory the
// process held and the most its children held at once.
func (s *sampler) stop() (anon, children int64) {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxAnon, s.maxChildren
}

package render

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestIdleWorkerSleeps: a render worker that waits for its next render
// does not wake up. (It checked its memory every memoryCheckInterval
// while idle, a hundred wake-ups a second that kept two idle workers at a
// few percent of a core.)
func TestIdleWorkerSleeps(t *testing.T) {
	s, err := NewSandbox(SandboxOptions{Workers: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fsys := fstest.MapFS{"app/cm.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")}}
	if _, err := s.Render(context.Background(), fsys, "app", Options{}); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	if len(s.idle) != 1 {
		s.mu.Unlock()
		t.Fatalf("%d idle workers after a render, want 1", len(s.idle))
	}
	pid := s.idle[0].cmd.Process.Pid
	s.mu.Unlock()

	// Watch it for a second, failing as soon as it has woken more than the
	// Go runtime's own background work (sysmon backing off, a forced
	// collection) accounts for.
	const window, most = time.Second, 30
	before := contextSwitches(t, pid)
	deadline := time.NewTimer(window)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case <-deadline.C:
			t.Logf("%d context switches in %s", contextSwitches(t, pid)-before, window)
			return
		case <-tick.C:
		}
		if woke := contextSwitches(t, pid) - before; woke > most {
			t.Fatalf("the idle worker switched context %d times in %s; want it asleep", woke, time.Since(start).Round(time.Millisecond))
		}
	}
}

// contextSwitches sums the voluntary context switches of pid's threads.
func contextSwitches(t *testing.T, pid int) int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		t.Skipf("no /proc task status for the worker (%v): not Linux", err)
	}
	n := 0
	for _, task := range tasks {
		data, err := os.ReadFile(task)
		if err != nil {
			continue // the thread ended
		}
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				c, _ := strconv.Atoi(strings.TrimSpace(v))
				n += c
			}
		}
	}
	return n
}

package localcluster

import (
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/klog/v2"
)

// TestComponentExitEndsOnlyItsGoroutine: a component that gives up with
// klog.FlushAndExit (the namespace controller does when its API server
// stops under it) ends its own goroutine, not the process, and the log
// says so.
func TestComponentExitEndsOnlyItsGoroutine(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "apiserver.log")
	if err != nil {
		t.Fatal(err)
	}
	redirectComponentLogs(f) // what a cluster's start does
	defer stopComponentLogs(f)
	done := make(chan struct{})
	returned := false
	go func() {
		defer close(done)
		klog.FlushAndExit(time.Second, 1)
		returned = true
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the goroutine that called FlushAndExit still runs")
	}
	if returned {
		t.Error("FlushAndExit returned to its caller")
	}
	b, err := os.ReadFile(logSink.current())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "asked to exit the process (status 1); only its goroutine ends") {
		t.Errorf("%s does not record the exit", logSink.current())
	}
}

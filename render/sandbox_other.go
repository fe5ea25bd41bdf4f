//go:build !linux

package render

import (
	"os"
	"syscall"
)

// selfExecutable is never a worker command outside Linux: there the
// program's path comes from os.Executable.
const selfExecutable = ""

// namespacesAvailable says whether workers may be started in namespaces of
// their own: not outside Linux.
const namespacesAvailable = false

// defaultCommand is the command of a worker when SandboxOptions.Command is
// empty: this program.
func defaultCommand() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return []string{exe}, nil
}

// sysProcAttr says how a worker process starts; outside Linux there are no
// namespaces to isolate it in.
func sysProcAttr(bool) *syscall.SysProcAttr { return nil }

// limitSelf raises no walls outside Linux: the memory watchdog and the
// deadline are all there is.
func limitSelf(int64) (missing []string, err error) {
	return []string{"address space limit, Landlock: not on this system"}, nil
}

//go:build linux

package render

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// selfExecutable starts the running program again, even after its file was
// replaced on disk (by an upgrade, or a rebuilt test binary).
const selfExecutable = "/proc/self/exe"

// namespacesAvailable says whether workers may be started in namespaces of
// their own; whether they can is found out by trying.
const namespacesAvailable = true

// defaultCommand is the command of a worker when SandboxOptions.Command is
// empty: this program.
func defaultCommand() ([]string, error) { return []string{selfExecutable}, nil }

// sysProcAttr says how a worker process starts: killed when the parent
// dies, and, when isolated, in a user namespace of its own (mapping only
// the parent's user and group) with a network namespace of its own, which
// has no interfaces but a loopback that is down.
func sysProcAttr(isolated bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if isolated {
		a.Cloneflags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getuid(), HostID: os.Getuid(), Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getgid(), HostID: os.Getgid(), Size: 1}}
	}
	return a
}

// addressSpaceSlack is address space a worker may map beyond its starting
// size and its budget: heap arenas are mapped 64 MiB at a time, and the
// collector needs room to work near the limit.
const addressSpaceSlack = 256 << 20

// limitSelf puts up the walls a worker raises around itself before it
// serves. It fails if it cannot limit memory; the walls it could not raise
// beyond that are returned, for the parent to log:
//
//   - a hard limit on the address space: its size now (the binary and the
//     Go runtime's reservations) plus the budget and some slack, so that a
//     single huge allocation fails at once, not at the watchdog's next look;
//   - no core dumps and no file writes (RLIMIT_CORE, RLIMIT_FSIZE);
//   - first in line for the kernel's OOM killer, and a lower CPU priority,
//     so that a worker, not the reconcile loop, pays for a render's greed;
//   - Landlock: no file system access at all (the worker reads its files
//     through the pipe), and, as far as the kernel's Landlock goes, no TCP
//     connect or bind, no abstract unix sockets and no signals to other
//     processes. It needs a program built without cgo (Landlock binds
//     threads one by one, and only then can Go bind them all), as gyre's
//     image is.
func limitSelf(budget int64) (missing []string, err error) {
	size, err := addressSpaceSize()
	if err != nil {
		return nil, err
	}
	as := uint64(size + budget + budget/4 + addressSpaceSlack)
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: as, Max: as}); err != nil {
		return nil, fmt.Errorf("limit address space to %s: %w", formatBytes(int64(as)), err)
	}
	for _, r := range []int{syscall.RLIMIT_CORE, syscall.RLIMIT_FSIZE} {
		if err := syscall.Setrlimit(r, &syscall.Rlimit{}); err != nil {
			return nil, fmt.Errorf("set resource limit %d to 0: %w", r, err)
		}
	}
	if err := os.WriteFile("/proc/self/oom_score_adj", []byte("1000"), 0); err != nil {
		missing = append(missing, fmt.Sprintf("OOM killer preference: %v", err))
	}
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, 0, 10); err != nil {
		missing = append(missing, fmt.Sprintf("lower CPU priority: %v", err))
	}
	return append(missing, landlock()...), nil
}

// Landlock's system calls and constants, from linux/landlock.h.
const (
	sysLandlockCreateRuleset     = 444
	sysLandlockRestrictSelf      = 446
	landlockCreateRulesetVersion = 1 << 0
	prSetNoNewPrivs              = 38
)

// landlockRulesetAttr is struct landlock_ruleset_attr.
type landlockRulesetAttr struct {
	handledAccessFS  uint64
	handledAccessNet uint64
	scoped           uint64
}

// landlock denies the process, all its threads, every access Landlock
// handles on this kernel, with no exception. It returns the walls it could
// not raise.
func landlock() (missing []string) {
	abi, _, errno := syscall.RawSyscall(sysLandlockCreateRuleset, 0, 0, landlockCreateRulesetVersion)
	if errno != 0 {
		return []string{fmt.Sprintf("Landlock (no file system or TCP access): not available: %v", errno)}
	}
	attr := landlockRulesetAttr{handledAccessFS: 1<<13 - 1} // ABI 1: execute … make symlink
	size := unsafe.Sizeof(attr.handledAccessFS)
	if abi >= 2 {
		attr.handledAccessFS |= 1 << 13 // refer
	}
	if abi >= 3 {
		attr.handledAccessFS |= 1 << 14 // truncate
	}
	if abi >= 4 {
		attr.handledAccessNet = 1<<0 | 1<<1 // TCP bind, TCP connect
		size = unsafe.Sizeof(attr.handledAccessFS) + unsafe.Sizeof(attr.handledAccessNet)
	} else {
		missing = append(missing, fmt.Sprintf("Landlock TCP rules: the kernel has Landlock ABI %d, they came with 4", abi))
	}
	if abi >= 5 {
		attr.handledAccessFS |= 1 << 15 // ioctl on devices
	}
	if abi >= 6 {
		attr.scoped = 1<<0 | 1<<1 // abstract unix sockets, signals
		size = unsafe.Sizeof(attr)
	}
	fd, _, errno := syscall.RawSyscall(sysLandlockCreateRuleset, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return []string{fmt.Sprintf("Landlock (no file system or TCP access): create ruleset: %v", errno)}
	}
	defer syscall.Close(int(fd))
	if _, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0); errno != 0 {
		return []string{fmt.Sprintf("Landlock (no file system or TCP access): cannot bind every thread (a program built with cgo?): %v", errno)}
	}
	if _, _, errno := syscall.AllThreadsSyscall(sysLandlockRestrictSelf, fd, 0, 0); errno != 0 {
		return []string{fmt.Sprintf("Landlock (no file system or TCP access): restrict: %v", errno)}
	}
	return missing
}

// addressSpaceSize returns the size of the process's address space, from
// /proc/self/statm (in pages).
func addressSpaceSize() (int64, error) {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("read address space size: %w", err)
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0, fmt.Errorf("read address space size: /proc/self/statm is empty")
	}
	pages, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read address space size: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}

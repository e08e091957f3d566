package tracer

import (
	"os"
	"strconv"
	"strings"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Stepped processes (launchers, and processes waiting for their filter)
// stop at every syscall's entry and exit. At entry, a launcher's call is
// decided as the filter would have stopped it, until the launcher's own
// gated filter goes in (ptrace_launcher.go); a process waiting for its
// filter gets it here, at its first syscall.

// onSyscallStop serves a syscall stop of a thread with no filter.
// Precondition: on the tracer's thread; th is at a syscall-entry or -exit stop.
func (e *ptraceEngine) onSyscallStop(th *thread) {
	entry, nativeABI, err := syscallStop(th.tid)
	if err != nil {
		e.log.Warn("read syscall stop", zap.Int("tid", th.tid), zap.Error(err))
		e.resume(th, 0)
		return
	}
	if !entry {
		e.stats.ExitStops++
		e.onSyscallExit(th)
		return
	}
	e.stats.EntryStops++
	if th.passEntry {
		th.passEntry = false
		e.resume(th, 0)
		return
	}
	var r regs
	if err := getRegs(th.tid, &r); err != nil {
		e.resume(th, 0)
		return
	}
	if th.proc.nsSwitch != nsStay {
		e.startNSSwitch(th, r)
		return
	}
	if th.proc.install {
		e.startInstall(th, &r)
		return
	}
	if th.proc.debugChild {
		e.onDebugChildCall(th, &r)
		return
	}
	if th.proc.mode != Launcher || th.proc.launcher.gated {
		e.resume(th, 0) // a gated launcher's filter decides what stops
		return
	}
	if nativeABI && e.gateLauncher(th, &r) {
		return
	}
	if !nativeABI {
		// i386 int 0x80 or x32 numbers mean other syscalls: refused, as
		// the filter refuses them.
		e.apply(th, &r, nil, Fail(unix.ENOSYS))
		return
	}
	switch e.filters.action(r.nr(), r.args()) {
	case unix.SECCOMP_RET_TRACE:
		th.seq++
		e.decide(th, &r)
	case unix.SECCOMP_RET_ALLOW:
		e.resume(th, 0)
	default:
		e.apply(th, &r, nil, Fail(unix.ENOSYS))
	}
}

// hasFilter reads whether a process runs under a seccomp filter.
func hasFilter(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	return err == nil && strings.Contains(string(b), "\nSeccomp:\t2\n")
}

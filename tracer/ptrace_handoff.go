package tracer

import (
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// A process may have one tracer. A debugger (dlv, gdb) starts its debuggee
// by forking a child that calls ptrace(PTRACE_TRACEME) and then execs the
// program; under this tracer that call would fail. So a Debugger's forks
// are stepped until they exec or make that call. At the call, the child
// gets the filter with RET_USER_NOTIF instead of RET_TRACE and a listener
// (SECCOMP_FILTER_FLAG_NEW_LISTENER), which the tracer takes out of it
// (pidfd_getfd) and closes there; the child also gets PR_SET_PDEATHSIG, so
// it dies with its debugger as a traced process dies with the tracer. Then
// the call is rearmed and the child detached: it runs PTRACE_TRACEME again,
// now for its debugger, and its calls and its children's are decided by the
// same Handler through the listener (notif_engine.go).

// onDebugChildCall serves a syscall-entry stop of a debugger's fork.
// Precondition: on the tracer's thread; th is at a syscall-entry stop.
func (e *ptraceEngine) onDebugChildCall(th *thread, r *regs) {
	if r.nr() != unix.SYS_PTRACE || r.arg(0) != unix.PTRACE_TRACEME {
		e.resume(th, 0)
		return
	}
	th.proc.debugChild = false
	if err := NotifySupport(); err != nil {
		// The call fails (this tracer holds the child) and the debugger
		// says so; the plugin checked this at start for the common case.
		e.log.Error("cannot hand the debuggee to its debugger", zap.Int("pid", th.proc.pid), zap.Error(err))
		e.resume(th, 0)
		return
	}
	flags := uint64(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW)
	e.injectFilter(th, *r, &filterLoad{img: e.filters.notify, flags: flags, done: func(saved regs, fd int64) {
		l, err := takeListener(th.proc.pid, int(fd))
		if err != nil {
			e.injectFailed(th, "take the listener", err)
			return
		}
		e.injectNext(th, saved, "close", unix.SYS_CLOSE, []uint64{uint64(fd)}, func(int64) {
			e.injectNext(th, saved, "prctl", unix.SYS_PRCTL, []uint64{unix.PR_SET_PDEATHSIG, uint64(unix.SIGKILL), 0, 0, 0}, func(int64) {
				r := saved
				r.rearm() // PTRACE_TRACEME runs again, for the debugger
				if err := setRegs(th.tid, &r); err != nil {
					l.close()
					e.injectFailed(th, "restore registers", err)
					return
				}
				th.handOff = l
			})
		})
		if th.atExit == nil { // the close could not be set up: killed
			l.close()
		}
	}})
}

// detach lets go of a thread handed to a listener and starts serving it.
// Precondition: on the tracer's thread; th is at a syscall-exit stop.
func (e *ptraceEngine) detach(th *thread) {
	l := th.handOff
	th.handOff = nil
	e.notif.serveListener(l)
	if err := unix.PtraceDetach(th.tid); err != nil {
		e.log.Warn("detach the debuggee", zap.Int("pid", th.tid), zap.Error(err))
	}
	th.proc.mm.release(th.tid)
	delete(e.threads, th.tid)
	e.forgetNotif(th.tid)
	e.stats.Handoffs++
	e.log.Debug("debuggee handed to the notification engine", zap.Int("pid", th.tid))
	if e.cfg.OnExec != nil {
		_, comm := procNames(th.tid)
		e.cfg.OnExec(Exec{PID: th.tid, Name: comm, Mode: Debuggee})
	}
}

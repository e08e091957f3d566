package tracer

import "golang.org/x/sys/unix"

// The hybrid engine (EngineHybrid): a process the Policy intercepts gets
// the hybrid filter with a listener (SECCOMP_FILTER_FLAG_NEW_LISTENER),
// which the tracer takes out of it (pidfd_getfd, as for a debuggee) and
// closes there. The process stays traced: ptrace still follows its forks,
// clones and execs (so each exec still gets its Mode), and stops it at the
// calls kept on ptrace (sysInfo.keptOnPtrace); its children inherit the
// filter and the listener. Its other intercepted calls are notified and
// served by the notification engine, which this engine tells, before a
// thread can make a call, which process the thread belongs to and how it
// runs (notif_procs.go). A kernel that refuses the listener (one the
// process's filters already have; no user notification) gets the ptrace
// engine's filter instead, for that process.

// hybridLoad is the hybrid filter for th's process, falling back to
// traced.
// Precondition: on the tracer's thread.
func (e *ptraceEngine) hybridLoad(th *thread, traced *filterLoad) *filterLoad {
	flags := uint64(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW)
	killable := waitKillableOK()
	if killable {
		flags |= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	}
	return &filterLoad{img: e.filters.hybrid, flags: flags, fallback: traced, done: func(saved regs, fd int64) {
		l, err := takeListener(th.proc.pid, int(fd))
		if err != nil {
			// Its calls would wait on a listener nobody serves.
			e.injectFailed(th, "take the listener", err)
			return
		}
		l.hybrid, l.killable = true, killable
		e.notif.serveListener(l)
		e.injectNext(th, saved, "close", unix.SYS_CLOSE, []uint64{uint64(fd)}, func(int64) {
			e.stats.NotifyInstalls++
			e.filterIn(th, saved)
		})
	}}
}

// tellNotif tells the notification engine th's process and mode, which its
// notified calls are served by; nothing when no listener is ours.
// Precondition: on the tracer's thread; th is stopped.
func (e *ptraceEngine) tellNotif(th *thread) {
	if e.hybrid {
		e.notif.setThread(th.tid, th.proc.pid, th.proc.mode)
	}
}

// forgetNotif: thread tid is gone.
// Precondition: on the tracer's thread.
func (e *ptraceEngine) forgetNotif(tid int) {
	if e.hybrid {
		e.notif.forgetThread(tid)
	}
}

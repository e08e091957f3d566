package tracer

import "go.uber.org/zap"

// onSeccomp handles a RET_TRACE stop: the syscall has not run yet.
// Precondition: on the tracer's thread; th is in a seccomp stop.
func (e *ptraceEngine) onSeccomp(th *thread) {
	th.seq++
	var r regs
	if err := getRegs(th.tid, &r); err != nil {
		e.resume(th, 0)
		return
	}
	if th.proc.mode == Native || !th.proc.filtered && !th.proc.launcher.gated {
		// A native program under an inherited filter, or a call from code
		// that lies where a launcher's gate was drawn (filter_gate.go).
		e.stats.NativeStops++
		e.resume(th, 0)
		return
	}
	e.decide(th, &r)
}

// decide asks the handler about the call th is stopped in and applies the
// verdict, or holds the thread for it.
// Precondition: on the tracer's thread; th is stopped before the call runs.
func (e *ptraceEngine) decide(th *thread, r *regs) {
	// A rewrite that waited for scratch memory, or a call a signal
	// interrupted: the same syscall is back.
	if p := th.pending; p != nil {
		th.pending = nil
		if p.nr == r.nr() && r.args() == p.call.args {
			p.call.stop.(*ptraceStop).seq = th.seq
			e.apply(th, r, p.call, p.v)
			return
		}
	}
	c, ok := e.decodeStop(th, r)
	if !ok || !c.decidable() {
		e.resume(th, 0)
		return
	}
	v := e.calls.ask(c)
	if v.hold {
		e.setHeld(th, c)
		return
	}
	e.apply(th, r, c, v)
}

// decodeStop reads the call th is stopped in (see decodeCall).
// Precondition: on the tracer's thread.
func (e *ptraceEngine) decodeStop(th *thread, r *regs) (*Call, bool) {
	c, ok := decodeCall(th.proc.pid, th.tid, r.nr(), r.args(), e.page[:])
	if ok {
		c.stop = &ptraceStop{e: e, th: th, seq: th.seq}
	}
	return c, ok
}

// args are the syscall's six arguments.
func (r *regs) args() (a [6]uint64) {
	for i := range a {
		a[i] = r.arg(i)
	}
	return a
}

// onResume applies a held call's verdict, unless its thread moved on or died.
// Precondition: on the tracer's thread.
func (e *ptraceEngine) onResume(res resume) {
	s := res.call.stop.(*ptraceStop)
	th := e.threads[res.call.TID]
	if th == nil || th != s.th || th.held != res.call || th.seq != s.seq {
		return
	}
	e.setHeld(th, nil)
	var r regs
	if err := getRegs(th.tid, &r); err != nil {
		e.resume(th, 0)
		return
	}
	e.apply(th, &r, res.call, res.v)
}

// apply carries out a verdict on a thread stopped at a seccomp stop.
// Precondition: on the tracer's thread.
func (e *ptraceEngine) apply(th *thread, r *regs, c *Call, v Verdict) {
	switch {
	case v.errno != 0 || v.skip:
		// nr -1 skips the syscall; the return value is what rax holds.
		ret := v.ret
		if v.errno != 0 {
			e.stats.Failed++
			ret = -int64(v.errno)
		}
		r.setNr(^uint64(0))
		r.setRet(ret)
		if err := setRegs(th.tid, r); err != nil {
			e.log.Warn("fail syscall", zap.Int("tid", th.tid), zap.Error(err))
		}
		e.setExit(th, c, v, nil)
	case v.addr != nil || v.path != nil:
		e.rewrite(th, r, c, v)
		return
	default:
		e.setExit(th, c, v, nil)
	}
	e.resume(th, 0)
}

// setExit arranges the exit-stop work: restore rewritten argument registers
// (the ABI promises callers they are preserved) and run the verdict's exit
// work.
// Precondition: on the tracer's thread.
func (e *ptraceEngine) setExit(th *thread, c *Call, v Verdict, restore map[int]uint64) {
	f := v.atExit
	watch := listens(c)
	if f == nil && len(restore) == 0 && !watch {
		th.atExit = nil
		return
	}
	th.atExit = func(th *thread) {
		var r regs
		if err := getRegs(th.tid, &r); err != nil {
			return
		}
		ret := r.ret()
		for i, v := range restore {
			r.setArg(i, v)
		}
		// A syscall interrupted by a signal restarts and stops again at
		// seccomp, where the same verdict applies without asking again (the
		// Handler decides each call once): run f only on a real result.
		if isRestart(ret) {
			th.pending = &pendingVerdict{nr: c.nr, call: c, v: v}
		} else if f != nil {
			r.setRet(e.calls.runAtExit(c, f, ret))
		}
		if err := setRegs(th.tid, &r); err != nil {
			e.log.Warn("restore registers", zap.Int("tid", th.tid), zap.Error(err))
		}
		if watch && watchesCloses(th, r.ret()) {
			e.watchCloses(th, c.FD, r)
		}
	}
}

// The kernel's internal restart codes (include/linux/errno.h): a syscall
// that returns one of them at its exit stop will run again.
const (
	errRestartSys          = 512
	errRestartNoIntr       = 513
	errRestartNoHand       = 514
	errRestartRestartBlock = 516
)

func isRestart(ret int64) bool {
	switch -ret {
	case errRestartSys, errRestartNoIntr, errRestartNoHand, errRestartRestartBlock:
		return true
	}
	return false
}

// onSyscallExit runs the pending exit work and lets the thread go on.
// Precondition: on the tracer's thread; th is in a syscall-exit stop.
func (e *ptraceEngine) onSyscallExit(th *thread) {
	f := th.atExit
	th.atExit = nil
	if f != nil {
		f(th)
	}
	if th.handOff != nil {
		e.detach(th)
		return
	}
	e.resume(th, 0)
}

package tracer

import (
	"encoding/binary"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// onSeccomp handles a RET_TRACE stop: the syscall has not run yet.
// Precondition: on the tracer's thread; th is in a seccomp stop.
func (t *Tracer) onSeccomp(th *thread) {
	th.seq++
	var r regs
	if err := getRegs(th.tid, &r); err != nil {
		t.resume(th, 0)
		return
	}
	if th.proc.mode == Native {
		t.stats.NativeStops++
		t.resume(th, 0)
		return
	}
	t.decide(th, &r)
}

// decide asks the handler about the call th is stopped in and applies the
// verdict, or holds the thread for it.
// Precondition: on the tracer's thread; th is stopped before the call runs.
func (t *Tracer) decide(th *thread, r *regs) {
	// A rewrite that waited for scratch memory, or a call a signal
	// interrupted: the same syscall is back.
	if p := th.pending; p != nil {
		th.pending = nil
		if p.nr == r.nr() && r.args() == p.call.Args {
			p.call.seq = th.seq
			t.apply(th, r, p.call, p.v)
			return
		}
	}
	c, ok := t.decodeCall(th, r)
	if !ok || !c.decidable() {
		t.resume(th, 0)
		return
	}
	v := t.ask(c)
	if v.hold {
		t.setHeld(th, c)
		return
	}
	t.apply(th, r, c, v)
}

// args are the syscall's six arguments.
func (r *regs) args() (a [6]uint64) {
	for i := range a {
		a[i] = r.arg(i)
	}
	return a
}

// decidable: a path call without a path is about an fd, except fstatfs,
// whose Call.Path is the file its fd names; it runs unchanged.
func (c *Call) decidable() bool {
	return c.Class != ClassPath || c.RawPath != "" || c.Name == "fstatfs"
}

// ask gets the Handler's verdict on c. Both engines ask through here, one
// call at a time: handlers are written for one caller.
func (t *Tracer) ask(c *Call) Verdict {
	t.handlerMu.Lock()
	defer t.handlerMu.Unlock()
	switch c.Class {
	case ClassSocket:
		return t.handler.Socket(c)
	case ClassIdentity:
		return t.identity(c)
	}
	return t.handler.Path(c)
}

// onResume applies a held call's verdict, unless its thread moved on or died.
// Precondition: on the tracer's thread.
func (t *Tracer) onResume(res resume) {
	th := t.threads[res.call.TID]
	if th == nil || th != res.call.th || th.held != res.call || th.seq != res.call.seq {
		return
	}
	t.setHeld(th, nil)
	var r regs
	if err := getRegs(th.tid, &r); err != nil {
		t.resume(th, 0)
		return
	}
	t.apply(th, &r, res.call, res.v)
}

// apply carries out a verdict on a thread stopped at a seccomp stop.
// Precondition: on the tracer's thread.
func (t *Tracer) apply(th *thread, r *regs, c *Call, v Verdict) {
	switch {
	case v.errno != 0 || v.skip:
		// nr -1 skips the syscall; the return value is what rax holds.
		ret := v.ret
		if v.errno != 0 {
			t.stats.Failed++
			ret = -int64(v.errno)
		}
		r.setNr(^uint64(0))
		r.setRet(ret)
		if err := setRegs(th.tid, r); err != nil {
			t.log.Warn("fail syscall", zap.Int("tid", th.tid), zap.Error(err))
		}
		t.setExit(th, c, v, nil)
	case v.addr != nil || v.path != nil:
		t.rewrite(th, r, c, v)
		return
	default:
		t.setExit(th, c, v, nil)
	}
	t.resume(th, 0)
}

// setExit arranges the exit-stop work: restore rewritten argument registers
// (the ABI promises callers they are preserved) and run the verdict's exit
// work.
// Precondition: on the tracer's thread.
func (t *Tracer) setExit(th *thread, c *Call, v Verdict, restore map[int]uint64) {
	f := v.atExit
	if f == nil && len(restore) == 0 {
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
			th.pending = &pendingVerdict{nr: c.Nr, call: c, v: v}
		} else if f != nil {
			r.setRet(t.runAtExit(c, f, ret))
		}
		if err := setRegs(th.tid, &r); err != nil {
			t.log.Warn("restore registers", zap.Int("tid", th.tid), zap.Error(err))
		}
	}
}

// runAtExit runs a verdict's exit work on the call's result and returns the
// result the program gets.
func (t *Tracer) runAtExit(c *Call, f func(*Exit), ret int64) int64 {
	t.handlerMu.Lock()
	defer t.handlerMu.Unlock()
	e := &Exit{Call: c, Result: ret}
	f(e)
	return e.Result
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
func (t *Tracer) onSyscallExit(th *thread) {
	f := th.atExit
	th.atExit = nil
	if f != nil {
		f(th)
	}
	if th.handOff != nil {
		t.detach(th)
		return
	}
	t.resume(th, 0)
}

// rewrite points the sockaddr or path argument at a copy in scratch memory.
// Precondition: on the tracer's thread.
func (t *Tracer) rewrite(th *thread, r *regs, c *Call, v Verdict) {
	slot, ok := th.proc.mm.slot(th.tid)
	if !ok && th.proc.mm.noMem {
		t.setExit(th, c, v, nil)
		t.resume(th, 0)
		return
	}
	if !ok {
		th.pending = &pendingVerdict{nr: r.nr(), call: c, v: v}
		t.injectMmap(th, r)
		return
	}
	data, argRegs, ok := rewriteArgs(th, r, c, v, slot)
	if !ok {
		t.setExit(th, c, v, nil)
		t.resume(th, 0)
		return
	}
	if err := writeMem(th.tid, taddr(slot), data); err != nil {
		t.log.Warn("write scratch", zap.Int("tid", th.tid), zap.Error(err))
		t.setExit(th, c, v, nil)
		t.resume(th, 0)
		return
	}
	restore := map[int]uint64{}
	for i, val := range argRegs {
		restore[i] = r.arg(i)
		r.setArg(i, val)
	}
	if err := setRegs(th.tid, r); err != nil {
		t.log.Warn("rewrite arguments", zap.Int("tid", th.tid), zap.Error(err))
		restore = nil
	}
	t.stats.Rewrites++
	t.setExit(th, c, v, restore)
	t.resume(th, 0)
}

// rewriteArgs returns the bytes for the slot and the new argument registers.
// Precondition: on the tracer's thread.
func rewriteArgs(th *thread, r *regs, c *Call, v Verdict, slot taddr) ([]byte, map[int]uint64, bool) {
	info := syscallTable[int(r.nr())]
	if v.path != nil {
		if info.class != ClassPath || len(*v.path) >= slotSize {
			return nil, nil, false
		}
		return append([]byte(*v.path), 0), map[int]uint64{info.pathArg: uint64(slot)}, true
	}
	if info.class != ClassSocket || !c.HasAddr {
		return nil, nil, false
	}
	sa := encodeSockaddr(c.SockFamily, *v.addr)
	if info.addrArg >= 0 {
		return sa, map[int]uint64{info.addrArg: uint64(slot), info.addrLenArg: uint64(len(sa))}, true
	}
	// sendmsg: the address sits inside the msghdr, so copy the msghdr into the
	// slot with msg_name pointing at the new sockaddr just after it.
	mh := make([]byte, sizeofMsghdr, sizeofMsghdr+len(sa))
	if readMem(th.tid, taddr(c.Args[info.msghdrArg]), mh) != nil {
		return nil, nil, false
	}
	binary.LittleEndian.PutUint64(mh[0:], uint64(slot+sizeofMsghdr))
	binary.LittleEndian.PutUint32(mh[8:], uint32(len(sa)))
	return append(mh, sa...), map[int]uint64{info.msghdrArg: uint64(slot)}, true
}

// injectMmap turns the current syscall into an mmap of a scratch region; at its
// exit the original registers come back and the syscall instruction runs again.
// Precondition: on the tracer's thread.
func (t *Tracer) injectMmap(th *thread, r *regs) {
	t.stats.Injections++
	saved := *r
	m := *r
	m.setNr(uint64(sysMmap))
	m.setArg(0, 0)
	m.setArg(1, regionSize)
	m.setArg(2, unix.PROT_READ|unix.PROT_WRITE)
	m.setArg(3, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	m.setArg(4, ^uint64(0))
	m.setArg(5, 0)
	if err := setRegs(th.tid, &m); err != nil {
		t.log.Warn("inject mmap", zap.Int("tid", th.tid), zap.Error(err))
		th.pending = nil
		t.resume(th, 0)
		return
	}
	th.atExit = func(th *thread) {
		var got regs
		if err := getRegs(th.tid, &got); err != nil {
			return
		}
		if addr := got.ret(); addr < 0 && addr > -4096 {
			// No memory for scratch: run syscalls unchanged rather than loop.
			t.log.Warn("scratch mmap failed", zap.Int("tid", th.tid), zap.Int64("errno", -addr))
			th.proc.mm.noMem = true
		} else {
			th.proc.mm.addRegion(taddr(addr))
		}
		saved.rearm()
		if err := setRegs(th.tid, &saved); err != nil {
			t.log.Warn("restore after mmap", zap.Int("tid", th.tid), zap.Error(err))
		}
	}
	t.resume(th, 0)
}

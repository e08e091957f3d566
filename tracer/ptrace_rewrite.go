package tracer

import (
	"encoding/binary"

	"go.uber.org/zap"
)

// A verdict that rewrites a sockaddr or a path points the call's argument
// at a copy in scratch memory of the program's own (ptrace_thread.go),
// mapped by turning the call into mmap the first time; the argument
// registers are put back at the call's exit stop.

// rewrite points the sockaddr or path argument at a copy in scratch memory.
// Precondition: on the tracer's thread.
func (e *ptraceEngine) rewrite(th *thread, r *regs, c *Call, v Verdict) {
	slot, ok := th.proc.mm.slot(th.tid)
	if !ok && th.proc.mm.noMem {
		e.setExit(th, c, v, nil)
		e.resume(th, 0)
		return
	}
	if !ok {
		th.pending = &pendingVerdict{nr: r.nr(), call: c, v: v}
		e.injectMmap(th, r)
		return
	}
	data, argRegs, ok := rewriteArgs(th, c, v, slot)
	if !ok {
		e.setExit(th, c, v, nil)
		e.resume(th, 0)
		return
	}
	if err := writeMem(th.tid, taddr(slot), data); err != nil {
		e.log.Warn("write scratch", zap.Int("tid", th.tid), zap.Error(err))
		e.setExit(th, c, v, nil)
		e.resume(th, 0)
		return
	}
	restore := map[int]uint64{}
	for i, val := range argRegs {
		restore[i] = r.arg(i)
		r.setArg(i, val)
	}
	if err := setRegs(th.tid, r); err != nil {
		e.log.Warn("rewrite arguments", zap.Int("tid", th.tid), zap.Error(err))
		restore = nil
	}
	e.stats.Rewrites++
	e.setExit(th, c, v, restore)
	e.resume(th, 0)
}

// rewriteArgs returns the bytes for the slot and the new argument registers.
// Precondition: on the tracer's thread.
func rewriteArgs(th *thread, c *Call, v Verdict, slot taddr) ([]byte, map[int]uint64, bool) {
	info := c.sys()
	if v.path != nil {
		if !info.has(argPath) || len(*v.path) >= slotSize {
			return nil, nil, false
		}
		return append([]byte(*v.path), 0), map[int]uint64{info.pos(argPath): uint64(slot)}, true
	}
	if info.class != ClassSocket || !c.HasAddr {
		return nil, nil, false
	}
	sa := encodeSockaddr(c.SockFamily, *v.addr)
	if info.has(argAddr) {
		return sa, map[int]uint64{info.pos(argAddr): uint64(slot), info.pos(argAddrLen): uint64(len(sa))}, true
	}
	// sendmsg: the address sits inside the msghdr, so copy the msghdr into the
	// slot with msg_name pointing at the new sockaddr just after it.
	mh := make([]byte, sizeofMsghdr, sizeofMsghdr+len(sa))
	if readMem(th.tid, taddr(c.arg(argMsg)), mh) != nil {
		return nil, nil, false
	}
	binary.LittleEndian.PutUint64(mh[0:], uint64(slot+sizeofMsghdr))
	binary.LittleEndian.PutUint32(mh[8:], uint32(len(sa)))
	return append(mh, sa...), map[int]uint64{info.pos(argMsg): uint64(slot)}, true
}

// injectMmap turns the current syscall into an mmap of a scratch region; at its
// exit the original registers come back and the syscall instruction runs again.
// Precondition: on the tracer's thread.
func (e *ptraceEngine) injectMmap(th *thread, r *regs) {
	e.stats.Injections++
	saved := *r
	m := *r
	m.setNr(uint64(sysMmap))
	for i, a := range scratchMmap {
		m.setArg(i, a)
	}
	if err := setRegs(th.tid, &m); err != nil {
		e.log.Warn("inject mmap", zap.Int("tid", th.tid), zap.Error(err))
		th.pending = nil
		e.resume(th, 0)
		return
	}
	th.atExit = func(th *thread) {
		var got regs
		if err := getRegs(th.tid, &got); err != nil {
			return
		}
		if addr := got.ret(); addr < 0 && addr > -4096 {
			// No memory for scratch: run syscalls unchanged rather than loop.
			e.log.Warn("scratch mmap failed", zap.Int("tid", th.tid), zap.Int64("errno", -addr))
			th.proc.mm.noMem = true
		} else {
			th.proc.mm.addRegion(taddr(addr))
		}
		saved.rearm()
		if err := setRegs(th.tid, &saved); err != nil {
			e.log.Warn("restore after mmap", zap.Int("tid", th.tid), zap.Error(err))
		}
	}
	e.resume(th, 0)
}

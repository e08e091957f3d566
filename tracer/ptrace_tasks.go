package tracer

import (
	"encoding/binary"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// onNewTask registers a thread or process the tracee just created. Whether it
// shares the address space decides how scratch memory is tracked.
// Precondition: on the tracer's thread; parent is in its clone event stop.
func (e *ptraceEngine) onNewTask(parent *thread, event int) {
	e.stats.NewTasks++
	msg, err := unix.PtraceGetEventMsg(parent.tid)
	if err != nil {
		e.resume(parent, 0)
		return
	}
	child := int(msg)
	flags := e.cloneFlags(parent)
	if event == unix.PTRACE_EVENT_VFORK {
		flags |= unix.CLONE_VM
	}
	var p *process
	switch {
	case flags&unix.CLONE_THREAD != 0:
		p = parent.proc
	case flags&unix.CLONE_VM != 0:
		p = parent.proc.child(child, parent.proc.mm)
	default:
		p = parent.proc.child(child, parent.proc.mm.forkCopy())
	}
	// A debugger's fork may become its debuggee: it is watched until it
	// execs (a build the debugger runs) or asks to be traced.
	p.debugChild = flags&unix.CLONE_THREAD == 0 && parent.proc.mode == Debugger && !parent.proc.filtered
	th := &thread{tid: child, proc: p}
	e.threads[child] = th
	e.tellNotif(th)
	if e.early[child] {
		delete(e.early, child)
		e.resume(th, 0)
	}
	e.resume(parent, 0)
}

// cloneFlags reads the flags of the clone the parent is in.
// Precondition: on the tracer's thread.
func (e *ptraceEngine) cloneFlags(parent *thread) uint64 {
	var r regs
	if getRegs(parent.tid, &r) != nil {
		return 0
	}
	switch int(r.nr()) {
	case unix.SYS_CLONE:
		return r.arg(0)
	case unix.SYS_CLONE3:
		var b [8]byte // struct clone_args starts with the flags
		if readMem(parent.tid, taddr(r.arg(0)), b[:]) == nil {
			return binary.LittleEndian.Uint64(b[:])
		}
	case sysVfork:
		return unix.CLONE_VM | unix.CLONE_VFORK
	}
	return 0
}

// onExec gives the process a fresh address space and decides how it runs by
// the program it became. When a non-leader thread execs it takes over the
// leader's tid, and the old tid is gone.
// Precondition: on the tracer's thread; th is in its exec event stop.
func (e *ptraceEngine) onExec(th *thread) {
	if msg, err := unix.PtraceGetEventMsg(th.tid); err == nil && int(msg) != th.tid {
		former := int(msg)
		if old := e.threads[former]; old != nil {
			old.proc.mm.release(former)
			delete(e.threads, former)
		}
		e.forgetNotif(former)
	}
	if th.tid == e.rootPID && isLauncher(th.tid) {
		// Our launcher's own exec, seen when the seize came before it
		// ended: it stays native until it execs the program.
		e.resume(th, 0)
		return
	}
	if th.tid == e.rootPID && e.viewReport != nil {
		e.readViewReport()
	}
	exe, comm := procNames(th.tid)
	p := &process{pid: th.tid, mm: newAddrSpace(), filtered: th.proc.filtered, mode: e.cfg.Policy.ModeOf(exe, comm)}
	if p.filtered && p.mode == Launcher {
		p.mode = Intercepted // a filter stays: its calls stop there anyway
	}
	p.install = !p.filtered && p.mode == Intercepted
	p.nsSwitch = e.views.wantFor(th.tid, p.mode)
	th.proc = p
	e.tellNotif(th)
	e.setHeld(th, nil)
	th.atExit, th.pending, th.passEntry = nil, nil, false
	e.countExec(p.mode)
	e.log.Debug("exec", zap.Int("pid", th.tid), zap.String("exe", exe), zap.Stringer("mode", p.mode))
	if e.cfg.OnExec != nil {
		e.cfg.OnExec(Exec{PID: th.tid, Path: exe, Name: comm, Mode: p.mode})
	}
	e.resume(th, 0)
}

// Precondition: on the tracer's thread.
func (e *ptraceEngine) countExec(m Mode) {
	e.stats.Execs++
	switch m {
	case Intercepted:
		e.stats.InterceptedExecs++
	case Launcher:
		e.stats.LauncherExecs++
	case Native, Debugger:
		e.stats.NativeExecs++
	}
}

package tracer

import (
	"encoding/binary"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/tracer/internal/launcher"
)

// onNewTask registers a thread or process the tracee just created. Whether it
// shares the address space decides how scratch memory is tracked.
// Precondition: on the tracer's thread; parent is in its clone event stop.
func (t *Tracer) onNewTask(parent *thread, event int) {
	t.stats.NewTasks++
	msg, err := unix.PtraceGetEventMsg(parent.tid)
	if err != nil {
		t.resume(parent, 0)
		return
	}
	child := int(msg)
	flags := t.cloneFlags(parent)
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
	t.threads[child] = th
	if t.early[child] {
		delete(t.early, child)
		t.resume(th, 0)
	}
	t.resume(parent, 0)
}

// cloneFlags reads the flags of the clone the parent is in.
// Precondition: on the tracer's thread.
func (t *Tracer) cloneFlags(parent *thread) uint64 {
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
func (t *Tracer) onExec(th *thread) {
	if msg, err := unix.PtraceGetEventMsg(th.tid); err == nil && int(msg) != th.tid {
		former := int(msg)
		if old := t.threads[former]; old != nil {
			old.proc.mm.release(former)
			delete(t.threads, former)
		}
	}
	if th.tid == t.rootPID && launcher.Is(th.tid) {
		// Our launcher's own exec, seen when the seize came before it
		// ended: it stays native until it execs the program.
		t.resume(th, 0)
		return
	}
	exe, comm := procNames(th.tid)
	p := &process{pid: th.tid, mm: newAddrSpace(), filtered: th.proc.filtered, mode: t.cfg.Policy.ModeOf(exe, comm)}
	if p.filtered && p.mode == Launcher {
		p.mode = Intercepted // a filter stays: its calls stop there anyway
	}
	p.install = !p.filtered && p.mode == Intercepted
	th.proc = p
	t.setHeld(th, nil)
	th.atExit, th.pending, th.passEntry = nil, nil, false
	t.countExec(p.mode)
	t.log.Debug("exec", zap.Int("pid", th.tid), zap.String("exe", exe), zap.Stringer("mode", p.mode))
	if t.cfg.OnExec != nil {
		t.cfg.OnExec(Exec{PID: th.tid, Path: exe, Name: comm, Mode: p.mode})
	}
	t.resume(th, 0)
}

// Precondition: on the tracer's thread.
func (t *Tracer) countExec(m Mode) {
	t.stats.Execs++
	switch m {
	case Intercepted:
		t.stats.InterceptedExecs++
	case Launcher:
		t.stats.LauncherExecs++
	case Native, Debugger:
		t.stats.NativeExecs++
	}
}

package tracer

import (
	"context"
	"sync/atomic"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// loop serves stops and resumes until every task is reaped.
//
// The tracer's thread waits for stops itself (wait4 is cheapest there: no
// hand-off between threads). Only while some call is held for an asynchronous
// decision does a helper goroutine wait instead, so that Resume can wake the
// tracer's thread through a channel.
// Precondition: runs on the tracer's locked thread.
func (e *ptraceEngine) loop(ctx context.Context) {
	root := e.rootPID
	stop := context.AfterFunc(ctx, func() {
		_ = unix.Kill(root, unix.SIGKILL)
		e.notif.killAll()
	})
	defer stop()
	var w *waiter
	for {
		if w == nil && e.holds == 0 {
			pid, ws, err := wait4()
			if err != nil { // ECHILD: nothing left
				return
			}
			e.onWait(pid, ws)
			continue
		}
		if w == nil {
			w = startWaiter()
		}
		select {
		case ev, ok := <-w.events:
			if !ok {
				w = nil
				continue
			}
			if ev.err != nil {
				return
			}
			e.onWait(ev.pid, ev.ws)
		case r := <-e.resumeQueue:
			e.onResume(r)
		}
		if e.holds == 0 {
			w.stop.Store(true) // hands waiting back after its next event
		}
	}
}

func wait4() (int, unix.WaitStatus, error) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		return pid, ws, err
	}
}

type waitResult struct {
	pid int
	ws  unix.WaitStatus
	err error
}

// waiter waits for stops on another thread while calls are held.
type waiter struct {
	events chan waitResult
	stop   atomic.Bool
}

func startWaiter() *waiter {
	w := &waiter{events: make(chan waitResult)}
	go func() {
		defer close(w.events)
		for !w.stop.Load() {
			pid, ws, err := wait4()
			w.events <- waitResult{pid: pid, ws: ws, err: err}
			if err != nil {
				return
			}
		}
	}()
	return w
}

// onWait serves one stop or end of a traced task.
// Precondition: on the tracer's thread.
func (e *ptraceEngine) onWait(pid int, ws unix.WaitStatus) {
	if ws.Exited() || ws.Signaled() {
		e.onGone(pid, ws)
		return
	}
	if !ws.Stopped() {
		return
	}
	th := e.threads[pid]
	event := int(ws>>16) & 0xff
	sig := ws.StopSignal()
	if th == nil {
		// A new task's first stop can come before its parent's clone event:
		// keep it stopped until the parent tells us whose it is.
		if event == unix.PTRACE_EVENT_STOP {
			e.early[pid] = true
			return
		}
		e.log.Debug("stop of an unknown task; adopting it", zap.Int("pid", pid))
		filtered := hasFilter(pid)
		th = &thread{tid: pid, proc: &process{pid: pid, mm: newAddrSpace(), mode: Intercepted, filtered: filtered, install: !filtered}}
		e.threads[pid] = th
		e.tellNotif(th)
	}
	switch {
	case sig == unix.SIGTRAP|0x80 && th.proc.filtered && th.proc.nsSwitch != nsStay && th.atExit == nil && !th.passEntry:
		// A filtered process stepped to its first call only to be moved.
		e.onSyscallStop(th)
	case sig == unix.SIGTRAP|0x80 && th.proc.filtered && th.passEntry:
		// The entry stop of a call the tracer injected at an exit stop
		// (ptrace_closewatch.go): its exit stop is next.
		th.passEntry = false
		e.resume(th, 0)
	case sig == unix.SIGTRAP|0x80 && th.proc.filtered:
		// A filtered thread is stepped only to its exit stop.
		e.stats.ExitStops++
		e.onSyscallExit(th)
	case sig == unix.SIGTRAP|0x80:
		e.onSyscallStop(th)
	case event == unix.PTRACE_EVENT_SECCOMP:
		e.stats.SeccompStops++
		e.onSeccomp(th)
	case event == unix.PTRACE_EVENT_CLONE || event == unix.PTRACE_EVENT_FORK || event == unix.PTRACE_EVENT_VFORK:
		e.onNewTask(th, event)
	case event == unix.PTRACE_EVENT_EXEC:
		e.onExec(th)
	case event == unix.PTRACE_EVENT_STOP:
		if sig == unix.SIGSTOP || sig == unix.SIGTSTP || sig == unix.SIGTTIN || sig == unix.SIGTTOU {
			// Group stop: stay stopped, but let the tracer see SIGCONT.
			e.stats.GroupStops++
			e.ptrace(th, unix.PTRACE_LISTEN, 0)
			return
		}
		e.resume(th, 0) // a new task's first stop, or the end of a group stop
	default:
		// Signal-delivery stop: deliver it (SIGURG preemption, SIGCHLD, SIGINT...).
		e.stats.SignalStops++
		e.resume(th, int(sig))
	}
}

// onGone forgets a task that exited or was killed. When the program itself
// (the first process) ends, whatever it left running is killed: it could not
// outlive the tracer anyway (PTRACE_O_EXITKILL).
// Precondition: on the tracer's thread.
func (e *ptraceEngine) onGone(pid int, ws unix.WaitStatus) {
	if th := e.threads[pid]; th != nil {
		e.setHeld(th, nil)
		th.proc.mm.release(pid)
		delete(e.threads, pid)
	}
	e.forgetNotif(pid)
	delete(e.early, pid)
	if pid != e.rootPID {
		return
	}
	if ws.Signaled() {
		e.status = Status{Signal: ws.Signal()}
	} else {
		e.status = Status{Code: ws.ExitStatus()}
	}
	e.killAll()
	e.notif.killAll()
}

// setHeld records the call a thread waits on (nil: none), keeping count.
// Precondition: on the tracer's thread.
func (e *ptraceEngine) setHeld(th *thread, c *Call) {
	if (th.held == nil) != (c == nil) {
		if c == nil {
			e.holds--
		} else {
			e.holds++
		}
	}
	th.held = c
}

// Precondition: on the tracer's thread.
func (e *ptraceEngine) killAll() {
	for tid, th := range e.threads {
		_ = unix.Tgkill(th.proc.pid, tid, unix.SIGKILL)
	}
	for tid := range e.early {
		_ = unix.Kill(tid, unix.SIGKILL)
	}
}

// resume continues a stopped thread, delivering sig, and asks for the next
// syscall stop while an exit action is pending or the process is stepped.
// Precondition: on the tracer's thread; th is in a ptrace-stop.
func (e *ptraceEngine) resume(th *thread, sig int) {
	req := unix.PTRACE_CONT
	if th.atExit != nil || th.proc.stepped() {
		req = unix.PTRACE_SYSCALL
	}
	e.ptrace(th, req, sig)
}

// Precondition: on the tracer's thread.
func (e *ptraceEngine) ptrace(th *thread, req, sig int) {
	var err error
	switch req {
	case unix.PTRACE_CONT:
		err = unix.PtraceCont(th.tid, sig)
	case unix.PTRACE_SYSCALL:
		err = unix.PtraceSyscall(th.tid, sig)
	case unix.PTRACE_LISTEN:
		err = ptraceListen(th.tid)
	}
	// ESRCH: the task died under us (SIGKILL); its exit is reported next.
	if err != nil && err != unix.ESRCH {
		e.log.Warn("ptrace resume failed", zap.Int("tid", th.tid), zap.Error(err))
	}
}

// Precondition: on the tracer's thread.
func ptraceListen(tid int) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_LISTEN, uintptr(tid), 0, 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

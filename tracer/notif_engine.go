package tracer

import (
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// The notification engine serves the calls of processes handed over to a
// debugger (ptrace_handoff.go), and under the hybrid engine those of the
// processes the ptrace engine filtered (ptrace_hybrid.go). The kernel stops the calling thread and
// queues a notification on the listener; the tracer reads the arguments
// from the process's memory, asks the same Handler as the ptrace engine,
// and answers (notif_answer.go): CONTINUE for a call that runs unchanged,
// an errno or a value for one that does not run, and for one whose
// arguments or result must differ, the call made here on the program's
// behalf (notif_emulate.go) with the result sent back. Nothing of the
// program is stopped but the calling thread.
//
// No ptrace and no locked thread: each listener is served by a goroutine
// of its own, which asks the Handler; a call that may block is answered
// on a goroutine of its own, and so is a held call's Resume.

// notifEngine is the notification engine's state, shared by the goroutines
// serving its listeners (mu guards the maps).
type notifEngine struct {
	log   *zap.Logger
	calls *decider

	listeners     sync.WaitGroup
	mu            sync.Mutex
	listening     map[*listener]bool
	traced        map[int]threadInfo // by thread: the ptrace engine's (notif_procs.go)
	tgids         map[int]int        // by thread: a debuggee's process, cached
	heldCalls     map[int]*Call      // by thread: notified calls held for a decision
	members       map[int]int        // process -> pidfd: the debuggees' processes seen (notif_members.go)
	notifications atomic.Int64
	emulated      atomic.Int64
	// nativeNotified: calls of native programs, let through unasked.
	nativeNotified atomic.Int64
}

func newNotifEngine(log *zap.Logger, calls *decider) *notifEngine {
	return &notifEngine{log: log, calls: calls,
		listening: map[*listener]bool{}, traced: map[int]threadInfo{}, tgids: map[int]int{}, heldCalls: map[int]*Call{}, members: map[int]int{}}
}

// listener is one SECCOMP_FILTER_FLAG_NEW_LISTENER fd, serving a debuggee
// or a process the hybrid engine filtered, and every process it starts.
type listener struct {
	fd    int
	pidfd int // the debuggee, to end it with the program
	pid   int
	// hybrid: its processes are the ptrace engine's, which ends them.
	hybrid bool
	// killable: its calls, once received, wait for their answer through
	// any signal but a fatal one (notif_signals.go).
	killable bool
}

// notification is where a call waits in the notification engine: on a
// listener, for its answer.
type notification struct {
	e  *notifEngine
	l  *listener
	mu sync.Mutex
	id uint64 // changes when the call is interrupted and restarted (notif_restart.go)
	// parked is a decision that came while the call was interrupted;
	// parkedAnswer an answer made for it that took from a socket (sent as
	// it is at the restart); answered: the program got its answer.
	parked       *Verdict
	parkedAnswer *notifyAnswer
	answered     bool
}

// takeListener copies the listener fd a process just got into this one.
func takeListener(pid, fd int) (*listener, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, err
	}
	own, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		unix.Close(pidfd)
		return nil, err
	}
	unix.CloseOnExec(own)
	return &listener{fd: own, pidfd: pidfd, pid: pid}, nil
}

// resume answers a held call with its verdict, on a goroutine of its own.
func (n *notification) resume(c *Call, v Verdict) { go n.e.answer(c, v) }

func (l *listener) close() {
	unix.Close(l.fd)
	unix.Close(l.pidfd)
}

// serveListener starts serving l until every process under its filter is
// gone; wait waits for that too.
// Precondition: on the tracer's thread, in the ptrace engine's loop (which
// ends before wait is called).
func (e *notifEngine) serveListener(l *listener) {
	e.mu.Lock()
	e.listening[l] = true
	e.mu.Unlock()
	e.listeners.Add(1)
	l.syncWakeUp()
	go func() {
		defer e.listeners.Done()
		e.serve(l)
		e.mu.Lock()
		delete(e.listening, l)
		e.mu.Unlock()
		l.close()
	}()
}

// serve reads notifications until the listener hangs up: no process uses
// its filter any more.
func (e *notifEngine) serve(l *listener) {
	page := make([]byte, pageSize)
	for {
		fds := []unix.PollFd{{Fd: int32(l.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			e.log.Warn("poll the seccomp listener", zap.Error(err))
			return
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			return // POLLHUP: the last process under the filter is gone
		}
		var n seccompNotif
		if err := l.receive(&n); err != nil {
			// ENOENT: the caller was interrupted or died before we read it.
			if err == unix.ENOENT || err == unix.EINTR {
				continue
			}
			e.log.Warn("receive a seccomp notification", zap.Error(err))
			return
		}
		e.onNotify(l, &n, page)
	}
}

// onNotify decides one notified call and answers it, or leaves it waiting
// for Call.Resume.
func (e *notifEngine) onNotify(l *listener, n *seccompNotif, page []byte) {
	e.notifications.Add(1)
	tid := int(n.Pid)
	nr := uint64(uint32(n.Data.Nr))
	th, traced := e.threadOf(tid)
	if traced && th.mode == Native {
		// A build tool under the filter of the program that ran it.
		e.nativeNotified.Add(1)
		l.respond(n.ID, notifyContinue())
		return
	}
	if e.restarted(tid, nr, n.Data.Args, n.ID) {
		return // a held call, interrupted and made again: decided once
	}
	if !traced {
		th.pid = e.tgid(tid)
	}
	c, ok := decodeCall(th.pid, tid, nr, n.Data.Args, page)
	if !ok || !c.decidable() {
		l.respond(n.ID, notifyContinue())
		return
	}
	c.stop = &notification{e: e, l: l, id: n.ID}
	v := e.calls.ask(c)
	if v.hold {
		e.holdFor(c)
		return // Call.Resume answers
	}
	if a, plain := immediate(v); plain && (a.cont || v.atExit == nil) {
		l.respond(n.ID, a)
		return
	}
	if mayBlock(c, v) {
		// As the program's call would, without holding up the others; a
		// restart of it after a signal finds it (notif_restart.go).
		e.holdFor(c)
		go e.answer(c, v)
		return
	}
	e.answer(c, v)
}

// mayBlock: making c here may wait: a socket's receive, accept, connect or
// send on a blocking socket, an open of the program's own path that names
// a FIFO. Other calls are made on the listener's goroutine: a goroutine of
// their own would cost more than the call.
func mayBlock(c *Call, v Verdict) bool {
	switch c.Syscall {
	case SysRecvfrom, SysRecvmsg, SysAccept, SysAccept4, SysConnect, SysSendto, SysSendmsg:
		return c.arg(argMsgFlags)&unix.MSG_DONTWAIT == 0 && c.blockingSocket()
	case SysOpen, SysOpenat, SysOpenat2:
		return v.path == nil && c.namesFIFO()
	}
	return false
}

// blockingSocket: the call's fd is not O_NONBLOCK (or cannot be read).
func (c *Call) blockingSocket() bool {
	fd, err := c.dupFD(c.FD)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	return err != nil || fl&unix.O_NONBLOCK == 0
}

// namesFIFO: the path an open names, as the program resolves it, is a FIFO,
// whose open waits for the other end.
func (c *Call) namesFIFO() bool {
	var st unix.Stat_t
	return unix.Stat(c.ownPath(), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO
}

// killAll kills the debuggees, their process groups and every process of
// theirs seen, as the ptrace engine kills what the program left running.
func (e *notifEngine) killAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.killMembers()
	for l := range e.listening {
		if l.hybrid || unix.PidfdSendSignal(l.pidfd, 0, nil, 0) != nil {
			continue // gone: its pid may be another process's now
		}
		// A debugger starts its debuggee in a group of its own.
		if pgid, err := unix.Getpgid(l.pid); err == nil && pgid == l.pid {
			_ = unix.Kill(-pgid, unix.SIGKILL)
		}
		_ = unix.PidfdSendSignal(l.pidfd, unix.SIGKILL, nil, 0)
	}
}

// wait waits until no listener is left, then lets go of the debuggees'
// pidfds.
func (e *notifEngine) wait() {
	e.listeners.Wait()
	e.closeMembers()
}

// notifOf is where c, a call of this engine, waits.
func notifOf(c *Call) *notification { return c.stop.(*notification) }

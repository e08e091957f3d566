package tracer

import (
	"os"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// The notification engine serves the calls of processes handed over to a
// debugger (ptrace_handoff.go). The kernel stops the calling thread and queues a
// notification on the listener; the tracer reads the arguments from the
// process's memory, asks the same Handler as the ptrace engine, and answers:
// CONTINUE for a call that runs unchanged, an errno or a value for one that
// does not run, and for one whose arguments or result must differ, the
// call made here on the program's behalf (notif_emulate.go) with the result sent
// back. Nothing of the program is stopped but the calling thread.

// listener is one SECCOMP_FILTER_FLAG_NEW_LISTENER fd, serving a debuggee
// and every process it starts.
type listener struct {
	fd    int
	pidfd int // the debuggee, to end it with the program
	pid   int
}

// notification is a call waiting on a listener for its answer.
type notification struct {
	l  *listener
	mu sync.Mutex
	id uint64 // changes when the call is interrupted and restarted (notif_restart.go)
	// parked is a decision that came while the call was interrupted;
	// answered: the program got its answer.
	parked   *Verdict
	answered bool
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

func (l *listener) close() {
	unix.Close(l.fd)
	unix.Close(l.pidfd)
}

// serveListener starts serving l until every process under its filter is
// gone; Wait waits for that too.
// Precondition: on the tracer's thread.
func (t *Tracer) serveListener(l *listener) {
	t.notifyMu.Lock()
	t.listening[l] = true
	t.notifyMu.Unlock()
	t.listeners.Add(1)
	l.syncWakeUp()
	go func() {
		defer t.listeners.Done()
		t.serve(l)
		t.notifyMu.Lock()
		delete(t.listening, l)
		t.notifyMu.Unlock()
		l.close()
	}()
}

// serve reads notifications until the listener hangs up: no process uses
// its filter any more.
func (t *Tracer) serve(l *listener) {
	page := make([]byte, pageSize)
	for {
		fds := []unix.PollFd{{Fd: int32(l.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			t.log.Warn("poll the seccomp listener", zap.Error(err))
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
			t.log.Warn("receive a seccomp notification", zap.Error(err))
			return
		}
		t.onNotify(l, &n, page)
	}
}

// onNotify decides one notified call and answers it, or leaves it waiting
// for Call.Resume.
func (t *Tracer) onNotify(l *listener, n *seccompNotif, page []byte) {
	t.notifications.Add(1)
	tid := int(n.Pid)
	nr := uint64(uint32(n.Data.Nr))
	if t.restarted(tid, nr, n.Data.Args, n.ID) {
		return // a held call, interrupted and made again: decided once
	}
	c, ok := t.newCall(t.tgid(tid), tid, nr, n.Data.Args, page)
	if !ok || !c.decidable() {
		l.respond(n.ID, notifyContinue())
		return
	}
	c.notif = &notification{l: l, id: n.ID}
	v := t.ask(c)
	if v.hold {
		t.holdFor(c)
		return // Call.Resume answers
	}
	if a, plain := immediate(v); plain && (a.cont || v.atExit == nil) {
		l.respond(n.ID, a)
		return
	}
	if mayBlock(c, v) {
		go t.answer(c, v) // as the program's call would, without holding up the others
		return
	}
	t.answer(c, v)
}

// mayBlock: making c here may wait (a blocking socket's receive, accept or
// connect; an open of a path not in the session's copy, a FIFO perhaps).
func mayBlock(c *Call, v Verdict) bool {
	switch c.Name {
	case "recvfrom", "recvmsg", "accept", "accept4", "connect", "sendto", "sendmsg":
		return true
	case "open", "openat", "openat2":
		return v.path == nil
	}
	return false
}

// answer carries out v for a notified call and sends the result.
func (t *Tracer) answer(c *Call, v Verdict) {
	l, id := c.notif.l, c.notif.currentID()
	a, plain := immediate(v)
	if !plain {
		// What the call's memory said is the program's only if the call
		// still waits: an id whose thread moved on is never reused.
		if !l.valid(id) {
			t.gone(c, id, v)
			return
		}
		t.emulated.Add(1)
		a = t.emulate(c, v)
	}
	if a.fd >= 0 {
		defer unix.Close(a.fd)
		// With SEND the fd and the answer arrive at once: no fd left behind
		// in a program whose call was interrupted meanwhile. Exit work needs
		// the fd's number before the answer.
		send := v.atExit == nil && addfdSendOK()
		n, err := l.addFD(id, a.fd, a.cloexec, send)
		if err != nil || send {
			if err != nil && err != unix.ENOENT {
				err = l.respond(id, failed(errnoOf(err, unix.EMFILE)))
			}
			t.finish(c, id, v, err)
			return
		}
		a.val = int64(n)
	}
	if v.atExit != nil && !a.cont {
		a.val = t.runAtExit(c, v.atExit, a.val)
	}
	t.finish(c, id, v, l.respond(id, a))
}

// finish ends an answer: delivered, or the call was gone (ENOENT) and its
// restart gets v. Made again, a connect says EALREADY or EISCONN and an
// open installs its fd, as the kernel's own restart of them would.
func (t *Tracer) finish(c *Call, id uint64, v Verdict, err error) {
	if err == unix.ENOENT {
		t.gone(c, id, v)
		return
	}
	t.delivered(c)
}

// gone keeps v for the restart of a call interrupted before its answer,
// or answers the restart that already came.
func (t *Tracer) gone(c *Call, id uint64, v Verdict) {
	if !c.notif.park(id, v) {
		t.answer(c, v)
	}
}

// notifyAnswer is what a notified call returns.
type notifyAnswer struct {
	cont    bool  // SECCOMP_USER_NOTIF_FLAG_CONTINUE: the call runs as made
	val     int64 // the result, or -errno
	fd      int   // >= 0: an fd of ours to install in the program; val is its number there
	cloexec bool  // the installed fd is close-on-exec
}

func notifyContinue() notifyAnswer { return notifyAnswer{cont: true, fd: -1} }

// immediate is the answer to a verdict that needs nothing made here.
func immediate(v Verdict) (notifyAnswer, bool) {
	switch {
	case v.errno != 0:
		return notifyAnswer{val: -int64(v.errno), fd: -1}, true
	case v.skip:
		return notifyAnswer{val: v.ret, fd: -1}, true
	case v.addr == nil && v.path == nil && v.atExit == nil:
		return notifyContinue(), true
	}
	return notifyAnswer{}, false
}

// respond sends the answer; ENOENT: the call is gone (interrupted or dead).
func (l *listener) respond(id uint64, a notifyAnswer) error {
	resp := seccompNotifResp{ID: id}
	switch {
	case a.cont:
		resp.Flags = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
	case a.val < 0 && a.val > -4096:
		resp.Error = int32(a.val)
	default:
		resp.Val = a.val
	}
	return l.send(&resp)
}

// tgid is the process a thread belongs to, cached per thread; a cached
// answer is checked, since a thread's id may be reused by another's.
func (t *Tracer) tgid(tid int) int {
	t.notifyMu.Lock()
	pid, ok := t.tgids[tid]
	t.notifyMu.Unlock()
	if ok && (pid == tid || unix.Access("/proc/"+strconv.Itoa(pid)+"/task/"+strconv.Itoa(tid), unix.F_OK) == nil) {
		return pid
	}
	pid = tid
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status"); err == nil {
		if _, rest, ok := strings.Cut(string(b), "\nTgid:\t"); ok {
			if line, _, _ := strings.Cut(rest, "\n"); line != "" {
				if n, err := strconv.Atoi(line); err == nil {
					pid = n
				}
			}
		}
	}
	t.notifyMu.Lock()
	t.tgids[tid] = pid
	t.notifyMu.Unlock()
	t.track(pid)
	return pid
}

// endHandedOff kills the debuggees, their process groups and every process
// of theirs seen, as the ptrace engine kills what the program left running.
func (t *Tracer) endHandedOff() {
	t.notifyMu.Lock()
	defer t.notifyMu.Unlock()
	t.killMembers()
	for l := range t.listening {
		if unix.PidfdSendSignal(l.pidfd, 0, nil, 0) != nil {
			continue // gone: its pid may be another process's now
		}
		// A debugger starts its debuggee in a group of its own.
		if pgid, err := unix.Getpgid(l.pid); err == nil && pgid == l.pid {
			_ = unix.Kill(-pgid, unix.SIGKILL)
		}
		_ = unix.PidfdSendSignal(l.pidfd, unix.SIGKILL, nil, 0)
	}
}

func errnoOf(err error, def unix.Errno) unix.Errno {
	if e, ok := err.(unix.Errno); ok {
		return e
	}
	return def
}

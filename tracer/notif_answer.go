package tracer

import "golang.org/x/sys/unix"

// How the notification engine answers a notified call: at once, from a
// verdict that needs nothing made here, or once the call was made here for
// the program (notif_emulate.go), its fd installed in the program.

// answer carries out v for a notified call and sends the result.
func (e *notifEngine) answer(c *Call, v Verdict) {
	no := notifOf(c)
	l, id := no.l, no.currentID()
	a, plain := immediate(v)
	if !plain {
		// What the call's memory said is the program's only if the call
		// still waits: an id whose thread moved on is never reused.
		if !l.valid(id) {
			e.gone(c, id, v)
			return
		}
		e.emulated.Add(1)
		a = e.emulate(c, v)
		if a.gone != nil {
			e.gone(c, a.gone.id, v) // its restart makes it again
			return
		}
		// A call made here may have waited (a blocking receive), and been
		// interrupted and made again meanwhile: the answer is the restart's.
		id = notifOf(c).currentID()
	}
	e.deliver(c, id, v, a)
}

// deliver sends a to the call waiting under id, with its fd, after v's
// exit work.
func (e *notifEngine) deliver(c *Call, id uint64, v Verdict, a notifyAnswer) {
	no, l := notifOf(c), notifOf(c).l
	if a.fd >= 0 {
		owned := a.fd
		defer func() {
			if owned >= 0 {
				unix.Close(owned)
			}
		}()
		// With SEND the fd and the answer arrive at once: no fd left behind
		// in a program whose call was interrupted meanwhile. Exit work needs
		// the fd's number before the answer.
		send := v.atExit == nil && addfdSendOK()
		var n int
		var err error
		if send {
			err = no.send(func() error { _, err := l.addFD(id, a.fd, a.cloexec, true); return err })
		} else {
			n, err = l.addFD(id, a.fd, a.cloexec, false)
		}
		if err != nil || send {
			if err != nil && err != unix.ENOENT {
				err = no.send(func() error { return l.respond(id, failed(ErrnoOr(err, unix.EMFILE))) })
			}
			if e.finish(c, id, v, a, err) {
				owned = -1 // the restart's answer now
			}
			return
		}
		a.val, a.fd = int64(n), -1
	}
	if v.atExit != nil && !a.cont {
		a.val = e.calls.runAtExit(c, v.atExit, a.val)
	}
	e.finish(c, id, v, a, no.send(func() error { return l.respond(id, a) }))
}

// resend delivers an answer kept for the call's restart (taken).
func (e *notifEngine) resend(c *Call, a notifyAnswer) {
	no := notifOf(c)
	l, id := no.l, no.currentID()
	var err error
	if a.fd >= 0 {
		err = no.send(func() error { _, err := l.addFD(id, a.fd, a.cloexec, true); return err })
	} else {
		err = no.send(func() error { return l.respond(id, a) })
	}
	if e.finish(c, id, Verdict{}, a, err) {
		return
	}
	if a.fd >= 0 {
		unix.Close(a.fd)
	}
}

// send delivers a call's answer (f sends it) and marks it answered, at
// once: the program, answered, may make the very same call again at once
// (an open of the same path from the same buffer), which must not be taken
// for this one's restart (notif_restart.go) in between.
func (n *notification) send(f func() error) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	err := f()
	if err == nil {
		n.answered = true
	}
	return err
}

// finish ends an answer: delivered, or the call was gone (ENOENT) and its
// restart gets v. Made again, a connect says EALREADY or EISCONN and an
// open installs its fd, as the kernel's own restart of them would.
// A call that took something from a socket (a datagram, a connection) is
// not made again: its restart gets this very answer, or it would be lost.
// kept: a (and its fd) now belongs to the restart.
func (e *notifEngine) finish(c *Call, id uint64, v Verdict, a notifyAnswer, err error) (kept bool) {
	switch {
	case err != unix.ENOENT:
		e.delivered(c)
	case !a.taken:
		e.gone(c, id, v)
	case !notifOf(c).park(id, nil, &a):
		go e.resend(c, a) // the restart came already
		return true
	default:
		return true
	}
	return false
}

// gone keeps v for the restart of a call interrupted before its answer,
// or answers the restart that already came.
func (e *notifEngine) gone(c *Call, id uint64, v Verdict) {
	if !notifOf(c).park(id, &v, nil) {
		e.answer(c, v)
	}
}

// notifyAnswer is what a notified call returns.
type notifyAnswer struct {
	cont    bool  // SECCOMP_USER_NOTIF_FLAG_CONTINUE: the call runs as made
	val     int64 // the result, or -errno
	fd      int   // >= 0: an fd of ours to install in the program; val is its number there
	cloexec bool  // the installed fd is close-on-exec
	// gone: the call was interrupted before anything was made for it.
	gone *callGone
	// taken: making the call took something from a socket.
	taken bool
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

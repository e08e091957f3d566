package tracer

import (
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// The notification engine cannot change a waiting call's arguments, nor
// see its result: a verdict that rewrites an address or a path, or fixes
// up a result, is carried out here instead, on the program's own socket
// (pidfd_getfd shares its open file), on the replacement path, with the
// results written into the program's memory and fds installed in it
// (SECCOMP_IOCTL_NOTIF_ADDFD). The call then returns what the program
// would have got from the ptrace engine's rewritten call.

// maxCopy bounds a buffer copied through here; a datagram always fits.
const maxCopy = 4 << 20

// emulate makes c's call here as v says and returns what the program gets.
func (e *notifEngine) emulate(c *Call, v Verdict) notifyAnswer {
	switch c.Class {
	case ClassSocket:
		a := c.emulateSocket(v)
		switch c.Syscall {
		case SysRecvfrom, SysRecvmsg, SysAccept, SysAccept4:
			a.taken = a.gone == nil && (a.val >= 0 || a.fd >= 0)
		}
		return a
	case ClassIdentity:
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			return failed(err)
		}
		return c.wrote(0, c.write(c.arg(argStructOut), structBytes(&u)))
	}
	a, ok := c.emulatePath(v)
	if !ok {
		if v.path == nil {
			return notifyContinue() // only exit work was asked: the call runs as made
		}
		e.log.Warn("a path this program's call names cannot be replaced under a debugger", zap.Stringer("syscall", c.Syscall), zap.String("path", c.Path))
		return failed(unix.ENOSYS)
	}
	return a
}

// failed answers the errno of err (EIO when it carries none); a call that
// no longer waits gets no answer (callGone).
func failed(err error) notifyAnswer {
	if g, ok := err.(*callGone); ok {
		return notifyAnswer{gone: g, fd: -1}
	}
	return notifyAnswer{val: -int64(ErrnoOr(err, unix.EIO)), fd: -1}
}

// answerOf is a call's answer from what it returned here.
func answerOf(n int, err error) notifyAnswer {
	if err != nil {
		return failed(err)
	}
	return notifyAnswer{val: int64(n), fd: -1}
}

// fdResult answers with an fd of ours, installed in the program.
func fdResult(fd int, err error, cloexec bool) notifyAnswer {
	if err != nil {
		return failed(err)
	}
	return notifyAnswer{fd: fd, cloexec: cloexec}
}

// wrote answers n once the results were written to the program's memory.
func (c *Call) wrote(n int, err error) notifyAnswer {
	if err != nil {
		return failed(unix.EFAULT)
	}
	return notifyAnswer{val: int64(n), fd: -1}
}

func (c *Call) write(addr uint64, b []byte) error { return writeMem(c.TID, taddr(addr), b) }

// read fills *b with n bytes of the program's memory at addr (none when
// addr is NULL).
func (c *Call) read(addr uint64, n int, b *[]byte) error {
	if addr == 0 || n <= 0 {
		return nil
	}
	*b = make([]byte, min(n, maxCopy))
	return readMem(c.TID, taddr(addr), *b)
}

// writeAll is the first failure of several writes to the program's memory.
func (c *Call) writeAll(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

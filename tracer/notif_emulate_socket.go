package tracer

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"
)

// Socket calls made for a notified program on its own socket, copied into
// this process with pidfd_getfd (the same open file: its flags, its
// pending error, its queue).

// emulateSocket carries out a socket call's verdict on the program's socket.
func (c *Call) emulateSocket(v Verdict) notifyAnswer {
	fd, err := c.dupFD(c.FD)
	if err != nil {
		return failed(err)
	}
	defer unix.Close(fd)
	if v.addr == nil {
		// Results are fixed up for IP sockets only; others (a Unix
		// socket passing fds) run as made.
		if dom, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN); err != nil || (dom != unix.AF_INET && dom != unix.AF_INET6) {
			return notifyContinue()
		}
	}
	var sa []byte
	if v.addr != nil {
		sa = encodeSockaddr(c.SockFamily, *v.addr)
	}
	switch c.Syscall {
	case SysConnect, SysBind:
		if sa == nil && c.read(c.arg(argAddr), int(c.arg(argAddrLen)), &sa) != nil {
			return failed(unix.EFAULT)
		}
		return answerOf(sockaddrCall(c.nr, fd, sa))
	case SysListen:
		return answerOf(0, unix.Listen(fd, int(int32(c.arg(argBacklog)))))
	case SysSendto:
		var data []byte
		if sa == nil && c.read(c.arg(argAddr), int(c.arg(argAddrLen)), &sa) != nil || c.read(c.arg(argBuf), int(c.arg(argLen)), &data) != nil {
			return failed(unix.EFAULT)
		}
		return answerOf(sendto(fd, data, int(c.arg(argMsgFlags)), sa))
	case SysSendmsg:
		return c.sendmsg(fd, sa)
	case SysRecvfrom:
		buf := make([]byte, min(c.arg(argLen), maxCopy))
		var n int
		from, err := c.blockingRecv(fd, int(c.arg(argMsgFlags)), func(flags int) (sa []byte, err error) {
			n, sa, err = recvfrom(fd, buf, flags)
			return sa, err
		})
		if err != nil {
			return failed(err)
		}
		return c.wrote(n, c.writeAll(c.write(c.arg(argBuf), buf[:min(n, len(buf))]), c.writeAddrOut(from, c.arg(argAddrLenOut))))
	case SysRecvmsg:
		return c.recvmsg(fd)
	case SysGetpeername, SysGetsockname:
		name, err := sockname(c.nr, fd)
		if err != nil {
			return failed(err)
		}
		return c.wrote(0, c.writeAddrOut(name, c.arg(argAddrLenOut)))
	case SysGetsockopt:
		return c.getsockopt(fd)
	case SysAccept, SysAccept4:
		flags := int(c.arg(argSockFlags))
		var nfd int
		peer, err := c.blockingRecv(fd, 0, func(int) (sa []byte, err error) {
			nfd, sa, err = accept4(fd, flags|unix.SOCK_CLOEXEC)
			return sa, err
		})
		if err != nil {
			return failed(err)
		}
		if err := c.writeAddrOut(peer, c.arg(argAddrLenOut)); err != nil {
			unix.Close(nfd)
			return failed(unix.EFAULT)
		}
		return fdResult(nfd, nil, flags&unix.SOCK_CLOEXEC != 0)
	}
	return notifyContinue()
}

// writeAddrOut gives the program a result address as the kernel would: cut
// to its buffer, with the full length at lenPtr.
func (c *Call) writeAddrOut(sa []byte, lenPtr uint64) error {
	if c.outAddr == 0 || lenPtr == 0 {
		return nil
	}
	if err := c.write(uint64(c.outAddr), sa[:min(len(sa), max(c.outAddrCap, 0))]); err != nil {
		return err
	}
	return c.write(lenPtr, binary.LittleEndian.AppendUint32(nil, uint32(len(sa))))
}

// blockingRecv runs op (recv or accept) as the program's call would: at
// once on a non-blocking socket; on a blocking one, waiting until data
// comes or the socket's receive timeout passes. A signal interrupts the
// program's call at once, in the kernel; here, nothing is taken from the
// socket once the call no longer waits (errCallGone, checked before each
// try and at least every 50 ms), and a restart of the call (a handler with
// SA_RESTART, or a runtime that retries on EINTR) takes this wait over
// (notif_restart.go) instead of starting another.
func (c *Call) blockingRecv(fd, flags int, op func(flags int) ([]byte, error)) ([]byte, error) {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_NONBLOCK != 0 || flags&unix.MSG_DONTWAIT != 0 {
		return op(flags)
	}
	var deadline time.Time
	if tv, err := unix.GetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO); err == nil && (tv.Sec != 0 || tv.Usec != 0) {
		deadline = time.Now().Add(time.Duration(tv.Nano()))
	}
	n := notifOf(c)
	for {
		wait := 50 * time.Millisecond
		if !deadline.IsZero() {
			if wait = min(wait, time.Until(deadline)); wait <= 0 {
				return nil, unix.EAGAIN
			}
		}
		// Readable first: accept has no MSG_DONTWAIT, and O_NONBLOCK on
		// this fd would be set on the program's socket too.
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		ready, _ := unix.Poll(fds, int(wait.Milliseconds())+1)
		id := n.currentID()
		if !n.l.valid(id) {
			return nil, &callGone{id: id}
		}
		if n.l.killable && signalPending(c.PID, c.TID) {
			// The kernel does not end a killable wait for it: we do, as
			// the kernel ends its own blocking calls (notif_signals.go).
			// Not marked answered: the restart takes this call over.
			if n.l.respond(id, notifyAnswer{val: -errRestartSys, fd: -1}) == nil {
				return nil, &callGone{id: id}
			}
			continue
		}
		if ready > 0 {
			if sa, err := op(flags | unix.MSG_DONTWAIT); err != unix.EAGAIN {
				return sa, err
			}
		}
	}
}

// callGone: the notified call a blocking wait was for was interrupted under
// id, and nothing was taken for it.
type callGone struct{ id uint64 }

func (g *callGone) Error() string { return "the call no longer waits" }

// msghdr is the fields of a program's struct msghdr this engine uses.
type msghdr struct {
	name       uint64
	nameLen    uint32
	iov        uint64
	iovLen     uint64
	control    uint64
	controlLen uint64
}

func (c *Call) readMsghdr() (msghdr, []unix.RemoteIovec, error) {
	var b [sizeofMsghdr]byte
	if err := readMem(c.TID, taddr(c.msghdr()), b[:]); err != nil {
		return msghdr{}, nil, err
	}
	le := binary.LittleEndian
	m := msghdr{name: le.Uint64(b[0:]), nameLen: le.Uint32(b[8:]), iov: le.Uint64(b[16:]), iovLen: le.Uint64(b[24:]),
		control: le.Uint64(b[32:]), controlLen: le.Uint64(b[40:])}
	if m.iovLen > 1024 { // UIO_MAXIOV
		return m, nil, unix.EMSGSIZE
	}
	raw := make([]byte, 16*m.iovLen)
	if err := readMem(c.TID, taddr(m.iov), raw); err != nil {
		return m, nil, err
	}
	iovs := make([]unix.RemoteIovec, m.iovLen)
	for i := range iovs {
		iovs[i] = unix.RemoteIovec{Base: uintptr(le.Uint64(raw[16*i:])), Len: int(le.Uint64(raw[16*i+8:]))}
	}
	return m, iovs, nil
}

// sendmsg sends the program's message to sa (its own address when nil).
func (c *Call) sendmsg(fd int, sa []byte) notifyAnswer {
	m, iovs, err := c.readMsghdr()
	if err != nil {
		return failed(err)
	}
	var data, control []byte
	for _, iov := range iovs {
		var part []byte
		if err := c.read(uint64(iov.Base), iov.Len, &part); err != nil {
			return failed(err)
		}
		data = append(data, part...)
	}
	if sa == nil && c.read(m.name, int(m.nameLen), &sa) != nil || c.read(m.control, int(m.controlLen), &control) != nil {
		return failed(unix.EFAULT)
	}
	return answerOf(sendmsg(fd, data, control, sa, int(c.arg(argMsgFlags))))
}

// recvmsg receives into the program's buffers, address and control data.
func (c *Call) recvmsg(fd int) notifyAnswer {
	m, iovs, err := c.readMsghdr()
	if err != nil {
		return failed(err)
	}
	total := 0
	for _, iov := range iovs {
		total += iov.Len
	}
	buf := make([]byte, min(total, maxCopy))
	control := make([]byte, min(m.controlLen, 1<<16))
	var got recvResult
	from, err := c.blockingRecv(fd, int(c.arg(argMsgFlags)), func(flags int) ([]byte, error) {
		got, err = recvmsg(fd, buf, control, flags)
		return got.from, err
	})
	if err != nil {
		return failed(err)
	}
	data := buf[:min(got.n, len(buf))]
	for _, iov := range iovs {
		part := data[:min(len(data), iov.Len)]
		if err := c.write(uint64(iov.Base), part); err != nil {
			return failed(unix.EFAULT)
		}
		data = data[len(part):]
	}
	le, mh := binary.LittleEndian, c.msghdr()
	werr := c.writeAll(
		c.writeAddrOut(from, mh+8), // msg_namelen
		c.write(m.control, control[:got.controlLen]),
		c.write(mh+40, le.AppendUint64(nil, uint64(got.controlLen))),
		c.write(mh+48, le.AppendUint32(nil, uint32(got.flags))),
	)
	return c.wrote(got.n, werr)
}

// getsockopt reads the option into the program's buffer and length.
func (c *Call) getsockopt(fd int) notifyAnswer {
	var lb [4]byte
	lenPtr := c.arg(argOptLenOut)
	if err := readMem(c.TID, taddr(lenPtr), lb[:]); err != nil {
		return failed(unix.EFAULT)
	}
	buf := make([]byte, min(binary.LittleEndian.Uint32(lb[:]), 1<<16))
	n, err := getsockopt(fd, int(c.arg(argLevel)), int(c.arg(argOptName)), buf)
	if err != nil {
		return failed(err)
	}
	return c.wrote(0, c.writeAll(c.write(c.arg(argOptVal), buf[:n]), c.write(lenPtr, binary.LittleEndian.AppendUint32(nil, uint32(n)))))
}

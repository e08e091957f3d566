package tracer

import (
	"encoding/binary"
	"time"

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
func (t *Tracer) emulate(c *Call, v Verdict) notifyAnswer {
	switch c.Class {
	case ClassSocket:
		return c.emulateSocket(v)
	case ClassIdentity:
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			return failed(err)
		}
		return c.wrote(0, c.write(c.Args[0], structBytes(&u)))
	}
	a, ok := c.emulatePath(v)
	if !ok {
		if v.path == nil {
			return notifyContinue() // only exit work was asked: the call runs as made
		}
		t.log.Warn("a path this program's call names cannot be replaced under a debugger", zap.String("syscall", c.Name), zap.String("path", c.Path))
		return notifyAnswer{val: -int64(unix.ENOSYS), fd: -1}
	}
	return a
}

func failed(err error) notifyAnswer {
	return notifyAnswer{val: -int64(errnoOf(err, unix.EIO)), fd: -1}
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
		return notifyAnswer{val: -int64(unix.EFAULT), fd: -1}
	}
	return notifyAnswer{val: int64(n), fd: -1}
}

func (c *Call) write(addr uint64, b []byte) error { return writeMem(c.TID, taddr(addr), b) }

// dupFD copies the program's fd into this process.
func (c *Call) dupFD(fd int) (int, error) {
	pidfd, err := unix.PidfdOpen(c.PID, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pidfd)
	return unix.PidfdGetfd(pidfd, fd, 0)
}

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
	info := syscallTable[int(c.Nr)]
	switch c.Name {
	case "connect", "bind":
		if sa == nil && c.read(c.Args[1], int(c.Args[2]), &sa) != nil {
			return notifyAnswer{val: -int64(unix.EFAULT), fd: -1}
		}
		return answerOf(sockaddrCall(c.Nr, fd, sa))
	case "listen":
		return answerOf(0, unix.Listen(fd, int(int32(c.Args[1]))))
	case "sendto":
		var data []byte
		if sa == nil && c.read(c.Args[4], int(c.Args[5]), &sa) != nil || c.read(c.Args[1], int(c.Args[2]), &data) != nil {
			return notifyAnswer{val: -int64(unix.EFAULT), fd: -1}
		}
		return answerOf(sendto(fd, data, int(c.Args[3]), sa))
	case "sendmsg":
		return c.sendmsg(fd, sa)
	case "recvfrom":
		buf := make([]byte, min(c.Args[2], maxCopy))
		var n int
		from, err := c.blockingRecv(fd, int(c.Args[3]), func(flags int) (sa []byte, err error) {
			n, sa, err = recvfrom(fd, buf, flags)
			return sa, err
		})
		if err != nil {
			return failed(err)
		}
		return c.wrote(n, c.writeAll(c.write(c.Args[1], buf[:min(n, len(buf))]), c.writeAddrOut(from, c.Args[info.addrLenArg])))
	case "recvmsg":
		return c.recvmsg(fd)
	case "getpeername", "getsockname":
		name, err := sockname(c.Nr, fd)
		if err != nil {
			return failed(err)
		}
		return c.wrote(0, c.writeAddrOut(name, c.Args[2]))
	case "getsockopt":
		return c.getsockopt(fd)
	case "accept", "accept4":
		flags := 0
		if c.Name == "accept4" {
			flags = int(c.Args[3])
		}
		var nfd int
		peer, err := c.blockingRecv(fd, 0, func(int) (sa []byte, err error) {
			nfd, sa, err = accept4(fd, flags|unix.SOCK_CLOEXEC)
			return sa, err
		})
		if err != nil {
			return failed(err)
		}
		if err := c.writeAddrOut(peer, c.Args[2]); err != nil {
			unix.Close(nfd)
			return notifyAnswer{val: -int64(unix.EFAULT), fd: -1}
		}
		return fdResult(nfd, nil, flags&unix.SOCK_CLOEXEC != 0)
	}
	return notifyContinue()
}

// read fills *b with n bytes of the program's memory at addr (none when
// addr is NULL).
func (c *Call) read(addr uint64, n int, b *[]byte) error {
	if addr == 0 || n <= 0 {
		return nil
	}
	*b = make([]byte, min(n, maxCopy))
	return readMem(c.TID, taddr(addr), *b)
}

func (c *Call) writeAll(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
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
// comes, the socket's receive timeout passes, or the program's call is
// interrupted (a signal), when nothing is taken from the socket.
func (c *Call) blockingRecv(fd, flags int, op func(flags int) ([]byte, error)) ([]byte, error) {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_NONBLOCK != 0 || flags&unix.MSG_DONTWAIT != 0 {
		return op(flags)
	}
	var deadline time.Time
	if tv, err := unix.GetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO); err == nil && (tv.Sec != 0 || tv.Usec != 0) {
		deadline = time.Now().Add(time.Duration(tv.Nano()))
	}
	for {
		sa, err := op(flags | unix.MSG_DONTWAIT)
		if err != unix.EAGAIN {
			return sa, err
		}
		wait := 200 * time.Millisecond
		if !deadline.IsZero() {
			if wait = min(wait, time.Until(deadline)); wait <= 0 {
				return nil, unix.EAGAIN
			}
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(fds, int(wait.Milliseconds())+1); n == 0 && !c.notif.l.valid(c.notif.id) {
			return nil, unix.EINTR // nobody waits for the answer any more
		}
	}
}

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
	if err := readMem(c.TID, taddr(c.Args[1]), b[:]); err != nil {
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
		return notifyAnswer{val: -int64(unix.EFAULT), fd: -1}
	}
	return answerOf(sendmsg(fd, data, control, sa, int(c.Args[2])))
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
	from, err := c.blockingRecv(fd, int(c.Args[2]), func(flags int) ([]byte, error) {
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
			return notifyAnswer{val: -int64(unix.EFAULT), fd: -1}
		}
		data = data[len(part):]
	}
	le := binary.LittleEndian
	werr := c.writeAll(
		c.writeAddrOut(from, c.Args[1]+8), // msg_namelen
		c.write(m.control, control[:got.controlLen]),
		c.write(c.Args[1]+40, le.AppendUint64(nil, uint64(got.controlLen))),
		c.write(c.Args[1]+48, le.AppendUint32(nil, uint32(got.flags))),
	)
	return c.wrote(got.n, werr)
}

// getsockopt reads the option into the program's buffer and length.
func (c *Call) getsockopt(fd int) notifyAnswer {
	var lb [4]byte
	if err := readMem(c.TID, taddr(c.Args[4]), lb[:]); err != nil {
		return notifyAnswer{val: -int64(unix.EFAULT), fd: -1}
	}
	buf := make([]byte, min(binary.LittleEndian.Uint32(lb[:]), 1<<16))
	n, err := getsockopt(fd, int(c.Args[1]), int(c.Args[2]), buf)
	if err != nil {
		return failed(err)
	}
	return c.wrote(0, c.writeAll(c.write(c.Args[3], buf[:n]), c.write(c.Args[4], binary.LittleEndian.AppendUint32(nil, uint32(n)))))
}

// emulatePath makes a path call on path (the verdict's replacement, or the
// call's own for exit work); ok is false for a call this engine cannot
// make for the program (chdir, the calls that change the file system).
func (c *Call) emulatePath(v Verdict) (notifyAnswer, bool) {
	path := c.Path
	if v.path != nil {
		path = *v.path
	}
	if path == "" {
		return notifyAnswer{}, false
	}
	a := c.Args
	switch c.Name {
	case "open", "openat":
		flags, mode := a[1], a[2]
		if c.Name == "openat" {
			flags, mode = a[2], a[3]
		}
		fd, err := unix.Open(path, int(flags)|unix.O_CLOEXEC, uint32(mode))
		return fdResult(fd, err, int(flags)&unix.O_CLOEXEC != 0), true
	case "openat2":
		var raw []byte
		if err := c.read(a[2], int(min(a[3], 24)), &raw); err != nil || len(raw) < 8 {
			return notifyAnswer{val: -int64(unix.EFAULT), fd: -1}, true
		}
		raw = append(raw, make([]byte, 24-len(raw))...)
		le := binary.LittleEndian
		how := unix.OpenHow{Flags: le.Uint64(raw[0:]), Mode: le.Uint64(raw[8:]), Resolve: le.Uint64(raw[16:])}
		cloexec := how.Flags&unix.O_CLOEXEC != 0
		how.Flags |= unix.O_CLOEXEC
		fd, err := unix.Openat2(unix.AT_FDCWD, path, &how)
		return fdResult(fd, err, cloexec), true
	case "stat", "lstat", "newfstatat":
		flags, buf := 0, a[1]
		switch c.Name {
		case "lstat":
			flags = unix.AT_SYMLINK_NOFOLLOW
		case "newfstatat":
			flags, buf = int(a[3]), a[2]
		}
		var st unix.Stat_t
		if err := unix.Fstatat(unix.AT_FDCWD, path, &st, flags); err != nil {
			return failed(err), true
		}
		return c.wrote(0, c.write(buf, structBytes(&st))), true
	case "statx":
		var st unix.Statx_t
		if err := unix.Statx(unix.AT_FDCWD, path, int(a[2]), int(a[3]), &st); err != nil {
			return failed(err), true
		}
		return c.wrote(0, c.write(a[4], structBytes(&st))), true
	case "access", "faccessat", "faccessat2":
		mode, flags := a[2], uint64(0)
		switch c.Name {
		case "access":
			mode = a[1]
		case "faccessat2":
			flags = a[3]
		}
		return answerOf(0, faccessat2(path, uint32(mode), int(flags))), true
	case "readlink", "readlinkat":
		buf, size := a[1], a[2]
		if c.Name == "readlinkat" {
			buf, size = a[2], a[3]
		}
		b := make([]byte, min(size, maxCopy))
		n, err := unix.Readlink(path, b)
		if err != nil {
			return failed(err), true
		}
		return c.wrote(n, c.write(buf, b[:n])), true
	case "getxattr", "lgetxattr":
		name, err := c.String(1)
		if err != nil {
			return notifyAnswer{val: -int64(unix.EFAULT), fd: -1}, true
		}
		b := make([]byte, min(a[3], 1<<16))
		get := unix.Getxattr
		if c.Name == "lgetxattr" {
			get = unix.Lgetxattr
		}
		n, err := get(path, name, b)
		if err != nil {
			return failed(err), true
		}
		return c.wrote(n, c.write(a[2], b[:min(n, len(b))])), true
	case "statfs", "fstatfs":
		var st unix.Statfs_t
		err := unix.Statfs(path, &st)
		if c.Name == "fstatfs" && v.path == nil {
			fd, derr := c.dupFD(int(int32(a[0])))
			if derr != nil {
				return failed(derr), true
			}
			err = unix.Fstatfs(fd, &st)
			unix.Close(fd)
		}
		if err != nil {
			return failed(err), true
		}
		return c.wrote(0, c.write(a[1], structBytes(&st))), true
	case "inotify_add_watch":
		fd, err := c.dupFD(int(int32(a[0])))
		if err != nil {
			return failed(err), true
		}
		defer unix.Close(fd)
		return answerOf(unix.InotifyAddWatch(fd, path, uint32(a[2]))), true
	}
	return notifyAnswer{}, false
}

package tracer

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket calls on raw sockaddr bytes, so an address keeps the family the
// program used (a v4-mapped IPv6 destination stays IPv6).

func ptr(b []byte) uintptr {
	if len(b) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&b[0]))
}

func errOf(e unix.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

// sockaddrCall is connect or bind (nr) of fd to sa.
func sockaddrCall(nr uint64, fd int, sa []byte) (int, error) {
	_, _, e := unix.Syscall(uintptr(nr), uintptr(fd), ptr(sa), uintptr(len(sa)))
	return 0, errOf(e)
}

func sendto(fd int, data []byte, flags int, to []byte) (int, error) {
	n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), ptr(data), uintptr(len(data)), uintptr(flags), ptr(to), uintptr(len(to)))
	return int(n), errOf(e)
}

// recvfrom returns the bytes' length (the datagram's, with MSG_TRUNC) and
// the source address.
func recvfrom(fd int, buf []byte, flags int) (int, []byte, error) {
	var from [128]byte
	fromLen := uint32(len(from))
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), ptr(buf), uintptr(len(buf)), uintptr(flags),
		uintptr(unsafe.Pointer(&from[0])), uintptr(unsafe.Pointer(&fromLen)))
	if e != 0 {
		return 0, nil, e
	}
	return int(n), from[:min(fromLen, uint32(len(from)))], nil
}

// sockname is getsockname or getpeername (nr) of fd.
func sockname(nr uint64, fd int) ([]byte, error) {
	var sa [128]byte
	saLen := uint32(len(sa))
	_, _, e := unix.Syscall(uintptr(nr), uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(unsafe.Pointer(&saLen)))
	if e != 0 {
		return nil, e
	}
	return sa[:min(saLen, uint32(len(sa)))], nil
}

func getsockopt(fd, level, name int, buf []byte) (int, error) {
	n := uint32(len(buf))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name), ptr(buf), uintptr(unsafe.Pointer(&n)), 0)
	return int(n), errOf(e)
}

func accept4(fd, flags int) (int, []byte, error) {
	var sa [128]byte
	saLen := uint32(len(sa))
	nfd, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(unsafe.Pointer(&saLen)), uintptr(flags), 0, 0)
	if e != 0 {
		return -1, nil, e
	}
	return int(nfd), sa[:min(saLen, uint32(len(sa)))], nil
}

func sendmsg(fd int, data, control, to []byte, flags int) (int, error) {
	iov := unix.Iovec{Base: nil}
	if len(data) > 0 {
		iov.Base = &data[0]
		iov.SetLen(len(data))
	}
	m := unix.Msghdr{Iov: &iov, Iovlen: 1}
	if len(to) > 0 {
		m.Name, m.Namelen = &to[0], uint32(len(to))
	}
	if len(control) > 0 {
		m.Control = &control[0]
		m.SetControllen(len(control))
	}
	n, _, e := unix.Syscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&m)), uintptr(flags))
	return int(n), errOf(e)
}

// recvResult is what recvmsg returned besides the source address.
type recvResult struct {
	n, controlLen, flags int
	from                 []byte
}

func recvmsg(fd int, buf, control []byte, flags int) (recvResult, error) {
	var from [128]byte
	iov := unix.Iovec{}
	if len(buf) > 0 {
		iov.Base = &buf[0]
		iov.SetLen(len(buf))
	}
	m := unix.Msghdr{Name: &from[0], Namelen: uint32(len(from)), Iov: &iov, Iovlen: 1}
	if len(control) > 0 {
		m.Control = &control[0]
		m.SetControllen(len(control))
	}
	n, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&m)), uintptr(flags))
	if e != 0 {
		return recvResult{}, e
	}
	return recvResult{n: int(n), controlLen: int(m.Controllen), flags: int(m.Flags), from: from[:min(m.Namelen, uint32(len(from)))]}, nil
}

func faccessat2(dirfd int, path string, mode uint32, flags int) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	_, _, e := unix.Syscall6(unix.SYS_FACCESSAT2, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(mode), uintptr(flags), 0, 0)
	return errOf(e)
}

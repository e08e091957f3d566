package tracer

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// withSocket runs f on a duplicate of the call's fd in this process.
func (c *Call) withSocket(f func(fd int) error) error {
	fd, err := c.dupFD(c.FD)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return f(fd)
}

// DupSocket copies the call's fd into this process: the same open file, so
// its flags (O_NONBLOCK) and socket are the program's. The caller closes it;
// it keeps the socket alive after the program closes its own fd.
func (c *Call) DupSocket() (int, error) { return c.dupFD(c.FD) }

// dupFD copies the program's fd into this process (pidfd_getfd, Linux
// 5.6+; the tracer has the ptrace access it needs): the same open file.
func (c *Call) dupFD(fd int) (int, error) {
	pidfd, err := unix.PidfdOpen(c.PID, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pidfd)
	return unix.PidfdGetfd(pidfd, fd, 0)
}

// SocketType returns SOCK_STREAM, SOCK_DGRAM, ... for the call's socket.
func (c *Call) SocketType() (typ int, err error) {
	err = c.withSocket(func(fd int) error {
		typ, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
		return err
	})
	return typ, err
}

// SocketName returns the local address the call's socket is bound to (for
// listen: the port the program serves).
func (c *Call) SocketName() (ap netip.AddrPort, err error) {
	err = c.withSocket(func(fd int) error {
		ap, err = localAddrOf(fd)
		return err
	})
	return ap, err
}

// EnsureBound gives the call's socket a local port now, as the kernel would
// on connect or the first send (a wildcard address, an ephemeral port), and
// returns its local address. A socket already bound keeps its address. The
// program's own connection is then known by its source before it exists.
func (c *Call) EnsureBound() (ap netip.AddrPort, err error) {
	err = c.withSocket(func(fd int) error {
		if ap, err = localAddrOf(fd); err != nil || ap.Port() != 0 {
			return err
		}
		// Unbound, getsockname gives the family's wildcard: 0.0.0.0 or ::.
		var wildcard unix.Sockaddr = &unix.SockaddrInet4{}
		if ap.Addr().Is6() {
			wildcard = &unix.SockaddrInet6{}
		}
		if err := unix.Bind(fd, wildcard); err != nil {
			return err
		}
		ap, err = localAddrOf(fd)
		return err
	})
	return ap, err
}

// SocketInode returns the inode of the call's socket, as /proc/net/tcp
// lists it: the socket can be followed after the call, without the program.
func (c *Call) SocketInode() (ino uint64, err error) {
	err = c.withSocket(func(fd int) error {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		ino = st.Ino
		return nil
	})
	return ino, err
}

// localAddrOf is getsockname as an address.
func localAddrOf(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, err
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)), nil
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)), nil
	}
	return netip.AddrPort{}, unix.EAFNOSUPPORT
}

// ShutdownHow is shutdown's SHUT_RD, SHUT_WR or SHUT_RDWR (0 for other calls).
func (c *Call) ShutdownHow() int { return int(int32(c.arg(argShutHow))) }

// AcceptedPeer is the peer of the connection an accept returned, read from
// the new fd when the program passed no address buffer.
func (e *Exit) AcceptedPeer() (netip.AddrPort, bool) {
	if ap, ok := e.ResultAddr(); ok {
		return ap, true
	}
	if (e.Call.Syscall != SysAccept && e.Call.Syscall != SysAccept4) || e.Result < 0 {
		return netip.AddrPort{}, false
	}
	fd, err := e.Call.dupFD(int(e.Result))
	if err != nil {
		return netip.AddrPort{}, false
	}
	defer unix.Close(fd)
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return netip.AddrPort{}, false
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)), true
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)), true
	}
	return netip.AddrPort{}, false
}
